//! The HTTP surface: `POST /graphql` (one operation per request; batches are refused),
//! GraphiQL on `GET /graphql`, subscriptions on `/graphql/ws` (see [`crate::ws`]),
//! `GET /schema.graphql`, `/healthz` and `/readyz`, behind body-size, timeout, request-id and
//! tracing layers.

use crate::auth::{AuthError, Authenticator, bearer};
use crate::loaders;
use crate::response_cache::{CacheKey, ResponseCache, is_query};
use crate::schema::AppSchema;
use aidgraph_persistence::Store;
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

/// `POST /graphql`: one operation as JSON (`application/json`) or as a GraphQL document
/// (`application/graphql`).
async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest<RequestRejection>,
) -> Response {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        media_type.as_deref(),
        Some("application/json" | "application/graphql")
    ) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "send the operation as Content-Type: application/json (or application/graphql)".into(),
        );
    }
    let request = request.into_inner();
    if request.query.trim().is_empty() {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the request has no `query`: send {\"query\": \"…\"}".into(),
        );
    }
    run(state, headers, request).await
}

/// `GET /graphql`: GraphiQL for a browser; a query in the URL (`?query=…&variables=…`) for
/// other clients. Mutations are refused over GET (405): a link must not change the registry.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    // A browser (or anything not asking for JSON alone) gets the page.
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let wants_page = accept.contains("text/html") || !accept.contains("json");
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else {
        if wants_page {
            return crate::graphiql::page().await.into_response();
        }
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "a GET request needs a `query` parameter (GraphiQL is served to browsers)".into(),
        );
    };
    let request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(e) => return RequestRejection(e).into_response(),
    };
    if is_mutation(&request) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "mutations are sent with POST".into(),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, axum::http::HeaderValue::from_static("POST"));
        return response;
    }
    run(state, headers, request).await
}

/// Whether the operation a request selects is a mutation.
fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let ty = match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
            None => ops.values().next().map(|op| op.node.ty),
        },
    };
    ty == Some(OperationType::Mutation)
}

