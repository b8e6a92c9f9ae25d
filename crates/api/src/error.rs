//! The one error type resolvers return. Each variant becomes a GraphQL error whose
//! `extensions.code` is one of DESIGN.md §8; internal causes are logged here and never sent.

use aidgraph_domain::Violations;
use aidgraph_persistence::StoreError;
use async_graphql::{ErrorExtensions, Value};

/// What went wrong, as the client is told. Deliberately not `Display`: async-graphql would
/// otherwise convert it with its text, bypassing the mapping below.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// `UNAUTHENTICATED`: no valid token.
    Unauthenticated(String),
    /// `FORBIDDEN`: the caller's role or scope does not allow this.
    Forbidden(String),
    /// `NOT_FOUND`: no such record, or one the caller may not see.
    NotFound(String),
    /// `BAD_USER_INPUT`: with `extensions.violations`, one per offending field.
    BadInput(Violations),
    /// `CONFLICT`: stale `expectedVersion` or a taken identifier.
    Conflict(String),
    /// `SERVICE_UNAVAILABLE`: the database cannot be reached; worth trying again shortly.
    Unavailable,
    /// `INTERNAL`: the client sees only a reference; the cause is in the log.
    Internal,
}

/// What a client is told when the database cannot be reached.
pub const UNAVAILABLE_MESSAGE: &str =
    "the registry's database cannot be reached just now; try again in a few seconds";

/// Seconds a client is asked to wait (`Retry-After`) before trying again after
/// `SERVICE_UNAVAILABLE`.
pub const RETRY_AFTER_SECONDS: u64 = 5;

impl ApiError {
    /// A single-field input error.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadInput(Violations::one(field, message))
    }
}

impl From<Violations> for ApiError {
    fn from(v: Violations) -> Self {
        ApiError::BadInput(v)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(&e)
    }
}

impl From<std::sync::Arc<StoreError>> for ApiError {
    fn from(e: std::sync::Arc<StoreError>) -> Self {
        ApiError::from(&*e)
    }
}

impl From<&StoreError> for ApiError {
    fn from(e: &StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, key } => ApiError::NotFound(not_found(entity, key)),
            StoreError::Forbidden(m) => ApiError::Forbidden(m.clone()),
            StoreError::Invalid(v) => ApiError::BadInput(v.clone()),
            StoreError::Conflict(m) => ApiError::Conflict(m.clone()),
            StoreError::Database(cause) if e.is_unavailable() => {
                tracing::warn!(error = %cause, "the database cannot be reached");
                ApiError::Unavailable
            }
            StoreError::Database(cause) => {
                tracing::error!(error = %cause, "database error while handling a request");
                ApiError::Internal
            }
            StoreError::Corrupt(cause) => {
                tracing::error!(error = %cause, "stored data could not be read");
                ApiError::Internal
            }
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let (code, message) = match &e {
            ApiError::Unauthenticated(m) => ("UNAUTHENTICATED", m.clone()),
            ApiError::Forbidden(m) => ("FORBIDDEN", m.clone()),
            ApiError::NotFound(m) => ("NOT_FOUND", m.clone()),
            ApiError::BadInput(v) => ("BAD_USER_INPUT", format!("invalid input: {v}")),
            ApiError::Conflict(m) => ("CONFLICT", m.clone()),
            ApiError::Unavailable => ("SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE.to_owned()),
            ApiError::Internal => ("INTERNAL", "internal error".to_owned()),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let ApiError::BadInput(v) = &e {
                let list: Vec<Value> =
                    v.0.iter()
                        .map(|violation| {
                            let mut map = async_graphql::indexmap::IndexMap::new();
                            map.insert(
                                async_graphql::Name::new("field"),
                                Value::from(violation.field.clone()),
                            );
                            map.insert(
                                async_graphql::Name::new("message"),
                                Value::from(violation.message.clone()),
                            );
                            Value::Object(map)
                        })
                        .collect();
                ext.set("violations", Value::List(list));
            }
        })
    }
}

/// A not-found message in the client's terms: a record asked for by row id is named by the
/// global id the client knows it by.
fn not_found(entity: &str, key: &str) -> String {
    match (crate::ids::Kind::of_entity(entity), key.parse::<i64>()) {
        (Some(kind), Ok(id)) => format!(
            "there is no {entity} with id `{}`, or it is not visible to you",
            crate::ids::encode(kind, id).as_str()
        ),
        _ => format!("there is no {entity} `{key}`, or it is not visible to you"),
    }
}

/// What resolvers return.
pub type ApiResult<T> = Result<T, ApiError>;
