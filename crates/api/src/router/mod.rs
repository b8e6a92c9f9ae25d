//! The HTTP surface: `POST /graphql` (one operation per request; batches are refused),
//! GraphiQL on `GET /graphql`, the coordination desk on `GET /desk` (see [`crate::desk`]), subscriptions on `/graphql/ws` (see [`crate::ws`]),
//! `GET /schema.graphql`, `/healthz` and `/readyz`, behind body-size, timeout, request-id and
//! tracing layers.

use crate::auth::{AuthError, Authenticator, bearer};
use crate::loaders;
use crate::response_cache::{CacheKey, ResponseCache, is_query};
use crate::schema::AppSchema;
use aidgraph_persistence::Store;
use aidgraph_registry::Registry;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{ParseRequestError, ServerError};
use async_graphql_axum::GraphQLRequest;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

mod files;
mod graphql;
mod service;

use files::*;
use graphql::*;
use service::*;

/// Requests per caller (token subject), over time.
pub type Limiter = governor::DefaultKeyedRateLimiter<String>;

/// A per-caller rate limiter allowing `per_second` requests on average and bursts of `burst`.
pub fn limiter(per_second: u32, burst: u32) -> Arc<Limiter> {
    let per_second = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(burst).unwrap_or(per_second);
    Arc::new(governor::RateLimiter::keyed(
        governor::Quota::per_second(per_second).allow_burst(burst),
    ))
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The schema.
    pub schema: AppSchema,
    /// The database.
    pub store: Store,
    /// The registry commands run against (the store, the overlap engine, the event bus).
    pub registry: Registry,
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// Per-caller request budget.
    pub limiter: Arc<Limiter>,
    /// Answers to read-only operations kept by registry version; `None` keeps none.
    pub responses: Option<Arc<ResponseCache>>,
    /// Need coverage kept by registry version, shared by every request; `None` keeps none
    /// (with the response cache off, every answer is computed afresh).
    pub coverage: Option<Arc<crate::coverage_memo::CoverageMemo>>,
    /// Raised when the service begins to stop.
    pub stopping: Stopping,
    /// Renders the process's metrics in the Prometheus text format; `None` serves no
    /// `/metrics`.
    pub metrics: Option<Render>,
    /// Origins browsers may call from (`*` for any).
    pub cors_origins: Vec<String>,
}

/// Renders metrics in the Prometheus text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Spends one request of `subject`'s budget; when it is spent, how long until the next.
pub(crate) fn spend(state: &AppState, subject: &str) -> Result<(), Duration> {
    if state.limiter.len() > 100_000 {
        state.limiter.retain_recent();
    }
    state
        .limiter
        .check_key(&subject.to_owned())
        .map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
}

/// A 429 response when the caller has spent its request budget.
fn rate_limited(state: &AppState, subject: &str) -> Option<Response> {
    let wait = spend(state, subject).err()?;
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        "too many requests; slow down".into(),
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// Tells open sockets that the service is stopping, and counts them until they have closed.
#[derive(Clone, Debug)]
pub struct Stopping {
    signal: Arc<tokio::sync::watch::Sender<bool>>,
    sockets: tokio_util::task::TaskTracker,
}

impl Default for Stopping {
    fn default() -> Self {
        Stopping {
            signal: Arc::new(tokio::sync::watch::channel(false).0),
            sockets: tokio_util::task::TaskTracker::new(),
        }
    }
}

impl Stopping {
    /// Asks every open socket to complete its operations and close (1001).
    pub fn begin(&self) {
        self.signal.send_replace(true);
    }

    /// Waits until every socket has closed, or `deadline` has passed; whether they all did.
    pub async fn sockets_closed(&self, deadline: Duration) -> bool {
        self.sockets.close();
        tokio::time::timeout(deadline, self.sockets.wait())
            .await
            .is_ok()
    }

    /// Waits until the service begins to stop.
    pub async fn begun(&self) {
        let mut receiver = self.signal.subscribe();
        // The sender lives as long as `self`, so this ends only when stopping begins.
        drop(receiver.wait_for(|stop| *stop).await);
    }

    /// A receiver that turns `true` when the service begins to stop.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.signal.subscribe()
    }

    /// Held by a socket while it is open.
    pub(crate) fn socket(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.sockets.token()
    }
}

