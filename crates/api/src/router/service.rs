//! The rest of the service's routes: subscriptions over WebSocket, the schema, health, readiness and metrics.

use super::*;

pub(super) async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let upgrade = upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS);
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse::<async_graphql::http::WebSocketProtocols>().ok())
    else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the WebSocket subprotocol must be graphql-transport-ws or graphql-ws".into(),
        );
    };
    // Apollo-style clients send the token on the upgrade request; others in `connection_init`.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| bearer(Some(v)).ok())
        .map(str::to_owned);
    let open = state.stopping.socket();
    upgrade.on_upgrade(move |socket| async move {
        crate::ws::serve(socket, state, protocol, token).await;
        drop(open);
    })
}

pub(super) async fn schema_sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::schema::sdl_of(&state.schema),
    )
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: the Prometheus text format, with the pool, publisher lag and registry
/// version read at the scrape. Open to scrapers, as `/readyz` is: it holds counts, no records.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let Some(render) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled").into_response();
    };
    let (open, idle) = state.store.pool_state();
    metrics::gauge!("aidgraph_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("aidgraph_db_pool_connections", "state" => "in_use")
        .set(f64::from(open).max(idle as f64) - idle as f64);
    if let Ok(Ok(Some(last))) = tokio::time::timeout(
        Duration::from_secs(2),
        aidgraph_persistence::events::last_id(state.store.db()),
    )
    .await
    {
        let lag = (last - state.registry.events().read_up_to()).max(0);
        metrics::gauge!("aidgraph_outbox_lag_events").set(lag as f64);
    }
    if let Ok(Ok(version)) =
        tokio::time::timeout(Duration::from_secs(2), state.store.registry_version()).await
    {
        metrics::gauge!("aidgraph_registry_version").set(version as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

/// Ready when the database answers within two seconds.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |why: String| {
        tracing::warn!(error = %why, "not ready: the database cannot be reached");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, retry_after())],
            "database unavailable",
        )
            .into_response()
    };
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => not_ready(e.to_string()),
        Err(_) => not_ready("no answer within 2 s".into()),
    }
}
