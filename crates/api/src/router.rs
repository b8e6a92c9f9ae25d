//! The HTTP surface: `POST /graphql` (one operation per request; batches are refused),
//! GraphiQL on `GET /graphql`, subscriptions on `/graphql/ws` (token in `connection_init`),
//! `GET /schema.graphql`, `/healthz` and `/readyz`, behind body-size, timeout, request-id and
//! tracing layers.

use crate::auth::{AuthError, Authenticator, bearer};
use crate::loaders;
use crate::response_cache::{CacheKey, ResponseCache, is_query};
use crate::schema::AppSchema;
use aidgraph_persistence::Store;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::{Data, ParseRequestError, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
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
}

/// A 429 response when the caller has spent its request budget.
fn rate_limited(state: &AppState, subject: &str) -> Option<Response> {
    if state.limiter.len() > 100_000 {
        state.limiter.retain_recent();
    }
    match state.limiter.check_key(&subject.to_owned()) {
        Ok(()) => None,
        Err(not_until) => {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let mut response = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "too many requests; slow down".into(),
            );
            if let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Some(response)
        }
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
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/schema.graphql", get(schema_sdl))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ));
    let bulk = Router::new()
        .route("/iati/import", axum::routing::post(iati_import))
        .route("/iati/activities.xml", get(iati_export))
        .route("/export/activities.csv", get(csv_export))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_IMPORT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            BULK_TIMEOUT,
        ));
    api.merge(bulk)
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(
            |request: &axum::http::Request<axum::body::Body>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request.id = %id)
            },
        ))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
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

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest<RequestRejection>,
) -> Response {
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
    let request = request.into_inner();
    let kept = match &state.responses {
        Some(cache) => kept_answer(&state, cache, &request, &principal).await,
        None => Kept::No,
    };
    if let Kept::Found(answer) = kept {
        return graphql_json(answer);
    }
    let loaders = loaders::for_request(state.store.clone(), principal.clone());
    let request = request.data(principal).data(loaders);
    let mut response = state.schema.execute(request).await;
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    label_errors(&mut response.errors, request_id);
    if let (Kept::Missing(key, version, day), Some(cache)) = (kept, &state.responses)
        && response.is_ok()
        && response.http_headers.is_empty()
        && response.cache_control.value().is_none()
    {
        match serde_json::to_vec(&response) {
            Ok(body) => {
                let body = axum::body::Bytes::from(body);
                cache.put(key, version, day, body.clone());
                return graphql_json(body);
            }
            Err(e) => tracing::warn!(error = %e, "an answer could not be serialised"),
        }
    }
    GraphQLResponse::from(response).into_response()
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
/// answer is kept under a version no newer than the data it was computed from.
async fn kept_answer(
    state: &AppState,
    cache: &ResponseCache,
    request: &async_graphql::Request,
    who: &aidgraph_domain::access::Principal,
) -> Kept {
    let Some(key) = CacheKey::of(request, who) else {
        return Kept::No;
    };
    let version = match state.store.registry_version().await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "the registry version could not be read; answering without the cache");
            return Kept::No;
        }
    };
    let day = aidgraph_persistence::overlap::today();
    match cache.get(&key, version, day) {
        Some(answer) => Kept::Found(answer),
        None if is_query(request) => Kept::Missing(key, version, day),
        None => Kept::No,
    }
}

/// A serialised GraphQL answer, labelled as `GraphQLResponse` labels one.
fn graphql_json(body: axum::body::Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/graphql-response+json")],
        body,
    )
        .into_response()
}

/// Gives every error an `extensions.code`: the engine's own (syntax, validation, depth and
/// complexity limits) are the client's input errors; internal ones get the request id, which
/// is also on the log line of their cause.
fn label_errors(errors: &mut [ServerError], request_id: &str) {
    for error in errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        match extensions.get("code") {
            None => extensions.set("code", "BAD_USER_INPUT"),
            Some(async_graphql::Value::String(code)) if code == "INTERNAL" => {
                extensions.set("requestId", request_id);
                tracing::error!(request.id = %request_id, path = ?error.path, "internal error answered");
            }
            Some(_) => {}
        }
    }
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
    let stream =
        futures_util::TryStreamExt::map_err(body.into_data_stream(), std::io::Error::other);
    let reader = tokio::io::BufReader::new(tokio_util::io::StreamReader::new(stream));
    match crate::iati::import(&state.store, &who, reader, |_| {}).await {
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
        Err(crate::iati::ImportError::Store(e)) => {
            tracing::error!(error = %e, "IATI import failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".into(),
            )
        }
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
        Err(e) => {
            tracing::error!(error = %e, "export failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".into(),
            )
        }
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

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("aidgraph")
            .finish(),
    )
}

/// Reads the token from a `connection_init` payload: `{"Authorization": "Bearer …"}`,
/// `{"authorization": …}` or `{"token": …}`.
fn token_from_payload(payload: &serde_json::Value) -> Option<String> {
    let value = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .or_else(|| payload.get("token"))?
        .as_str()?;
    Some(
        value
            .strip_prefix("Bearer ")
            .unwrap_or(value)
            .trim()
            .to_owned(),
    )
}

async fn graphql_ws(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let auth = state.auth.clone();
            let store = state.store.clone();
            GraphQLWebSocket::new(stream, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let token = token_from_payload(&payload)
                        .ok_or_else(|| async_graphql::Error::new(AuthError::Missing.to_string()))?;
                    let principal = auth
                        .verify(&token)
                        .map_err(|e| async_graphql::Error::new(e.to_string()))?;
                    let mut data = Data::default();
                    data.insert(loaders::for_request(store, principal.clone()));
                    data.insert(principal);
                    Ok(data)
                })
                .serve()
        })
}

async fn schema_sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema.sdl(),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database is not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