/// Answers one operation for an authenticated caller, with metrics and a log line.
async fn run(state: AppState, headers: HeaderMap, request: async_graphql::Request) -> Response {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match bearer(header).and_then(|token| state.auth.verify(token)) {
        Ok(p) => p,
        Err(e) => return unauthenticated(&e),
    };
    if let Some(limited) = rate_limited(&state, &principal.subject) {
        return limited;
    }
    let started = std::time::Instant::now();
    let operation = operation_label(&request);
    tracing::Span::current().record("operation", operation.as_str());
    let response = answer(&state, &headers, request, principal).await;
    let outcome = outcome_of(&response);
    tracing::Span::current().record("outcome", outcome.as_str());
    metrics::counter!("aidgraph_requests_total", "operation" => operation.clone(), "outcome" => outcome.clone())
        .increment(1);
    metrics::histogram!("aidgraph_request_duration_seconds", "operation" => operation, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The answer to an authenticated GraphQL request: kept, or computed.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    request: async_graphql::Request,
    principal: aidgraph_domain::access::Principal,
) -> Response {
    let kept = match &state.responses {
        Some(cache) => match kept_answer(state, cache, &request, &principal).await {
            Ok(kept) => kept,
            Err(unavailable) => return unavailable,
        },
        None => Kept::No,
    };
    let media = Media::of(headers);
    if let Kept::Found(answer) = kept {
        return body_of(media, StatusCode::OK, answer);
    }
    let loaders = loaders::for_request(
        state.store.clone(),
        principal.clone(),
        state.coverage.clone(),
    );
    let request = request.data(principal).data(loaders);
    let mut response = state.schema.execute(request).await;
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    label_errors(&mut response.errors, request_id);
    for error in &response.errors {
        metrics::counter!("aidgraph_errors_total", "code" => error_code(error).to_owned())
            .increment(1);
    }
    let first_code = response.errors.first().map(|e| error_code(e).to_owned());
    if response.errors.iter().any(is_unavailable) {
        let body = serde_json::to_vec(&response).unwrap_or_default();
        let mut answer = body_of(
            media,
            StatusCode::SERVICE_UNAVAILABLE,
            axum::body::Bytes::from(body),
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after());
        return answer;
    }
    if let (Kept::Missing(key, version, day), Some(cache)) = (kept, &state.responses)
        && response.is_ok()
        && response.http_headers.is_empty()
        && response.cache_control.value().is_none()
    {
        match serde_json::to_vec(&response) {
            Ok(body) => {
                let body = axum::body::Bytes::from(body);
                cache.put(key, version, day, body.clone());
                return body_of(media, StatusCode::OK, body);
            }
            Err(e) => tracing::warn!(error = %e, "an answer could not be serialised"),
        }
    }
    // A document that could not run (syntax, validation, limits, variables) is the
    // request's fault: 400 without `data` for clients that accept the GraphQL response media
    // type; `application/json` clients get 200, as the specification allows.
    let refused = media == Media::GraphqlResponse
        && response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let serialised = if refused {
        serde_json::to_vec(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_vec(&response)
    };
    let mut answer = match serialised {
        Ok(body) => {
            let status = if refused {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            body_of(media, status, axum::body::Bytes::from(body))
        }
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be serialised");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".into(),
            )
        }
    };
    if let Some(code) = first_code {
        answer.extensions_mut().insert(Outcome(code));
    }
    answer
}

/// The media type of an answer, as the request's `Accept` asks: the first of
/// `application/graphql-response+json` and `application/json` (or `*/*`) that it lists, and
/// `application/json` when it names neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn of(headers: &HeaderMap) -> Media {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        for kind in accept.split(',') {
            let kind = kind.split(';').next().unwrap_or_default().trim();
            if kind.eq_ignore_ascii_case("application/graphql-response+json") {
                return Media::GraphqlResponse;
            }
            if kind.eq_ignore_ascii_case("application/json")
                || kind == "*/*"
                || kind.eq_ignore_ascii_case("application/*")
            {
                return Media::Json;
            }
        }
        Media::Json
    }

    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// A serialised GraphQL answer with its status and media type.
fn body_of(media: Media, status: StatusCode, body: axum::body::Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// Whether a request's answer is kept, and where to keep it if not yet.
enum Kept {
    /// Not one to keep (a mutation, or the registry version could not be read).
    No,
    /// Kept: these bytes.
    Found(axum::body::Bytes),
    /// Not kept yet: keep it under this key, registry version and day.
    Missing(CacheKey, i64, chrono::NaiveDate),
}

/// Looks `request` up in `cache`. The registry version is read before the request runs, so an
/// answer is kept under a version no newer than the data it was computed from. When the
/// database cannot be reached, the answer is a 503.
async fn kept_answer(
    state: &AppState,
    cache: &ResponseCache,
    request: &async_graphql::Request,
    who: &aidgraph_domain::access::Principal,
) -> Result<Kept, Response> {
    let Some(key) = CacheKey::of(request, who) else {
        return Ok(Kept::No);
    };
    let version = match state.store.registry_version().await {
        Ok(v) => v,
        Err(e) if aidgraph_persistence::error::db_unavailable(&e) => {
            tracing::warn!(error = %e, "the database cannot be reached");
            return Err(unavailable());
        }
        Err(e) => {
            tracing::warn!(error = %e, "the registry version could not be read; answering without the cache");
            return Ok(Kept::No);
        }
    };
    let day = aidgraph_persistence::today();
    Ok(match cache.get(&key, version, day) {
        Some(answer) => Kept::Found(answer),
        None if is_query(request) => Kept::Missing(key, version, day),
        None => Kept::No,
    })
}

/// An error's `extensions.code`.
fn error_code(error: &ServerError) -> &str {
    match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(async_graphql::Value::String(code)) => code,
        _ => "INTERNAL",
    }
}

/// Most distinct operation names counted in metrics; later ones count as `other`.
const MAX_OPERATION_LABELS: usize = 200;

