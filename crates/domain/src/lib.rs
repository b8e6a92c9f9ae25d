//! aidgraph's domain: the types of the registry, their validation, and the rules that decide who
//! may do what. Pure: no I/O, no database, no GraphQL.

pub mod access;
pub mod activity;
pub mod analytics;
pub mod codes;
pub mod error;
pub mod money;
pub mod need;
pub mod organisation;
pub mod overlap;
pub mod provision;
pub mod rates;
pub mod records;
pub mod vocab;

pub use error::{UnknownValue, Violation, Violations};
