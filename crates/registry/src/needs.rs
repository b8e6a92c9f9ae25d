//! Needs analyses and their needs: drafted, changed, published and superseded by recipients
//! (and coordinators on their behalf), each command in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::need::{NeedData, NeedsAnalysisData};
use aidgraph_persistence::StoreError;
use aidgraph_persistence::needs::{self, AnalysisRecord, NeedRecord};

/// Starts a needs analysis as a draft, with its first needs.
pub async fn create_analysis(
    registry: &Registry,
    who: &Principal,
    data: NeedsAnalysisData,
    needs: Vec<NeedData>,
) -> Result<(AnalysisRecord, Vec<NeedRecord>), StoreError> {
    registry
        .write(async move |conn| needs::create_analysis(conn, who, data, needs).await)
        .await
}

/// Adds a need to a draft or published analysis.
pub async fn add_need(
    registry: &Registry,
    who: &Principal,
    analysis_id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    registry
        .write(async move |conn| needs::add_need(conn, who, analysis_id, data).await)
        .await
}

/// Replaces a need's content.
pub async fn update_need(
    registry: &Registry,
    who: &Principal,
    id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    registry
        .write(async move |conn| needs::update_need(conn, who, id, data).await)
        .await
}

/// Publishes a draft analysis; it must hold at least one need.
pub async fn publish_analysis(
    registry: &Registry,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    registry
        .write(async move |conn| needs::publish_analysis(conn, who, id).await)
        .await
}

/// Marks analysis `id` as superseded by `by` (same country), publishing `by` if it is a draft.
/// Returns the superseded analysis.
pub async fn supersede_analysis(
    registry: &Registry,
    who: &Principal,
    id: i64,
    by: i64,
) -> Result<AnalysisRecord, StoreError> {
    registry
        .write(async move |conn| needs::supersede_analysis(conn, who, id, by).await)
        .await
}
