//! Validation errors: every offending field with a message a person can act on.

use std::fmt;

/// A value outside a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} value `{value}`")]
pub struct UnknownValue {
    /// The vocabulary's name.
    pub vocabulary: &'static str,
    /// The value given.
    pub value: String,
}

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The input path, e.g. `recipientCountries[0].code`.
    pub field: String,
    /// What is wrong, e.g. `unknown country code "XX"`.
    pub message: String,
}

/// Every problem found in one input; never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// Records a problem with `field`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was found, the violations otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut v = Violations::default();
        v.push(field, message);
        v
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
