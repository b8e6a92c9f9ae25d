//! IATI and CSV files: `POST /iati/import` streamed to a spool file and imported, and the exports.

use super::*;

/// The answer to a store failure outside GraphQL: 503 when the database cannot be reached,
/// otherwise a logged internal error.
pub(super) fn store_failure(e: &aidgraph_persistence::StoreError, what: &str) -> Response {
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

pub(super) fn caller(
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
pub(super) async fn iati_import(
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
    match crate::iati::import_file(&state.registry, &who, &spool.path, |_| {}).await {
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
pub(super) struct Spool {
    pub(super) path: std::path::PathBuf,
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
pub(super) struct ExportQuery {
    pub(super) country: Option<String>,
    pub(super) provider: Option<String>,
    pub(super) sector: Option<String>,
}

pub(super) async fn export_with(
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
pub(super) async fn iati_export(
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
pub(super) async fn csv_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Response {
    export_with(state, headers, q.into(), "text/csv; charset=utf-8", true).await
}
