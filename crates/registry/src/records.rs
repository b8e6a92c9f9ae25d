//! Coordination records: evaluations, missions and analytic work, contributions and
//! mechanisms with their links. Each command checks the caller, stores the record, and writes
//! its audit entry, in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::records::{
    ContributionData, EvaluationData, JointWorkData, MAX_LIST_LEN, MechanismData,
};
use aidgraph_domain::vocab::JointWorkKind;
use aidgraph_persistence::audit::audit_change;
use aidgraph_persistence::records::{
    self, ContributionRecord, EvaluationRecord, JointWorkRecord, LinkTarget, MechanismRecord,
};
use aidgraph_persistence::{StoreError, activities, needs};
use sea_orm::ConnectionTrait;

/// Refuses with `message` unless `allowed`.
fn forbid_unless(allowed: bool, message: &str) -> Result<(), StoreError> {
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden(message.to_owned()))
    }
}

/// Records a contribution (coordinators and admins).
pub async fn record_contribution(
    registry: &Registry,
    who: &Principal,
    data: ContributionData,
) -> Result<ContributionRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record contributions",
    )?;
    let record = registry
        .write(async move |conn| {
            let record = records::insert_contribution(conn, &who.subject, data).await?;
            audit_change(conn, who, "contribution", record.id, "create", &record.data).await?;
            Ok(record)
        })
        .await?;
    tracing::info!(contribution.id = record.id, "contribution recorded");
    Ok(record)
}

/// Records an evaluation of activities the caller reports (admins: any). Activities the
/// caller cannot see are reported as not found.
pub async fn record_evaluation(
    registry: &Registry,
    who: &Principal,
    activity_ids: &[i64],
    data: EvaluationData,
) -> Result<EvaluationRecord, StoreError> {
    let mut ids: Vec<i64> = activity_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let record = registry
        .write(async move |conn| {
            let found = activities::by_ids(conn, &ids).await?;
            let mut reporting = Vec::new();
            for id in &ids {
                match found.get(id) {
                    Some(r) if activities::sees(conn, who, r).await? => {
                        reporting.push(r.data.reporting_org.as_str());
                    }
                    _ => return Err(StoreError::not_found("activity", id)),
                }
            }
            forbid_unless(
                who.may_record_evaluation(reporting),
                "you may record evaluations only of activities your organisation reports",
            )?;
            let record = records::insert_evaluation(conn, &who.subject, ids, data).await?;
            let audited = (&record.data, &record.activity_ids);
            audit_change(conn, who, "evaluation", record.id, "create", &audited).await?;
            Ok(record)
        })
        .await?;
    tracing::info!(evaluation.id = record.id, "evaluation recorded");
    Ok(record)
}

/// Records a mission or analytic work (coordinators and admins).
pub async fn record_joint_work(
    registry: &Registry,
    who: &Principal,
    data: JointWorkData,
) -> Result<JointWorkRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record missions and analytic work",
    )?;
    let entity = match data.kind {
        JointWorkKind::Mission => "mission",
        JointWorkKind::AnalyticWork => "analytic_work",
    };
    let record = registry
        .write(async move |conn| {
            let record = records::insert_joint_work(conn, &who.subject, data).await?;
            audit_change(conn, who, entity, record.id, "create", &record.data).await?;
            Ok(record)
        })
        .await?;
    tracing::info!(
        record.id = record.id,
        record.kind = entity,
        "joint work recorded"
    );
    Ok(record)
}

/// Creates a coordination mechanism (coordinators and admins).
pub async fn create_mechanism(
    registry: &Registry,
    who: &Principal,
    data: MechanismData,
) -> Result<MechanismRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record coordination mechanisms",
    )?;
    let record = registry
        .write(async move |conn| {
            let record = records::insert_mechanism(conn, &who.subject, data).await?;
            let entity = "coordination_mechanism";
            audit_change(conn, who, entity, record.id, "create", &record.data).await?;
            Ok(record)
        })
        .await?;
    tracing::info!(mechanism.id = record.id, "coordination mechanism created");
    Ok(record)
}

