//! Organisations: providers, recipients and everyone else named in activities.

use crate::codes::{COUNTRY, ORGANISATION_TYPE};
use crate::error::Violations;
use crate::vocab::OrganisationKind;
use serde::{Deserialize, Serialize};

/// Longest organisation name accepted.
pub const MAX_NAME_LEN: usize = 300;

/// A validated organisation. Outside this crate it is made only by its `parse`, or by
/// [`OrganisationData::unchecked`] from parts the registry holds already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrganisationData(OrganisationFields);

read_only!(OrganisationData, OrganisationFields);

/// The content of a validated organisation, read through [`OrganisationData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganisationFields {
    /// IATI organisation identifier, e.g. `GB-GOV-1`.
    pub org_ref: String,
    /// Display name.
    pub name: String,
    /// What kind of body it is.
    pub kind: OrganisationKind,
    /// IATI OrganisationType code, e.g. `10`.
    pub iati_type: Option<String>,
    /// ISO 3166-1 alpha-2 country, where it has one.
    pub country: Option<String>,
}

/// An organisation as submitted, before validation.
#[derive(Debug, Clone)]
pub struct OrganisationSubmission {
    /// See [`OrganisationData::org_ref`].
    pub org_ref: String,
    /// See [`OrganisationData::name`].
    pub name: String,
    /// See [`OrganisationData::kind`].
    pub kind: OrganisationKind,
    /// See [`OrganisationData::iati_type`].
    pub iati_type: Option<String>,
    /// See [`OrganisationData::country`].
    pub country: Option<String>,
}

/// Words publishers put where an organisation identifier belongs when they have none, compared
/// in lower case with everything but letters and digits removed (`N/A`, `n.a.`, `Not
/// available`, `TBD`…). Chosen from real IATI files: see `docs/iati.md`.
const PLACEHOLDER_WORDS: &[&str] = &[
    "na",
    "none",
    "null",
    "nil",
    "unknown",
    "notavailable",
    "notapplicable",
    "notknown",
    "notprovided",
    "tbd",
    "tbc",
    "undefined",
];

/// Whether `value` only stands in for a missing organisation identifier: empty or
/// whitespace, punctuation only (`-`, `?`), zeros only (`0`, `000`), `x` only (`XX-XXX`), or a
/// word such as `N/A`, `none` or `unknown`. Such a reference is never an organisation's
/// identity: it is not stored as one and never matches another.
pub fn is_placeholder_ref(value: &str) -> bool {
    let folded: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded.is_empty()
        || folded.chars().all(|c| c == '0')
        || folded.chars().all(|c| c == 'x')
        || PLACEHOLDER_WORDS.contains(&folded.as_str())
}

/// Checks an organisation reference: non-empty, not a placeholder (see
/// [`is_placeholder_ref`]), at most 200 characters, no spaces.
pub fn check_org_ref(value: &str, field: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        violations.push(field, "must not be empty");
        None
    } else if is_placeholder_ref(value) {
        violations.push(
            field,
            format!(
                "`{value}` is a placeholder, not an organisation identifier; name the organisation without a reference instead"
            ),
        );
        None
    } else if value.len() > 200 || value.chars().any(char::is_whitespace) {
        violations.push(
            field,
            "must be an IATI organisation identifier: at most 200 characters, no spaces",
        );
        None
    } else {
        Some(value.to_owned())
    }
}

/// Checks an ISO 3166-1 alpha-2 country code.
pub fn check_country(value: &str, field: &str, violations: &mut Violations) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    if COUNTRY.get(&code).is_some() {
        Some(code)
    } else {
        violations.push(
            field,
            format!("unknown country code `{value}` (ISO 3166-1 alpha-2)"),
        );
        None
    }
}

impl OrganisationData {
    /// The parts of `input` taken as they are, without checks: for an organisation the
    /// registry holds already (a stored row) or has made safe itself (one an import sighted,
    /// its name trimmed to [`MAX_NAME_LEN`] and its type dropped unless it is a known code).
    pub fn unchecked(input: OrganisationSubmission) -> Self {
        let OrganisationSubmission {
            org_ref,
            name,
            kind,
            iati_type,
            country,
        } = input;
        OrganisationData(OrganisationFields {
            org_ref,
            name,
            kind,
            iati_type,
            country,
        })
    }

    /// Validates a submission, reporting every problem.
    pub fn parse(input: OrganisationSubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let org_ref = check_org_ref(&input.org_ref, "ref", &mut v);
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            v.push("name", format!("must have 1 to {MAX_NAME_LEN} characters"));
        }
        let iati_type = match input.iati_type {
            Some(t) if ORGANISATION_TYPE.get(t.trim()).is_none() => {
                v.push("iatiType", format!("unknown IATI organisation type `{t}`"));
                None
            }
            other => other.map(|t| t.trim().to_owned()),
        };
        let country = input
            .country
            .as_deref()
            .and_then(|c| check_country(c, "country", &mut v));
        match org_ref {
            Some(org_ref) if v.is_empty() => Ok(OrganisationData(OrganisationFields {
                org_ref,
                name,
                kind: input.kind,
                iati_type,
                country,
            })),
            _ => Err(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_not_identifiers() {
        for p in [
            "",
            " ",
            "N/A",
            "n/a",
            "NA",
            "n.a.",
            "None",
            "null",
            "0",
            "000",
            "-",
            "--",
            "?",
            "XX-XXX",
            "xxx",
            "Not available",
            "unknown",
            "TBD",
        ] {
            assert!(is_placeholder_ref(p), "{p:?} is a placeholder");
        }
        for r in ["GB-GOV-1", "XM-DAC-41128", "NA-COA-12", "N1", "41114", "X1"] {
            assert!(!is_placeholder_ref(r), "{r:?} is an identifier");
        }
        let mut v = Violations::default();
        assert_eq!(check_org_ref("N/A", "ref", &mut v), None);
        assert!(v.to_string().contains("placeholder"), "{v}");
    }
}
