//! The HTTP surface: health, readiness, the SDL, GraphiQL, the coordination desk, limits on request shape, and the
//! WebSocket handshake's token check.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::{TestApp, error_code};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn health_readiness_schema_and_graphiql_are_served() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(app.url(path)).send();
    let health = get("/healthz").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    let ready = get("/readyz").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ready.status(), 200);
    let sdl = get("/schema.graphql")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(sdl.contains("type Activity implements Node"), "{sdl}");
    let page = get("/graphql")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains("graphiql"), "GraphiQL page expected");
    // Served from inside the binary: no CDN.
    assert!(
        page.contains("/graphiql/graphiql.min.js") && !page.contains("unpkg"),
        "{page}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let response = get(&format!("/graphiql/{asset}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{asset}");
    }
    let request_id = get("/healthz")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .headers()
        .get("x-request-id")
        .is_some();
    assert!(request_id, "responses carry a request id");
    app.cleanup().await;
}

/// The desk is a page of the service itself, on a closed network: `/` leads to it, its
/// modules come from the binary with their media types, and it needs no token to load (it
/// asks for one; every answer it shows comes from the API under that token).
#[tokio::test]
async fn the_coordination_desk_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let get = |path: &str| client.get(app.url(path)).send();
    let root = get("/").await.unwrap_or_else(|e| panic!("{e}"));
    assert!(root.status().is_redirection(), "{}", root.status());
    assert_eq!(
        root.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/desk")
    );
    let page = get("/desk").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap_or_default();
    assert!(
        page.contains(r#"<script type="module" src="/desk/app.js">"#),
        "{page}"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside address: {page}"
    );
    for (asset, kind) in [
        ("app.js", "text/javascript"),
        ("flags.js", "text/javascript"),
        ("desk.css", "text/css"),
    ] {
        let response = get(&format!("/desk/{asset}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{asset}");
        let served = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(served.starts_with(kind), "{asset}: {served}");
    }
    let missing = get("/desk/../Cargo.toml")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.status(), 404);
    let missing = get("/desk/nothing.js")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.status(), 404);
    app.cleanup().await;
}

#[tokio::test]
async fn batches_deep_queries_and_large_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer, None, None);
    let (status, body) = app
        .post(
            Some(&token),
            json!([{ "query": "{ viewer { role } }" }, { "query": "{ viewer { role } }" }]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

    let mut deep = String::from("{ activities { edges { node { relatedActivities { activity {");
    for _ in 0..8 {
        deep.push_str(" relatedActivities { activity {");
    }
    deep.push_str(" id");
    for _ in 0..9 {
        deep.push_str(" } }");
    }
    deep.push_str(" } } } }");
    let body = app.gql(&token, &deep, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("levels deep; at most 16"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "depth", "{body}");
    assert_eq!(
        error_code(&body),
        Some("BAD_USER_INPUT"),
        "engine errors carry a code too"
    );
    let body = app
        .gql(&token, "{ activities { noSuchField } }", json!({}))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

    let huge = "x".repeat(2 * 1024 * 1024);
    let (status, _) = app
        .post(
            Some(&token),
            json!({ "query": "{ viewer { role } }", "variables": { "pad": huge } }),
        )
        .await;
    assert_eq!(status, 413);

    // Introspection as GraphiQL sends it fits within the limits.
    let intro = app
        .gql(
            &token,
            "{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }",
            json!({}),
        )
        .await;
    assert!(intro.get("errors").is_none(), "{intro}");
    app.cleanup().await;
}

async fn ws_handshake(app: &TestApp, payload: serde_json::Value) -> Option<String> {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .ok()
        .flatten()?;
    match reply {
        Ok(Message::Text(text)) => {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            value["type"].as_str().map(str::to_owned)
        }
        Ok(Message::Close(frame)) => Some(
            frame
                .map(|f| format!("close:{}:{}", u16::from(f.code), f.reason))
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

#[tokio::test]
async fn websocket_connections_need_a_valid_token_in_connection_init() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer, None, None);
    assert_eq!(
        ws_handshake(&app, json!({ "Authorization": format!("Bearer {token}") }))
            .await
            .as_deref(),
        Some("connection_ack")
    );
    let refused = ws_handshake(&app, json!({})).await;
    assert!(
        refused.as_deref() == Some("close:4403:Forbidden: a bearer token is required"),
        "refused without a token: {refused:?}"
    );
    let refused = ws_handshake(&app, json!({ "Authorization": "Bearer not-a-token" })).await;
    assert!(
        refused
            .as_deref()
            .is_some_and(|r| r.starts_with("close:4403:Forbidden: the token is not valid")),
        "refused with a bad token: {refused:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn each_caller_has_a_request_budget() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let alice = app.token(Role::Viewer, None, None);
    let query = json!({ "query": "{ viewer { role } }" });
    for _ in 0..3 {
        let (status, _) = app.post(Some(&alice), query.clone()).await;
        assert_eq!(status, 200);
    }
    let (status, body) = app.post(Some(&alice), query.clone()).await;
    assert_eq!(
        (status, error_code(&body)),
        (429, Some("RATE_LIMITED")),
        "{body}"
    );
    // Another caller has its own budget.
    let other = app.admin();
    let (status, _) = app.post(Some(&other), query).await;
    assert_eq!(status, 200);
    app.cleanup().await;
}

#[tokio::test]
async fn graphql_over_http_statuses_and_media_types() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer, None, None);
    let client = reqwest::Client::new();
    let post = |accept: &'static str, query: &'static str| {
        client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    // A document that cannot run: 400 without data for the GraphQL response media type…
    let refused = post("application/graphql-response+json", "{ activities {")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status(), 400);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/graphql-response+json"))
    );
    let body: serde_json::Value = refused.json().await.unwrap_or_default();
    assert!(
        body.get("data").is_none() && body["errors"].is_array(),
        "{body}"
    );
    // …and 200 with application/json, which the specification allows.
    let plain = post("application/json", "{ activities {")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.status(), 200);
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json"))
    );
    // A body that is not JSON is refused.
    let text = client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{ __typename }")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(text.status().is_client_error(), "{}", text.status());
    // Queries may come in the URL; mutations may not.
    let get = client
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .bearer_auth(&token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get.status(), 200);
    let body: serde_json::Value = get.json().await.unwrap_or_default();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let mutation = client
        .get(app.url(
            "/graphql?query=mutation%20%7BwithdrawActivity(id%3A%22x%22%2C%20expectedVersion%3A1)%7Bid%7D%7D",
        ))
        .bearer_auth(&token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mutation.status(), 405);
    app.cleanup().await;
}
