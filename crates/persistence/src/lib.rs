//! aidgraph's storage: sea-orm entities and repositories on SQLite or PostgreSQL. A write takes
//! the caller's connection, so the command layer (`aidgraph-registry`) composes several in the
//! one transaction it owns; each checks who is asking (with the rules of
//! `aidgraph_domain::access`) and writes its audit entry in that transaction.

pub mod activities;
pub mod analytics;
pub mod audit;
pub mod coverage;
pub mod entities;
pub mod error;
pub mod events;
pub mod flag_rows;
pub mod iati_sources;
pub mod needs;
pub mod organisations;
pub mod overlap;
pub mod page;
pub mod rates;
pub mod records;
pub mod store;

pub use error::StoreError;
pub use page::{Cursor, Page, PageRequest};
pub use sea_orm::sqlx;
pub use store::Store;

/// Today's UTC date: the reference day for activity windows, look-backs, coverage and
/// analytics, and part of every kept answer's key.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
