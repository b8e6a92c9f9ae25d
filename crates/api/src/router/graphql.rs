//! `POST` and `GET /graphql`: one operation read, authenticated, rate-limited, answered from the kept answers when it may be, else run; its errors labelled and its outcome counted.

use super::*;

/// `POST /graphql`: one operation as JSON (`application/json`) or as a GraphQL document
/// (`application/graphql`).
pub(super) async fn graphql(
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
pub(super) async fn graphql_get(
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
pub(super) fn is_mutation(request: &async_graphql::Request) -> bool {
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
pub(super) async fn run(
    state: AppState,
    headers: HeaderMap,
    request: async_graphql::Request,
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
pub(super) async fn answer(
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
pub(super) enum Media {
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
pub(super) fn body_of(media: Media, status: StatusCode, body: axum::body::Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// Whether a request's answer is kept, and where to keep it if not yet.
pub(super) enum Kept {
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
pub(super) async fn kept_answer(
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
pub(super) fn error_code(error: &ServerError) -> &str {
    match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(async_graphql::Value::String(code)) => code,
        _ => "INTERNAL",
    }
}

/// Most distinct operation names counted in metrics; later ones count as `other`.
pub(super) const MAX_OPERATION_LABELS: usize = 200;

/// The operation's name for logs and metrics: the client's `operationName` (or the name the
/// document gives its first operation), `anonymous` without one. Names are the client's, so
/// metrics keep the first [`MAX_OPERATION_LABELS`] seen and count the rest as `other`.
pub(super) fn operation_label(request: &async_graphql::Request) -> String {
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
pub(super) fn named_operation(query: &str) -> Option<String> {
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
pub(super) fn outcome_of(response: &Response) -> String {
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
pub(super) struct Outcome(String);

/// Gives every error an `extensions.code`: the engine's own (syntax, validation, depth and
/// complexity limits) are the client's input errors; internal ones get the request id, which
/// is also on the log line of their cause.
pub(super) fn label_errors(errors: &mut [ServerError], request_id: &str) {
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
pub(super) const DECIMAL_FAILURE: &str = "Failed to parse \"Decimal\"";

/// A parser's error drawn as source art (` --> 1:3 | … ^--- = expected name`) in one line:
/// what was expected and where. `None` for any other message.
pub(super) fn plain_syntax_error(message: &str) -> Option<String> {
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
