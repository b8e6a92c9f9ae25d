//! What operations staff and browsers see: `/metrics` in the Prometheus text format, whose
//! series move with queries, mutations and subscription events, and CORS that lets browser
//! code send and read the request id.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::{Subscription, TestApp, activity_input, kenya_need};
use serde_json::json;
use std::time::Duration;

/// The sum of the samples of `series` whose labels include every one of `labels`.
async fn sample(app: &TestApp, series: &str, labels: &[&str]) -> f64 {
    let response = reqwest::get(app.url("/metrics"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| {
            line.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && labels.iter().all(|l| line.contains(l))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_move_with_queries_mutations_and_events() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer, None, None);
    let ok = ["operation=\"MetricsProbe\"", "outcome=\"ok\""];
    let before = sample(&app, "aidgraph_requests_total", &ok).await;
    app.ok(
        &viewer,
        "query MetricsProbe { activities(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        sample(&app, "aidgraph_requests_total", &ok).await,
        before + 1.0
    );
    assert!(
        sample(
            &app,
            "aidgraph_request_duration_seconds_count",
            &["operation=\"MetricsProbe\""]
        )
        .await
            >= 1.0
    );

    // A refused mutation counts under its code.
    let refused = ["operation=\"MetricsCreate\"", "outcome=\"FORBIDDEN\""];
    let before = sample(&app, "aidgraph_requests_total", &refused).await;
    let errors_before = sample(&app, "aidgraph_errors_total", &["code=\"FORBIDDEN\""]).await;
    let body = app
        .gql(
            &app.provider("XM-T-OTHER"),
            "mutation MetricsCreate($input: ActivityInput!) { createActivity(input: $input) { id } }",
            json!({ "input": activity_input("XM-T-MET-1", "XM-T-MET", "KE") }),
        )
        .await;
    assert!(body.get("errors").is_some(), "{body}");
    assert_eq!(
        sample(&app, "aidgraph_requests_total", &refused).await,
        before + 1.0
    );
    assert!(sample(&app, "aidgraph_errors_total", &["code=\"FORBIDDEN\""]).await > errors_before);

    // A subscription event is published and delivered.
    let topic = ["topic=\"need_published\""];
    let delivered = sample(&app, "aidgraph_events_delivered_total", &topic).await;
    let published = sample(&app, "aidgraph_events_published_total", &topic).await;
    let mut subscription = Subscription::start(
        &app,
        &viewer,
        "subscription { needPublished(country: \"KE\") { id } }",
    )
    .await
    .unwrap_or_else(|| panic!("subscription refused"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sample(&app, "aidgraph_subscriptions_open", &[]).await >= 1.0);
    kenya_need(&app).await;
    assert!(subscription.next(Duration::from_secs(10)).await.is_some());
    assert!(sample(&app, "aidgraph_events_published_total", &topic).await > published);
    assert!(sample(&app, "aidgraph_events_delivered_total", &topic).await > delivered);

    // Read at the scrape.
    assert!(sample(&app, "aidgraph_registry_version", &[]).await >= 1.0);
    assert!(sample(&app, "aidgraph_db_pool_connections", &["state=\"idle\""]).await >= 0.0);
    app.cleanup().await;
}

#[tokio::test]
async fn browsers_may_send_and_read_the_request_id() {
    let app =
        TestApp::spawn_with(|c| c.cors_allowed_origins = "https://desk.example.org".into()).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("Origin", "https://desk.example.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-request-id",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(preflight.status().is_success());
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-request-id"), "{allowed}");
    let response = client
        .post(app.url("/graphql"))
        .header("Origin", "https://desk.example.org")
        .header("x-request-id", "desk-42")
        .bearer_auth(app.token(Role::Viewer, None, None))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let headers = response.headers();
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("desk-42")
    );
    let exposed = headers
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    // Another origin is not allowed.
    let other = client
        .post(app.url("/graphql"))
        .header("Origin", "https://elsewhere.example.org")
        .bearer_auth(app.token(Role::Viewer, None, None))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(other.headers().get("access-control-allow-origin").is_none());
    app.cleanup().await;
}
