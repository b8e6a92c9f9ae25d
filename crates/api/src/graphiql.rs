//! GraphiQL, served from assets built into the binary (a pinned GraphiQL build with React, see
//! `assets/graphiql/LICENSES.md`; `scripts/vendor-graphiql.sh` refreshes them), so the page
//! works on a closed network. The page asks for a bearer token once and sends it with every
//! request and in `connection_init` for subscriptions.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The page at `GET /graphql`.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aidgraph · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.min.css">
<style>
  body { margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
  #token { display: flex; gap: .5rem; align-items: center; padding: .4rem .8rem; border-bottom: 1px solid #ddd; font-size: .85rem; }
  #token input { flex: 1; font-family: monospace; }
  #graphiql { flex: 1; min-height: 0; }
</style>
</head>
<body>
<form id="token">
  <label for="bearer">Bearer token</label>
  <input id="bearer" type="password" autocomplete="off" placeholder="aidgraph token issue --role viewer">
  <button type="submit">Use</button>
</form>
<div id="graphiql">Loading…</div>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script>
  const field = document.getElementById('bearer');
  field.value = sessionStorage.getItem('aidgraph-token') || '';
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  function render() {
    const token = field.value.trim();
    const auth = token ? { Authorization: 'Bearer ' + token } : {};
    const ws = new URL('/graphql/ws', window.location.href);
    ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
    root.render(React.createElement(GraphiQL, {
      key: token,
      fetcher: GraphiQL.createFetcher({
        url: new URL('/graphql', window.location.href).toString(),
        subscriptionUrl: ws.toString(),
        headers: auth,
        wsConnectionParams: auth,
      }),
      defaultEditorToolsVisibility: true,
    }));
  }
  document.getElementById('token').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('aidgraph-token', field.value.trim());
    render();
  });
  render();
</script>
</body>
</html>
"#;

/// `GET /graphql` for a browser.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /graphiql/{file}`: the page's scripts and styles, cached for a day.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
