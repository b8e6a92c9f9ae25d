//! Needs analyses and their needs: their rows, and finding them with the visibility rules of
//! DESIGN.md §7 applied in the query. Drafting, publishing and superseding are commands of
//! `aidgraph_registry::needs`.

use crate::entities::{need, need_provision, needs_analysis};
use crate::error::StoreError;
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::access::Principal;
use aidgraph_domain::need::{NeedData, NeedsAnalysisData};
use aidgraph_domain::vocab::{
    NeedPriority, NeedSource, NeedVisibility, NeedsAnalysisStatus, PriorityArea,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

mod query;
mod rows;

pub use query::*;
pub use rows::*;

/// A stored needs analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRecord {
    /// Row id.
    pub id: i64,
    /// Country, source and reference.
    pub data: NeedsAnalysisData,
    /// Draft, published or superseded.
    pub status: NeedsAnalysisStatus,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// The analysis it replaced.
    pub supersedes_id: Option<i64>,
    /// Bumped by every change.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl AnalysisRecord {
    fn from_model(m: needs_analysis::Model) -> Result<Self, StoreError> {
        let corrupt = |e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string());
        Ok(AnalysisRecord {
            id: m.id,
            data: NeedsAnalysisData::stored(
                m.recipient_country,
                m.source.parse::<NeedSource>().map_err(corrupt)?,
                m.reference,
            ),
            status: m.status.parse().map_err(corrupt)?,
            published_at: m.published_at,
            supersedes_id: m.supersedes_id,
            version: m.version,
            created_at: m.created_at,
        })
    }
}

/// A stored need.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedRecord {
    /// Row id.
    pub id: i64,
    /// The analysis it belongs to.
    pub analysis_id: i64,
    /// The analysis's country.
    pub recipient_country: String,
    /// The analysis's status, which decides who sees the need.
    pub analysis_status: NeedsAnalysisStatus,
    /// Its validated content.
    pub data: NeedData,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Filters for listing needs analyses.
#[derive(Debug, Clone, Default)]
pub struct AnalysisFilter {
    /// Only for this country.
    pub recipient_country: Option<String>,
    /// Only in these states.
    pub status: Vec<NeedsAnalysisStatus>,
    /// Only from this source.
    pub source: Option<NeedSource>,
}

/// Filters for listing needs.
#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    /// Only in this country.
    pub recipient_country: Option<String>,
    /// Only under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Only concerning this provision.
    pub provision: Option<String>,
    /// Only of this priority.
    pub priority: Option<NeedPriority>,
    /// Only in this analysis.
    pub analysis_id: Option<i64>,
    /// Only in analyses in these states.
    pub analysis_status: Vec<NeedsAnalysisStatus>,
}
