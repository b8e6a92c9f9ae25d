//! Coordination records: evaluations, missions and analytic work, contributions and
//! mechanisms with their links, each command in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::records::{ContributionData, EvaluationData, JointWorkData, MechanismData};
use aidgraph_persistence::StoreError;
use aidgraph_persistence::records::{
    self, ContributionRecord, EvaluationRecord, JointWorkRecord, MechanismRecord,
};

/// Records a contribution (coordinators and admins).
pub async fn record_contribution(
    registry: &Registry,
    who: &Principal,
    data: ContributionData,
) -> Result<ContributionRecord, StoreError> {
    registry
        .write(async move |conn| records::record_contribution(conn, who, data).await)
        .await
}

/// Records an evaluation of activities the caller reports (admins: any).
pub async fn record_evaluation(
    registry: &Registry,
    who: &Principal,
    activity_ids: &[i64],
    data: EvaluationData,
) -> Result<EvaluationRecord, StoreError> {
    registry
        .write(async move |conn| records::record_evaluation(conn, who, activity_ids, data).await)
        .await
}

/// Records a mission or analytic work (coordinators and admins).
pub async fn record_joint_work(
    registry: &Registry,
    who: &Principal,
    data: JointWorkData,
) -> Result<JointWorkRecord, StoreError> {
    registry
        .write(async move |conn| records::record_joint_work(conn, who, data).await)
        .await
}

/// Creates a coordination mechanism (coordinators and admins).
pub async fn create_mechanism(
    registry: &Registry,
    who: &Principal,
    data: MechanismData,
) -> Result<MechanismRecord, StoreError> {
    registry
        .write(async move |conn| records::create_mechanism(conn, who, data).await)
        .await
}

/// Links activities and needs to a mechanism (`link`), or removes the links.
pub async fn change_links(
    registry: &Registry,
    who: &Principal,
    mechanism_id: i64,
    activity_ids: &[i64],
    need_ids: &[i64],
    link: bool,
) -> Result<MechanismRecord, StoreError> {
    registry
        .write(async move |conn| {
            records::change_links(conn, who, mechanism_id, activity_ids, need_ids, link).await
        })
        .await
}