/// The operation's name for logs and metrics: the client's `operationName` (or the name the
/// document gives its first operation), `anonymous` without one. Names are the client's, so
/// metrics keep the first [`MAX_OPERATION_LABELS`] seen and count the rest as `other`.
fn operation_label(request: &async_graphql::Request) -> String {
    static SEEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::LazyLock::new(Default::default);
    let name = request
        .operation_name
        .clone()
        .or_else(|| named_operation(&request.query));
    let Some(name) =
        name.filter(|n| n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    else {
        return "anonymous".to_owned();
    };
    let Ok(mut seen) = SEEN.lock() else {
        return "other".to_owned();
    };
    if seen.contains(&name) || seen.len() < MAX_OPERATION_LABELS {
        seen.insert(name.clone());
        name
    } else {
        "other".to_owned()
    }
}

/// The name a document gives its first operation (`query Name …`), read without parsing.
fn named_operation(query: &str) -> Option<String> {
    let rest = query.trim_start();
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|kind| rest.strip_prefix(kind))?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `ok`, or the code of an answer's first error, or what its HTTP status says.
fn outcome_of(response: &Response) -> String {
    if let Some(Outcome(code)) = response.extensions().get::<Outcome>() {
        return code.clone();
    }
    match response.status() {
        StatusCode::OK => "ok".to_owned(),
        StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED".to_owned(),
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED".to_owned(),
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE".to_owned(),
        StatusCode::BAD_REQUEST => "BAD_USER_INPUT".to_owned(),
        status => status.as_u16().to_string(),
    }
}

/// The first error code of an answer, for logs and metrics.
#[derive(Clone)]
struct Outcome(String);

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

/// The answer to a store failure outside GraphQL: 503 when the database cannot be reached,
/// otherwise a logged internal error.
fn store_failure(e: &aidgraph_persistence::StoreError, what: &str) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "{what}: the database cannot be reached");
        return unavailable();
    }
    tracing::error!(error = %e, "{what} failed");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error".into(),
    )
}

/// Gives every error an `extensions.code`: the engine's own (syntax, validation, depth and
/// complexity limits) are the client's input errors; internal ones get the request id, which
/// is also on the log line of their cause.
fn label_errors(errors: &mut [ServerError], request_id: &str) {
    for error in errors {
        if let Some(plain) = plain_syntax_error(&error.message) {
            error.message = plain;
        }
        if let Some((before, _)) = error.message.split_once(DECIMAL_FAILURE) {
            error.message = format!(
                "{before}not a decimal number aidgraph can hold (at most 28 significant digits)"
            );
        }
        let extensions = error.extensions.get_or_insert_with(Default::default);
        match extensions.get("code") {
            None => extensions.set("code", "BAD_USER_INPUT"),
            // Its cause was logged where it arose, once, in this request's span.
            Some(async_graphql::Value::String(code)) if code == "INTERNAL" => {
                extensions.set("requestId", request_id);
            }
            Some(_) => {}
        }
    }
}

/// How the decimal scalar's own parser words a failure; what follows is its library's wording.
const DECIMAL_FAILURE: &str = "Failed to parse \"Decimal\"";

/// A parser's error drawn as source art (` --> 1:3 | … ^--- = expected name`) in one line:
/// what was expected and where. `None` for any other message.
fn plain_syntax_error(message: &str) -> Option<String> {
    let at = message.trim_start().strip_prefix("-->")?;
    let place = at.lines().next()?.trim();
    let expected = message
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("= "))
        .unwrap_or("something else");
    let (line, column) = place.split_once(':')?;
    Some(format!(
        "the query is not valid GraphQL: at line {line}, column {column}, {expected}"
    ))
}

fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<aidgraph_domain::access::Principal, AuthError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    bearer(header).and_then(|token| state.auth.verify(token))
}