/// Links activities and needs to a mechanism (`link`), or removes the links. Coordinators
/// link any; providers their own activities; recipients their own country's needs. Linking
/// asks that each lie in a country the mechanism covers; unlinking does not, so a link made
/// stale by a change of countries can still be removed.
pub async fn change_links(
    registry: &Registry,
    who: &Principal,
    mechanism_id: i64,
    activity_ids: &[i64],
    need_ids: &[i64],
    link: bool,
) -> Result<MechanismRecord, StoreError> {
    if activity_ids.is_empty() && need_ids.is_empty() {
        return Err(StoreError::invalid(
            "activityIds",
            "name at least one activity or need",
        ));
    }
    if activity_ids.len() + need_ids.len() > MAX_LIST_LEN {
        return Err(StoreError::invalid(
            "activityIds",
            format!("link or unlink at most {MAX_LIST_LEN} activities and needs at once"),
        ));
    }
    registry
        .write(async move |conn| {
            let mechanism = records::mechanism_by_id(conn, mechanism_id)
                .await?
                .ok_or_else(|| StoreError::not_found("coordination mechanism", mechanism_id))?;
            let covers = if link { Some(&mechanism.data) } else { None };
            let mut targets = Vec::new();
            for (i, id) in activity_ids.iter().enumerate() {
                check_activity_link(conn, who, covers, i, *id).await?;
                targets.push((LinkTarget::Activity, *id));
            }
            for (i, id) in need_ids.iter().enumerate() {
                check_need_link(conn, who, covers, i, *id).await?;
                targets.push((LinkTarget::Need, *id));
            }
            records::set_links(conn, mechanism_id, &targets, link).await?;
            let described: Vec<(&str, i64)> =
                targets.iter().map(|(k, id)| (k.as_str(), *id)).collect();
            let action = if link { "link" } else { "unlink" };
            let entity = "coordination_mechanism";
            audit_change(conn, who, entity, mechanism_id, action, &described).await?;
            Ok(mechanism)
        })
        .await
}

/// The caller may link activity `id` (the `index`th named), and — when linking — it lies in
/// a country `mechanism` covers.
async fn check_activity_link(
    conn: &impl ConnectionTrait,
    who: &Principal,
    mechanism: Option<&MechanismData>,
    index: usize,
    id: i64,
) -> Result<(), StoreError> {
    let record = activities::get(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("activity", id))?;
    forbid_unless(
        who.reads_everything() || who.may_manage_activity(&record.data.reporting_org),
        "you may link only activities your organisation reports",
    )?;
    let Some(mechanism) = mechanism else {
        return Ok(());
    };
    if !record
        .data
        .recipient_countries
        .iter()
        .any(|c| mechanism.covers_country(&c.code))
    {
        return Err(StoreError::invalid(
            format!("activityIds[{index}]"),
            format!(
                "activity `{}` is in none of the mechanism's countries ({})",
                record.data.iati_identifier,
                mechanism.countries.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The caller may link need `id` (the `index`th named), and — when linking — it lies in a
/// country `mechanism` covers.
async fn check_need_link(
    conn: &impl ConnectionTrait,
    who: &Principal,
    mechanism: Option<&MechanismData>,
    index: usize,
    id: i64,
) -> Result<(), StoreError> {
    let need = needs::get_need(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("need", id))?;
    forbid_unless(
        who.may_link_need(&need.recipient_country),
        "you may link only needs of your own country",
    )?;
    let Some(mechanism) = mechanism else {
        return Ok(());
    };
    if !mechanism.covers_country(&need.recipient_country) {
        return Err(StoreError::invalid(
            format!("needIds[{index}]"),
            format!(
                "the need is in {}, which the mechanism does not cover ({})",
                need.recipient_country,
                mechanism.countries.join(", ")
            ),
        ));
    }
    Ok(())
}
