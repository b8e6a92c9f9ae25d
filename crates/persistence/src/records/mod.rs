//! Coordination records: evaluations, missions and analytic work, contributions, coordination
//! mechanisms and their links. The writers store what the command layer
//! (`aidgraph_registry::records`) has authorised, inside its transaction; it writes the audit
//! entry.

use crate::activities::{self, TAG_PRIORITY_AREA, TAG_PROVISION};
use crate::entities::{
    activity, activity_country, activity_tag, contribution, coordination_mechanism, evaluation,
    evaluation_activity, joint_work, joint_work_organisation, mechanism_country, mechanism_link,
    mechanism_member,
};
use crate::error::StoreError;
use crate::organisations::{self, escape_like, lower_like};
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::Violations;
use aidgraph_domain::access::Principal;
use aidgraph_domain::money::Money;
use aidgraph_domain::records::{ContributionData, EvaluationData, JointWorkData, MechanismData};
use aidgraph_domain::vocab::{
    ContributionStatus, Fund, JointWorkKind, MechanismLevel, PriorityArea, Publication,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeSet, HashMap};

mod contributions;
mod evaluations;
mod joint_works;
mod mechanisms;

pub use contributions::*;
pub use evaluations::*;
pub use joint_works::*;
pub use mechanisms::*;

/// Most evaluations returned as lessons.
pub const MAX_LESSONS: u64 = 10;

/// Organisation refs to row ids; unknown refs are reported under `field(i)`.
async fn resolve_orgs(
    conn: &impl ConnectionTrait,
    refs: &[(String, String)],
) -> Result<HashMap<String, i64>, StoreError> {
    let wanted: Vec<String> = refs.iter().map(|(r, _)| r.clone()).collect();
    let found = organisations::by_refs(conn, &wanted).await?;
    let mut v = Violations::default();
    for (r, field) in refs {
        if !found.contains_key(r) {
            v.push(
                field.clone(),
                format!("unknown organisation `{r}`; register it first"),
            );
        }
    }
    v.into_result(found.into_iter().map(|(r, o)| (r, o.id)).collect())
        .map_err(StoreError::Invalid)
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

/// A stored coordination record: its row id, validated content, who recorded it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    /// Row id.
    pub id: i64,
    /// Its content.
    pub data: T,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl<T: serde::de::DeserializeOwned> Recorded<T> {
    fn from_document(
        id: i64,
        document: &str,
        recorded_by: String,
        created_at: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        Ok(Recorded {
            id,
            data: serde_json::from_str(document)?,
            recorded_by,
            created_at,
        })
    }
}
