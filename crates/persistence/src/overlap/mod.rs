//! The overlap engine's storage side: flags kept up to date in the transaction that changes an
//! activity, document frequencies for TF-IDF, coordination edges, review decisions, and the
//! dry run behind `checkOverlap`.
//!
//! Only published activities take part: a draft raises no flag and adds nothing to the text
//! corpus until it is published. Candidates never cross a recipient country.

use crate::activities::{self, ActivityRecord};
use crate::entities::{
    activity, activity_need, candidate_window, coordination_edge, need, overlap_flag,
    overlap_flag_country, term_df,
};
use crate::error::StoreError;
use crate::organisations;
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::overlap::config::OverlapConfig;
use aidgraph_domain::overlap::groups::{EdgeSource, Groups};
use aidgraph_domain::overlap::{Component, OverlapFeatures, PairScore};
use aidgraph_domain::vocab::{OverlapClass, Publication, ReviewStatus};
use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

mod keeping;
mod reading;
mod scoring;

pub use keeping::*;
pub use reading::*;
pub use scoring::*;

/// One scored component as stored with a flag, as a JSON array `[key, value, weight, reason]`
/// (a third shorter than an object: a registry stores millions). Components stored as objects
/// with those names are read too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "StoredForm")]
pub struct StoredComponent {
    /// Component key.
    pub key: String,
    /// Value in [0, 1].
    pub value: f64,
    /// Weight (0 for the geo and time gates, which multiply).
    pub weight: f64,
    /// Why.
    pub reason: String,
}

impl Serialize for StoredComponent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.key, self.value, self.weight, &self.reason).serialize(serializer)
    }
}

/// The stored forms of a component.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredForm {
    Compact(String, f64, f64, String),
    Named {
        key: String,
        value: f64,
        weight: f64,
        reason: String,
    },
}

impl From<StoredForm> for StoredComponent {
    fn from(form: StoredForm) -> Self {
        let (key, value, weight, reason) = match form {
            StoredForm::Compact(key, value, weight, reason) => (key, value, weight, reason),
            StoredForm::Named {
                key,
                value,
                weight,
                reason,
            } => (key, value, weight, reason),
        };
        StoredComponent {
            key,
            value,
            weight,
            reason,
        }
    }
}

/// A stored overlap flag.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRecord {
    /// Row id.
    pub id: i64,
    /// The activity with the smaller id.
    pub activity_a_id: i64,
    /// The other activity.
    pub activity_b_id: i64,
    /// 0–100.
    pub score: u8,
    /// Class.
    pub class: OverlapClass,
    /// Gates and components with reasons.
    pub components: Vec<StoredComponent>,
    /// The rule version that computed it.
    pub config_version: String,
    /// Review state.
    pub status: ReviewStatus,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// When it was first raised.
    pub raised_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Countries the pair shares.
    pub countries: Vec<String>,
}

fn corrupt(e: aidgraph_domain::UnknownValue) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl FlagRecord {
    fn from_model(m: overlap_flag::Model, countries: Vec<String>) -> Result<Self, StoreError> {
        Ok(FlagRecord {
            id: m.id,
            activity_a_id: m.activity_a_id,
            activity_b_id: m.activity_b_id,
            score: u8::try_from(m.score).unwrap_or(0),
            class: m.class.parse().map_err(corrupt)?,
            components: serde_json::from_str(&m.components)?,
            config_version: m.config_version,
            status: m.status.parse().map_err(corrupt)?,
            reviewed_by: m.reviewed_by,
            note: m.note,
            reviewed_at: m.reviewed_at,
            raised_at: m.raised_at,
            updated_at: m.updated_at,
            countries,
        })
    }
}

/// A pair a planned activity would be flagged with.
#[derive(Debug, Clone)]
pub struct PlannedFlag {
    /// The registered activity's id.
    pub activity_id: i64,
    /// Its score against the planned one, 0–100.
    pub score: u8,
    /// The class, coordination groups considered.
    pub class: OverlapClass,
    /// The gates and components with their reasons, when asked for (empty otherwise).
    pub components: Vec<Component>,
}

#[cfg(test)]
mod tests {
    use super::StoredComponent;

    #[test]
    fn components_are_stored_as_arrays_and_read_in_either_form() -> serde_json::Result<()> {
        let time = StoredComponent {
            key: "time".into(),
            value: 0.55283,
            weight: 0.0,
            reason: "Overlap 293 of 530 days".into(),
        };
        let stored = serde_json::to_string(&[&time])?;
        assert_eq!(
            stored,
            r#"[["time",0.55283,0.0,"Overlap 293 of 530 days"]]"#
        );
        let read: Vec<StoredComponent> = serde_json::from_str(&stored)?;
        assert_eq!(read, std::slice::from_ref(&time));
        let named =
            r#"[{"key":"time","value":0.55283,"weight":0.0,"reason":"Overlap 293 of 530 days"}]"#;
        let read: Vec<StoredComponent> = serde_json::from_str(named)?;
        assert_eq!(read, [time]);
        Ok(())
    }
}