/// `POST /iati/import`: an `iati-activities` document in the body, streamed; answers with
/// the import summary.
async fn iati_import(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let who = match caller(&state, &headers) {
        Ok(p) => p,
        Err(e) => return unauthenticated(&e),
    };
    if let Some(limited) = rate_limited(&state, &who.subject) {
        return limited;
    }
    // The body is kept in a file of its own first: a document that turns out not to be
    // well-formed (or not IATI) must store nothing, so it is read whole before anything is.
    let spool = Spool::new();
    if let Err(e) = spool.fill(body).await {
        tracing::warn!(error = %e, "an IATI upload could not be received");
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the upload was cut off before its end; nothing was stored".into(),
        );
    }
    match crate::iati::import_file(&state.store, &who, &spool.path, |_| {}).await {
        Ok(summary) => {
            tracing::info!(
                read = summary.read,
                created = summary.created,
                skipped = summary.skipped.len(),
                "IATI file imported"
            );
            Json(summary).into_response()
        }
        Err(crate::iati::ImportError::Forbidden(m)) => {
            error_response(StatusCode::FORBIDDEN, "FORBIDDEN", m)
        }
        Err(e @ crate::iati::ImportError::Unreadable(_)) => {
            error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", e.to_string())
        }
        Err(crate::iati::ImportError::Io(e)) => {
            tracing::error!(error = %e, "reading a received IATI upload failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".into(),
            )
        }
        Err(crate::iati::ImportError::Store(e)) => store_failure(&e, "IATI import"),
    }
}

/// A received upload, in a file removed when this is dropped.
struct Spool {
    path: std::path::PathBuf,
}

impl Spool {
    fn new() -> Self {
        Spool {
            path: std::env::temp_dir()
                .join(format!("aidgraph-upload-{}.xml", uuid::Uuid::new_v4())),
        }
    }

    /// Writes the whole body to the file.
    async fn fill(&self, body: axum::body::Body) -> std::io::Result<()> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(&self.path).await?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk.map_err(std::io::Error::other)?)
                .await?;
        }
        file.flush().await
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Absent when the body never arrived; nothing else can be done about a leftover.
        drop(std::fs::remove_file(&self.path));
    }
}

/// Filters of the export endpoints.
#[derive(Debug, serde::Deserialize)]
struct ExportQuery {
    country: Option<String>,
    provider: Option<String>,
    sector: Option<String>,
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

async fn export_with(
    state: AppState,
    headers: HeaderMap,
    filter: crate::iati::ExportFilter,
    content_type: &'static str,
    csv: bool,
) -> Response {
    let who = match caller(&state, &headers) {
        Ok(p) => p,
        Err(e) => return unauthenticated(&e),
    };
    if let Some(limited) = rate_limited(&state, &who.subject) {
        return limited;
    }
    let mut out = Vec::new();
    let result = if csv {
        crate::iati::export_csv(&state.store, &who, &filter, &mut out).await
    } else {
        crate::iati::export_iati(&state.store, &who, &filter, &mut out).await
    };
    match result {
        Ok(_) => ([(header::CONTENT_TYPE, content_type)], out).into_response(),
        Err(e) => store_failure(&e, "export"),
    }
}

/// `GET /iati/activities.xml?country=&provider=&sector=`: published activities as IATI 2.03.
async fn iati_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Response {
    export_with(
        state,
        headers,
        q.into(),
        "application/xml; charset=utf-8",
        false,
    )
    .await
}

/// `GET /export/activities.csv?country=&provider=&sector=`: published activities as CSV.
async fn csv_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Response {
    export_with(state, headers, q.into(), "text/csv; charset=utf-8", true).await
}

async fn graphql_ws(
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

async fn schema_sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::schema::sdl_of(&state.schema),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: the Prometheus text format, with the pool, publisher lag and registry
/// version read at the scrape. Open to scrapers, as `/readyz` is: it holds counts, no records.
async fn metrics(State(state): State<AppState>) -> Response {
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
        let lag = (last - state.store.events().read_up_to()).max(0);
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
async fn readyz(State(state): State<AppState>) -> Response {
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
