//! Global ids (`Node.id`) and page cursors: opaque base64url strings clients pass back as is.

use crate::error::ApiError;
use aidgraph_persistence::Cursor;
use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The kinds of record that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An organisation.
    Organisation,
    /// An activity.
    Activity,
    /// A needs analysis.
    NeedsAnalysis,
    /// A need.
    Need,
    /// An overlap flag.
    OverlapFlag,
    /// An evaluation.
    Evaluation,
    /// A mission.
    Mission,
    /// Analytic work.
    AnalyticWork,
    /// A contribution.
    Contribution,
    /// A coordination mechanism.
    CoordinationMechanism,
}

impl Kind {
    /// Every kind.
    const ALL: [Kind; 10] = [
        Kind::Organisation,
        Kind::Activity,
        Kind::NeedsAnalysis,
        Kind::Need,
        Kind::OverlapFlag,
        Kind::Evaluation,
        Kind::Mission,
        Kind::AnalyticWork,
        Kind::Contribution,
        Kind::CoordinationMechanism,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Organisation => "Organisation",
            Kind::Activity => "Activity",
            Kind::NeedsAnalysis => "NeedsAnalysis",
            Kind::Need => "Need",
            Kind::OverlapFlag => "OverlapFlag",
            Kind::Evaluation => "Evaluation",
            Kind::Mission => "Mission",
            Kind::AnalyticWork => "AnalyticWork",
            Kind::Contribution => "Contribution",
            Kind::CoordinationMechanism => "CoordinationMechanism",
        }
    }

    /// The kind in the registry's words, with its article: "an activity".
    pub fn described(self) -> &'static str {
        match self {
            Kind::Organisation => "an organisation",
            Kind::Activity => "an activity",
            Kind::NeedsAnalysis => "a needs analysis",
            Kind::Need => "a need",
            Kind::OverlapFlag => "an overlap flag",
            Kind::Evaluation => "an evaluation",
            Kind::Mission => "a mission",
            Kind::AnalyticWork => "a piece of analytic work",
            Kind::Contribution => "a contribution",
            Kind::CoordinationMechanism => "a coordination mechanism",
        }
    }

    /// The kind a storage error names ("needs analysis"), if it has global ids.
    pub fn of_entity(entity: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| {
            k.described()
                .split_once(' ')
                .is_some_and(|(_, rest)| rest == entity)
        })
    }

    fn parse(name: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The global id of record `id` of `kind`.
pub fn encode(kind: Kind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// Decodes any global id.
pub fn decode_any(id: &ID) -> Option<(Kind, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, id) = text.split_once(':')?;
    Some((Kind::parse(kind)?, id.parse().ok()?))
}

/// Decodes a global id that must be of `kind`; `field` names the argument in the error.
pub fn decode(id: &ID, kind: Kind, field: &str) -> Result<i64, ApiError> {
    match decode_any(id) {
        Some((k, n)) if k == kind => Ok(n),
        _ => Err(ApiError::bad_input(
            field,
            format!("`{}` is not the id of {}", id.as_str(), kind.described()),
        )),
    }
}

/// Decodes a list of ids of `kind`, naming each bad one by its position.
pub fn decode_all(ids: &[ID], kind: Kind, field: &str) -> Result<Vec<i64>, ApiError> {
    let mut violations = aidgraph_domain::Violations::default();
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match decode_any(id) {
            Some((k, n)) if k == kind => out.push(n),
            _ => violations.push(
                format!("{field}[{i}]"),
                format!("`{}` is not the id of {}", id.as_str(), kind.described()),
            ),
        }
    }
    violations.into_result(out).map_err(ApiError::BadInput)
}

/// The opaque form of a cursor.
pub fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", cursor.id, cursor.key))
}

/// Reads a cursor back.
pub fn decode_cursor(text: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::bad_input("after", "not a cursor from this list");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (id, key) = text.split_once('|').ok_or_else(bad)?;
    Ok(Cursor {
        key: key.to_owned(),
        id: id.parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let id = encode(Kind::Activity, 42);
        assert_eq!(decode_any(&id), Some((Kind::Activity, 42)));
        assert!(decode(&id, Kind::Need, "id").is_err());
        assert!(decode_any(&ID("garbage".into())).is_none());
    }

    #[test]
    fn storage_entities_map_to_kinds() {
        assert_eq!(Kind::of_entity("needs analysis"), Some(Kind::NeedsAnalysis));
        assert_eq!(Kind::of_entity("activity"), Some(Kind::Activity));
        assert_eq!(
            Kind::of_entity("coordination mechanism"),
            Some(Kind::CoordinationMechanism)
        );
        assert_eq!(Kind::of_entity("organisation reference"), None);
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            key: "2026-01-01".into(),
            id: 7,
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).ok(), Some(c));
        assert!(decode_cursor("nope").is_err());
    }
}
