//! Needs analyses and their needs: drafted, changed, published and superseded by recipients
//! (and coordinators on their behalf). Each command checks the caller and the analysis's
//! state, writes the rows, the audit entry and the `needPublished` events, in one
//! transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::need::{NeedData, NeedsAnalysisData};
use aidgraph_domain::vocab::NeedsAnalysisStatus;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::audit::{self, AuditEvent};
use aidgraph_persistence::events::{self, Topic};
use aidgraph_persistence::needs::{self, AnalysisRecord, NeedRecord};
use chrono::Utc;
use sea_orm::ConnectionTrait;

/// The caller may draft, change and publish analyses of `country`.
fn authorize(who: &Principal, country: &str) -> Result<(), StoreError> {
    if who.may_manage_needs(country) {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "you may not publish or change needs analyses for {country}"
        )))
    }
}

/// The country a coordinator acts for, for the audit trail.
fn on_behalf<'a>(who: &Principal, country: &'a str) -> Option<&'a str> {
    who.acts_on_behalf_of(country).then_some(country)
}

/// Starts a needs analysis as a draft, with its first needs.
pub async fn create_analysis(
    registry: &Registry,
    who: &Principal,
    data: NeedsAnalysisData,
    needs: Vec<NeedData>,
) -> Result<(AnalysisRecord, Vec<NeedRecord>), StoreError> {
    let country = data.recipient_country.clone();
    authorize(who, &country)?;
    let (analysis, records) = registry
        .write(async move |conn| {
            let on_behalf_of = on_behalf(who, &data.recipient_country);
            let analysis =
                needs::insert_analysis(conn, &who.subject, on_behalf_of.is_some(), &data).await?;
            let mut records = Vec::with_capacity(needs.len());
            for need in &needs {
                records.push(needs::insert_need(conn, &analysis, need).await?);
            }
            let event = AuditEvent::<(), _> {
                entity: "needs_analysis",
                entity_id: analysis.id,
                action: "create",
                before: None,
                after: Some(&(&data, &needs)),
                on_behalf_of,
            };
            audit::record(conn, who, event).await?;
            Ok((analysis, records))
        })
        .await?;
    tracing::info!(analysis.id = analysis.id, analysis.country = %country, "needs analysis drafted");
    Ok((analysis, records))
}

/// Adds a need to a draft or published analysis.
pub async fn add_need(
    registry: &Registry,
    who: &Principal,
    analysis_id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    registry
        .write(async move |conn| {
            let analysis = for_change(conn, who, analysis_id).await?;
            if analysis.status == NeedsAnalysisStatus::Superseded {
                return Err(StoreError::invalid(
                    "analysisId",
                    "the analysis is superseded; add needs to the analysis that replaced it",
                ));
            }
            let record = needs::insert_need(conn, &analysis, &data).await?;
            let event = AuditEvent::<(), _> {
                entity: "need",
                entity_id: record.id,
                action: "create",
                before: None,
                after: Some(&data),
                on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
            };
            audit::record(conn, who, event).await?;
            Ok(record)
        })
        .await
}

/// Replaces a need's content, unless its analysis is superseded.
pub async fn update_need(
    registry: &Registry,
    who: &Principal,
    id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    registry
        .write(async move |conn| {
            let before = needs::get_need(conn, who, id)
                .await?
                .ok_or_else(|| StoreError::not_found("need", id))?;
            let analysis = for_change(conn, who, before.analysis_id).await?;
            if analysis.status == NeedsAnalysisStatus::Superseded {
                return Err(StoreError::invalid(
                    "id",
                    "the need belongs to a superseded analysis and can no longer change",
                ));
            }
            needs::update_need_row(conn, id, &data).await?;
            let event = AuditEvent {
                entity: "need",
                entity_id: id,
                action: "update",
                before: Some(&before.data),
                after: Some(&data),
                on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
            };
            audit::record(conn, who, event).await?;
            Ok(NeedRecord { data, ..before })
        })
        .await
}