/// HTTP limits.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Largest IATI file accepted by the upload endpoint.
const MAX_IMPORT_BYTES: usize = 1024 * 1024 * 1024;
/// Longest an IATI upload or export may run.
const BULK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Builds the router.
pub fn router(state: AppState, limits: HttpLimits) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/schema.graphql", get(schema_sdl))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/graphiql/{file}", get(crate::graphiql::asset))
        .route("/", get(crate::desk::root))
        .route("/desk", get(crate::desk::page))
        .route("/desk/{file}", get(crate::desk::asset))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(axum::middleware::from_fn(move |request, next| {
            within(limits.request_timeout, request, next)
        }));
    let cors = cors(&state.cors_origins);
    let bulk = Router::new()
        .route("/iati/import", axum::routing::post(iati_import))
        .route("/iati/activities.xml", get(iati_export))
        .route("/export/activities.csv", get(csv_export))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_IMPORT_BYTES))
        .layer(axum::middleware::from_fn(|request, next| {
            within(BULK_TIMEOUT, request, next)
        }));
    api.merge(bulk)
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request.id = %id,
                        operation = tracing::field::Empty,
                        outcome = tracing::field::Empty,
                    )
                })
                // One line per request, at info: its span carries the method, path, request
                // id and, for GraphQL, the operation and outcome code.
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                )
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Stops a request that runs longer than `limit`: HTTP 503 with `SERVICE_UNAVAILABLE` naming
/// the limit. Its work is dropped; a write not yet committed is rolled back, so nothing
/// acknowledged is lost.
async fn within(
    limit: Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                path,
                limit_secs = limit.as_secs(),
                "a request ran out of time"
            );
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                format!(
                    "the request took longer than {} s and was stopped; ask for less (a smaller \
                     page, fewer fields) or try again later",
                    limit.as_secs()
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after());
            response
        }
    }
}

/// CORS: browsers at `origins` (or any, with `*`) may call, send `Authorization`,
/// `Content-Type` and `x-request-id`, and read `x-request-id` back.
fn cors(origins: &[String]) -> CorsLayer {
    let request_id = HeaderName::from_static("x-request-id");
    let layer = CorsLayer::new()
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            request_id.clone(),
        ])
        .expose_headers([request_id]);
    if origins.is_empty() || origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        layer.allow_origin(
            origins
                .iter()
                .filter_map(|o| axum::http::HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    }
}

/// A GraphQL-shaped error response outside execution (no token, unreadable request).
fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let mut err = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    err.extensions = Some(extensions);
    let body = async_graphql::Response::from_errors(vec![err]);
    (status, Json(body)).into_response()
}

fn unauthenticated(error: &AuthError) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        error.to_string(),
    )
}

/// Refuses requests that cannot be read, batches included, with a GraphQL-shaped body.
pub struct RequestRejection(ParseRequestError);

impl From<ParseRequestError> for RequestRejection {
    fn from(e: ParseRequestError) -> Self {
        RequestRejection(e)
    }
}

impl IntoResponse for RequestRejection {
    fn into_response(self) -> Response {
        let message = match self.0 {
            ParseRequestError::UnsupportedBatch => {
                "batched requests are not supported; send one operation per request".to_owned()
            }
            ParseRequestError::PayloadTooLarge => "the request body is too large".to_owned(),
            other => format!("the request could not be read: {other}"),
        };
        error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", message)
    }
}

/// Whether an error says the database could not be reached.
fn is_unavailable(error: &ServerError) -> bool {
    error_code(error) == "SERVICE_UNAVAILABLE"
}

fn retry_after() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from(crate::error::RETRY_AFTER_SECONDS)
}

/// A 503 with `Retry-After`: the database cannot be reached.
fn unavailable() -> Response {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        crate::error::UNAVAILABLE_MESSAGE.into(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, retry_after());
    response
}

impl From<ExportQuery> for crate::iati::ExportFilter {
    fn from(q: ExportQuery) -> Self {
        crate::iati::ExportFilter {
            country: q.country,
            provider: q.provider,
            sector: q.sector,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_lose_their_source_art() {
        let art = " --> 1:3\n  |\n1 | { foo(\n  |   ^---\n  |\n  = expected name";
        assert_eq!(
            plain_syntax_error(art).as_deref(),
            Some("the query is not valid GraphQL: at line 1, column 3, expected name")
        );
        assert_eq!(plain_syntax_error("unknown field"), None);
    }

    #[test]
    fn decimal_failures_lose_their_library_wording() {
        let mut errors = vec![ServerError::new(
            "Invalid value for argument \"amount\", Failed to parse \"Decimal\": Scale exceeds the maximum precision allowed: 400 > 28",
            None,
        )];
        label_errors(&mut errors, "r1");
        assert!(
            !errors[0].message.contains("Scale"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("amount"),
            "{}",
            errors[0].message
        );
    }
}
