//! aidgraph's domain: the types of the registry, their validation, and the rules that decide who
//! may do what. Pure: no I/O, no database, no GraphQL.

/// Gives a checked type `$checked(pub(crate) $fields)` read access to its fields and a way
/// to take them apart, and nothing else: outside this crate a `$checked` is made only by its
/// constructors, and never changed in place.
macro_rules! read_only {
    ($checked:ident, $fields:ident) => {
        impl std::ops::Deref for $checked {
            type Target = $fields;

            fn deref(&self) -> &$fields {
                &self.0
            }
        }

        impl $checked {
            /// Its fields, to take apart (they are no longer known to be valid).
            pub fn into_fields(self) -> $fields {
                self.0
            }
        }
    };
}

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
