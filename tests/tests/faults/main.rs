//! Surviving what networks and clients do: a database that goes away and comes back,
//! expensive and malformed requests, sockets that outlive their token, and a service that
//! stops. Every refusal has a code and says what is wrong in the registry's words.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::proxy::{Proxy, through, upstream_of};
use aidgraph_tests::{TestApp, activity_input, error_code, kenya_need, violation_fields};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod requests;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` socket, with `authorization` on the upgrade request if given.
async fn socket(app: &TestApp, authorization: Option<&str>) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    if let Some(token) = authorization {
        headers.insert(
            "Authorization",
            format!("Bearer {token}")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// What the server sends next: a message, or `close:CODE:REASON`.
#[derive(Debug)]
enum Received {
    Text(Value),
    Close(u16, String),
    Nothing,
}

async fn receive(socket: &mut Socket, within: Duration) -> Received {
    loop {
        match tokio::time::timeout(within, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return Received::Text(serde_json::from_str(&text).unwrap_or_default());
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map_or(Received::Close(1005, String::new()), |f| {
                    Received::Close(f.code.into(), f.reason.to_string())
                });
            }
            Ok(Some(Ok(_))) => {}
            _ => return Received::Nothing,
        }
    }
}

/// Sends `connection_init` (with `payload`) and expects `connection_ack`.
async fn init(socket: &mut Socket, payload: Value) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    match receive(socket, Duration::from_secs(5)).await {
        Received::Text(ack) if ack["type"] == "connection_ack" => {}
        other => panic!("expected connection_ack, got {other:?}"),
    }
}

fn bearer(token: &str) -> Value {
    json!({ "Authorization": format!("Bearer {token}") })
}

#[tokio::test]
async fn a_refused_token_closes_the_socket_with_4403() {
    let app = TestApp::spawn().await;
    let mut s = socket(&app, None).await;
    send(&mut s, json!({ "type": "connection_init", "payload": {} })).await;
    match receive(&mut s, Duration::from_secs(5)).await {
        Received::Close(4403, reason) => {
            assert!(reason.contains("bearer token is required"), "{reason}");
        }
        other => panic!("expected 4403, got {other:?}"),
    }
    let mut s = socket(&app, None).await;
    send(
        &mut s,
        json!({ "type": "connection_init", "payload": bearer("not-a-token") }),
    )
    .await;
    assert!(matches!(
        receive(&mut s, Duration::from_secs(5)).await,
        Received::Close(4403, _)
    ));
    // An operation before the handshake is 4401.
    let mut s = socket(&app, None).await;
    send(
        &mut s,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    )
    .await;
    assert!(matches!(
        receive(&mut s, Duration::from_secs(5)).await,
        Received::Close(4401, _)
    ));
    app.cleanup().await;
}

#[tokio::test]
async fn the_token_may_come_with_the_upgrade_request() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer, None, None);
    let mut s = socket(&app, Some(&viewer)).await;
    init(&mut s, json!({})).await;
    send(
        &mut s,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ viewer { role } }" } }),
    )
    .await;
    match receive(&mut s, Duration::from_secs(5)).await {
        Received::Text(next) => {
            assert_eq!(next["type"], "next", "{next}");
            assert_eq!(
                next["payload"]["data"]["viewer"]["role"], "VIEWER",
                "{next}"
            );
        }
        other => panic!("expected an answer, got {other:?}"),
    }
    app.cleanup().await;
}

#[tokio::test]
async fn an_expired_token_ends_subscriptions_and_the_socket() {
    let app = TestApp::spawn().await;
    // Expired 28 s ago: still honoured for the 30 s of leeway, so for about 2 s more.
    let token = app.token_for(Role::Viewer, None, None, -28);
    let mut s = socket(&app, None).await;
    init(&mut s, bearer(&token)).await;
    send(
        &mut s,
        json!({ "id": "s1", "type": "subscribe", "payload": { "query": "subscription { needPublished(country: \"KE\") { id } }" } }),
    )
    .await;
    let started = Instant::now();
    match receive(&mut s, Duration::from_secs(10)).await {
        Received::Text(error) => {
            assert_eq!(error["type"], "error", "{error}");
            assert_eq!(error["id"], "s1", "{error}");
            assert_eq!(
                error["payload"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{error}"
            );
        }
        other => panic!("expected the subscription to end, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(matches!(
        receive(&mut s, Duration::from_secs(5)).await,
        Received::Close(4403, _)
    ));
    app.cleanup().await;
}

#[tokio::test]
async fn operations_over_a_socket_spend_the_callers_budget() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let viewer = app.token(Role::Viewer, None, None);
    let mut s = socket(&app, None).await;
    init(&mut s, bearer(&viewer)).await;
    for i in 0..6 {
        send(
            &mut s,
            json!({ "id": format!("q{i}"), "type": "subscribe", "payload": { "query": "{ __typename }" } }),
        )
        .await;
    }
    let mut limited = 0;
    let mut answered = 0;
    while answered + limited < 6 {
        let Received::Text(message) = receive(&mut s, Duration::from_secs(5)).await else {
            panic!("{answered} answered and {limited} limited, then nothing");
        };
        match message["type"].as_str() {
            Some("next") => answered += 1,
            Some("error") => {
                assert_eq!(
                    message["payload"][0]["extensions"]["code"], "RATE_LIMITED",
                    "{message}"
                );
                limited += 1;
            }
            _ => {}
        }
    }
    assert!(
        answered <= 3 && limited >= 3,
        "{answered} answered, {limited} limited"
    );
    // The same caller over HTTP is out of budget too.
    let (status, _) = app
        .post(Some(&viewer), json!({ "query": "{ __typename }" }))
        .await;
    assert_eq!(status, 429);
    app.cleanup().await;
}

#[tokio::test]
async fn a_socket_holds_a_bounded_number_of_open_operations() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer, None, None);
    let mut s = socket(&app, None).await;
    init(&mut s, bearer(&viewer)).await;
    let cap = aidgraph_api::ws::MAX_OPEN_OPERATIONS;
    for i in 0..=cap {
        send(
            &mut s,
            json!({ "id": format!("s{i}"), "type": "subscribe", "payload": { "query": "subscription { needPublished(country: \"KE\") { id } }" } }),
        )
        .await;
    }
    match receive(&mut s, Duration::from_secs(5)).await {
        Received::Text(error) => {
            assert_eq!(error["type"], "error", "{error}");
            assert_eq!(error["id"], format!("s{cap}"), "{error}");
            let message = error["payload"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(&cap.to_string()), "{message}");
        }
        other => panic!("expected the last one refused, got {other:?}"),
    }
    app.cleanup().await;
}

#[tokio::test]
async fn stopping_completes_subscriptions_and_closes_with_1001() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer, None, None);
    let mut s = socket(&app, None).await;
    init(&mut s, bearer(&viewer)).await;
    send(
        &mut s,
        json!({ "id": "s1", "type": "subscribe", "payload": { "query": "subscription { needPublished(country: \"KE\") { id } }" } }),
    )
    .await;
    // Let the subscription start before the service stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.stopping.begin();
    match receive(&mut s, Duration::from_secs(5)).await {
        Received::Text(complete) => {
            assert_eq!(complete["type"], "complete", "{complete}");
            assert_eq!(complete["id"], "s1", "{complete}");
        }
        other => panic!("expected complete, got {other:?}"),
    }
    assert!(matches!(
        receive(&mut s, Duration::from_secs(5)).await,
        Received::Close(1001, _)
    ));
    assert!(app.stopping.sockets_closed(Duration::from_secs(5)).await);
    app.cleanup().await;
}