/// Publishes a draft analysis; it must hold at least one need.
pub async fn publish_analysis(
    registry: &Registry,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    let published = registry
        .write(async move |conn| {
            let analysis = for_change(conn, who, id).await?;
            publish(conn, who, &analysis).await
        })
        .await?;
    tracing::info!(analysis.id = id, analysis.country = %published.data.recipient_country, "needs analysis published");
    Ok(published)
}

/// Marks analysis `id` as superseded by `by` (same country), publishing `by` if it is a draft.
/// Returns the superseded analysis.
pub async fn supersede_analysis(
    registry: &Registry,
    who: &Principal,
    id: i64,
    by: i64,
) -> Result<AnalysisRecord, StoreError> {
    if id == by {
        return Err(StoreError::invalid(
            "by",
            "an analysis cannot supersede itself",
        ));
    }
    registry
        .write(async move |conn| {
            let old = for_change(conn, who, id).await?;
            let new = for_change(conn, who, by).await?;
            if old.status != NeedsAnalysisStatus::Published {
                return Err(StoreError::invalid(
                    "id",
                    "only a published analysis can be superseded",
                ));
            }
            if new.data.recipient_country != old.data.recipient_country {
                return Err(StoreError::invalid(
                    "by",
                    format!(
                        "the replacing analysis is for {}, not {}",
                        new.data.recipient_country, old.data.recipient_country
                    ),
                ));
            }
            let new = needs::bump_analysis(conn, &new, new.status, new.published_at, Some(old.id))
                .await?;
            publish(conn, who, &new).await?;
            let superseded = needs::bump_analysis(
                conn,
                &old,
                NeedsAnalysisStatus::Superseded,
                old.published_at,
                old.supersedes_id,
            )
            .await?;
            let event = AuditEvent {
                entity: "needs_analysis",
                entity_id: old.id,
                action: "supersede",
                before: Some(&old.status.as_str()),
                after: Some(&(superseded.status.as_str(), by)),
                on_behalf_of: on_behalf(who, &old.data.recipient_country),
            };
            audit::record(conn, who, event).await?;
            Ok(superseded)
        })
        .await
}

/// Analysis `id`, which the caller must see and may change.
async fn for_change(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    let analysis = needs::get_analysis(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("needs analysis", id))?;
    authorize(who, &analysis.data.recipient_country)?;
    Ok(analysis)
}

/// Publishes `analysis` (already published: unchanged), with a `needPublished` event per
/// need and an audit entry.
async fn publish(
    conn: &impl ConnectionTrait,
    who: &Principal,
    analysis: &AnalysisRecord,
) -> Result<AnalysisRecord, StoreError> {
    match analysis.status {
        NeedsAnalysisStatus::Published => return Ok(analysis.clone()),
        NeedsAnalysisStatus::Superseded => {
            return Err(StoreError::invalid(
                "id",
                "a superseded analysis cannot be published again",
            ));
        }
        NeedsAnalysisStatus::Draft => {}
    }
    let ids = needs::need_ids_of(conn, analysis.id).await?;
    if ids.is_empty() {
        return Err(StoreError::invalid(
            "id",
            "an analysis needs at least one need before it is published",
        ));
    }
    let published = needs::bump_analysis(
        conn,
        analysis,
        NeedsAnalysisStatus::Published,
        Some(Utc::now()),
        analysis.supersedes_id,
    )
    .await?;
    let country = std::slice::from_ref(&analysis.data.recipient_country);
    for id in ids {
        events::record(conn, Topic::NeedPublished, country, &[], id).await?;
    }
    let event = AuditEvent {
        entity: "needs_analysis",
        entity_id: analysis.id,
        action: "publish",
        before: Some(&analysis.status.as_str()),
        after: Some(&published.status.as_str()),
        on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
    };
    audit::record(conn, who, event).await?;
    Ok(published)
}
