//! Storage errors: what a command can fail with, in terms a client can be told.

use aidgraph_domain::Violations;
use sea_orm::{DbErr, SqlErr};

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or the caller may not see it.
    #[error("{entity} {key} not found")]
    NotFound {
        /// What kind of record.
        entity: &'static str,
        /// How it was asked for.
        key: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The input is invalid; each field is named.
    #[error("invalid input: {0}")]
    Invalid(Violations),
    /// A version check failed or a unique value is taken.
    #[error("{0}")]
    Conflict(String),
    /// The database failed; the cause is logged, never shown.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A not-found error for `entity` asked for by `key`.
    pub fn not_found(entity: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Invalid(Violations::one(field, message))
    }
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, refusing connections, or
    /// no pooled connection free in time): the request may succeed if tried again later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => db_unavailable(e),
            _ => false,
        }
    }
}

/// Whether a database error means the database could not be reached, rather than that the
/// statement failed.
pub fn db_unavailable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let cause = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause)) => cause,
        _ => return false,
    };
    match &**cause {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Protocol(_) => true,
        // Class 08: connection exception; 57P01-57P03: the server is shutting down or
        // starting; 53300: too many connections.
        Sqlx::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

impl From<Violations> for StoreError {
    fn from(v: Violations) -> Self {
        StoreError::Invalid(v)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Turns unique-constraint violations into [`StoreError::Conflict`] with `message`; other
/// database errors pass through.
pub trait OnUnique<T> {
    /// See the trait.
    fn on_unique(self, message: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> OnUnique<T> for Result<T, DbErr> {
    fn on_unique(self, message: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(message()),
            _ => StoreError::Database(e),
        })
    }
}
