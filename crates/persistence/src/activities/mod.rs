//! Activities: registering, changing, publishing and finding them.
//!
//! The validated [`ActivityData`] is stored whole as JSON in `activities.document`; the parts
//! that lists filter on (countries, sectors, tags, participants, related identifiers, need
//! links) are kept in child tables, rewritten with the document in one transaction.

use crate::entities::{
    activity, activity_country, activity_need, activity_participant, activity_related,
    activity_sector, activity_tag, need, needs_analysis,
};
use crate::error::{OnUnique, StoreError};
use crate::events::{self, Topic};
use crate::organisations::{self, escape_like, lower_like};
use crate::overlap;
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::Violations;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::overlap::groups::EdgeSource;
use aidgraph_domain::vocab::{ActivityStatus, NeedsAnalysisStatus, Publication};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::{HashMap, HashSet};

mod bulk;
mod children;
mod query;
mod row;

pub use bulk::*;
pub use children::*;
pub use query::*;
pub use row::*;

/// Sort key for activities without any start date: after every real date.
const NO_START_KEY: &str = "9999-12-31";

/// A stored activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    /// Row id.
    pub id: i64,
    /// The reporting organisation's row id.
    pub reporting_org_id: i64,
    /// Draft or published.
    pub publication: Publication,
    /// Bumped by every change; clients pass it back as `expectedVersion`.
    pub version: i32,
    /// Its validated content.
    pub data: ActivityData,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ActivityRecord {
    /// The record of a stored row.
    pub fn from_model(m: activity::Model) -> Result<Self, StoreError> {
        let publication: Publication = m
            .publication
            .parse()
            .map_err(|e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string()))?;
        Ok(ActivityRecord {
            id: m.id,
            reporting_org_id: m.reporting_org_id,
            publication,
            version: m.version,
            data: serde_json::from_str(&m.document)?,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// The next page of published activities after row id `after`, in id order: for tools that
/// walk the whole registry (recompute, cache warming, corpus rebuild).
pub async fn published_after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
        .filter(activity::Column::Id.gt(after))
        .order_by_asc(activity::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(ActivityRecord::from_model)
        .collect()
}

/// Reads a stored row back into a record.
pub fn record_from_model(m: activity::Model) -> Result<ActivityRecord, StoreError> {
    ActivityRecord::from_model(m)
}

/// Writes coverage events for needs whose covering activities may have changed.
pub async fn coverage_events(
    conn: &impl ConnectionTrait,
    need_ids: &[i64],
    provider: &str,
) -> Result<(), StoreError> {
    if need_ids.is_empty() {
        return Ok(());
    }
    let needs = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.iter().copied()))
        .all(conn)
        .await?;
    for n in needs {
        events::record(
            conn,
            Topic::Coverage,
            std::slice::from_ref(&n.recipient_country),
            &[provider],
            n.id,
        )
        .await?;
    }
    Ok(())
}
