//! The coordination desk: a page at `GET /desk` (and `GET /`) for coordinators, recipient
//! focal points and providers — the coverage heatmap, the flag queue with review, needs and
//! their coverage, updated live. It is plain HTML, CSS and JavaScript modules kept in
//! `assets/desk/` and built into the binary (no build step, no CDN), and it talks to the public
//! GraphQL API only, with the token the user pastes, so every view is exactly what the API
//! lets that caller see.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// The page.
const PAGE: &str = include_str!("../assets/desk/index.html");

/// The page's modules and style sheet: name, content, media type.
const ASSETS: &[(&str, &str, &str)] = &[
    ("desk.css", include_str!("../assets/desk/desk.css"), CSS),
    ("app.js", include_str!("../assets/desk/app.js"), JS),
    ("api.js", include_str!("../assets/desk/api.js"), JS),
    ("live.js", include_str!("../assets/desk/live.js"), JS),
    ("dom.js", include_str!("../assets/desk/dom.js"), JS),
    ("labels.js", include_str!("../assets/desk/labels.js"), JS),
    ("heatmap.js", include_str!("../assets/desk/heatmap.js"), JS),
    ("flags.js", include_str!("../assets/desk/flags.js"), JS),
    ("needs.js", include_str!("../assets/desk/needs.js"), JS),
];

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// `GET /`: the desk.
pub async fn root() -> Redirect {
    Redirect::to("/desk")
}

/// `GET /desk`.
pub async fn page() -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE)).into_response()
}

/// `GET /desk/{file}`: the page's modules and style sheet. They change with the binary, so
/// browsers ask again each time (`no-cache`); they are small.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, body, kind)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such desk asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module the page or another module imports is served: a missing one would leave
    /// the page blank in the browser with nothing in the service's log.
    #[test]
    fn every_imported_module_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        let sources = std::iter::once(PAGE).chain(ASSETS.iter().map(|(_, body, _)| *body));
        let mut imported = 0;
        for source in sources {
            for line in source.lines() {
                let Some(start) = line.find("'./").or_else(|| line.find("\"/desk/")) else {
                    continue;
                };
                let rest = &line[start + 1..];
                let rest = rest.trim_start_matches("./").trim_start_matches("/desk/");
                let Some(end) = rest.find(['\'', '"']) else {
                    continue;
                };
                let name = &rest[..end];
                assert!(served.contains(&name), "{name} is imported but not served");
                imported += 1;
            }
        }
        assert!(imported >= ASSETS.len(), "only {imported} imports found");
    }
}
