//! Registering and changing activities: each command authorises the caller, writes the row,
//! its children and audit entry, refreshes its overlap flags and records events, in one
//! transaction.

use crate::{Registry, overlap};
use aidgraph_domain::Violations;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::vocab::{ActivityStatus, Publication};
use aidgraph_engine::FeatureCache;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::activities::*;
use aidgraph_persistence::audit::{self, AuditEvent};
use aidgraph_persistence::entities::activity;
use aidgraph_persistence::error::OnUnique;
use aidgraph_persistence::iati_sources::{self};
use aidgraph_persistence::organisations::Sighting;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// The snapshot audited for an activity: its content, links and publication.
#[derive(serde::Serialize)]
pub(crate) struct Snapshot<'a> {
    pub(crate) data: &'a ActivityData,
    pub(crate) publication: Publication,
    pub(crate) needs: &'a [i64],
}

/// Checks the caller may register or change an activity of `reporting_org`.
pub fn authorize(who: &Principal, reporting_org: &str) -> Result<(), StoreError> {
    authorize_as(who, reporting_org, false)
}

/// Checks the caller may write an activity of `reporting_org`; imports let coordinators load
/// any provider's published IATI data.
pub fn authorize_as(who: &Principal, reporting_org: &str, import: bool) -> Result<(), StoreError> {
    let allowed = if import {
        who.may_import_activity(reporting_org)
    } else {
        who.may_manage_activity(reporting_org)
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "you may not register or change activities reported by `{reporting_org}`"
        )))
    }
}

/// Loads many new activities at once (bench data, bulk loads), each with the needs it
/// addresses, without maintaining overlap flags: run a recomputation afterwards. Every
/// activity must be one the caller may register; each batch of 500 is one transaction with
/// an audit entry per activity. Returns how many were stored.
pub async fn bulk_insert(
    registry: &Registry,
    who: &Principal,
    items: Vec<(ActivityData, Vec<i64>)>,
    publish: bool,
) -> Result<usize, StoreError> {
    for (data, _) in &items {
        authorize(who, &data.reporting_org)?;
    }
    let publication = if publish {
        Publication::Published
    } else {
        Publication::Draft
    };
    let mut written = 0;
    for chunk in items.chunks(500) {
        written += registry
            .write(async |conn| {
                let ids = insert_many(conn, &who.subject, chunk, publication).await?;
                let created = ids.iter().copied().zip(chunk.iter().map(|(data, _)| data));
                audit::record_created(conn, who, "activity", "bulk_insert", created).await?;
                Ok(ids.len())
            })
            .await?;
    }
    Ok(written)
}

/// Registers a new activity as a draft (or published when `publish`), linked to `need_ids`.
pub async fn create(
    registry: &Registry,
    who: &Principal,
    data: ActivityData,
    need_ids: &[i64],
    publish: bool,
) -> Result<ActivityRecord, StoreError> {
    authorize(who, &data.reporting_org)?;
    let txn = registry.store().begin_write().await?;
    let record = insert(&*txn, registry.engine(), who, data, need_ids, publish).await?;
    let committing = std::time::Instant::now();
    txn.commit().await?;
    tracing::debug!(
        commit_ms = committing.elapsed().as_secs_f64() * 1e3,
        "activity committed"
    );
    tracing::info!(activity.id = record.id, activity.iati_identifier = %record.data.iati_identifier, "activity registered");
    Ok(record)
}

pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    who: &Principal,
    data: ActivityData,
    need_ids: &[i64],
    publish: bool,
) -> Result<ActivityRecord, StoreError> {
    let (reporting_org_id, participants) =
        resolve_references(conn, who, &data, Some(need_ids)).await?;
    let now = Utc::now();
    let publication = if publish {
        Publication::Published
    } else {
        Publication::Draft
    };
    let model = activity::ActiveModel {
        version: Set(1),
        created_by: Set(who.subject.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..row_of(&data, reporting_org_id, publication)?
    }
    .insert(conn)
    .await
    .on_unique(|| already_registered(&data.iati_identifier))?;
    write_children(conn, model.id, &data, &participants).await?;
    add_need_links(conn, model.id, need_ids).await?;
    audit::record(
        conn,
        who,
        AuditEvent::<(), _> {
            entity: "activity",
            entity_id: model.id,
            action: "create",
            before: None,
            after: Some(&Snapshot {
                data: &data,
                publication,
                needs: need_ids,
            }),
            on_behalf_of: None,
        },
    )
    .await?;
    let record = ActivityRecord::from_model(model)?;
    overlap::refresh(conn, cache, &record, None).await?;
    coverage_events(conn, need_ids, &record.data.reporting_org).await?;
    Ok(record)
}

/// Loads an activity for a change: it must exist, be visible, belong to the caller, and match
/// `expected_version` when given.
pub(crate) async fn load_for_change(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
    expected_version: Option<i32>,
) -> Result<ActivityRecord, StoreError> {
    let record = get(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("activity", id))?;
    authorize(who, &record.data.reporting_org)?;
    if let Some(expected) = expected_version
        && expected != record.version
    {
        return Err(StoreError::Conflict(format!(
            "activity {id} is at version {}, not {expected}; reload it and try again",
            record.version
        )));
    }
    Ok(record)
}

/// Writes a change to an activity's content (and, when given, its need links), bumping its
/// version.
pub(crate) async fn apply_change(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    who: &Principal,
    before: &ActivityRecord,
    change: Change<'_>,
) -> Result<ActivityRecord, StoreError> {
    let Change {
        data,
        need_ids,
        publication,
        action,
        import,
    } = change;
    authorize_as(who, &data.reporting_org, import)?;
    let (reporting_org_id, participants) = resolve_references(conn, who, &data, need_ids).await?;
    let now = Utc::now();
    let previous_needs = need_ids_of(conn, &[before.id])
        .await?
        .remove(&before.id)
        .unwrap_or_default();
    let version = before.version + 1;
    let updated = activity::Entity::update_many()
        .set(activity::ActiveModel {
            version: Set(version),
            updated_at: Set(now),
            ..row_of(&data, reporting_org_id, publication)?
        })
        .filter(activity::Column::Id.eq(before.id))
        .filter(activity::Column::Version.eq(before.version))
        .exec(conn)
        .await
        .on_unique(|| already_registered(&data.iati_identifier))?;
    if updated.rows_affected != 1 {
        return Err(StoreError::Conflict(format!(
            "activity {} changed while this change was being made; reload it and try again",
            before.id
        )));
    }
    write_children(conn, before.id, &data, &participants).await?;
    if let Some(need_ids) = need_ids {
        replace_need_links(conn, before.id, need_ids).await?;
    }
    let after_needs = need_ids.unwrap_or(&previous_needs);
    audit::record(
        conn,
        who,
        AuditEvent {
            entity: "activity",
            entity_id: before.id,
            action,
            before: Some(&Snapshot {
                data: &before.data,
                publication: before.publication,
                needs: &previous_needs,
            }),
            after: Some(&Snapshot {
                data: &data,
                publication,
                needs: after_needs,
            }),
            on_behalf_of: None,
        },
    )
    .await?;
    let record = ActivityRecord {
        id: before.id,
        reporting_org_id,
        publication,
        version,
        data,
        created_at: before.created_at,
        updated_at: now,
    };
    overlap::refresh(
        conn,
        cache,
        &record,
        Some((&before.data, before.publication)),
    )
    .await?;
    let mut touched: Vec<i64> = previous_needs.clone();
    touched.extend_from_slice(after_needs);
    touched.sort_unstable();
    touched.dedup();
    coverage_events(conn, &touched, &record.data.reporting_org).await?;
    Ok(record)
}

/// A change to an activity: its new content, need links (`None` keeps them), publication,
/// and the audited action name.
pub(crate) struct Change<'a> {
    pub(crate) data: ActivityData,
    pub(crate) need_ids: Option<&'a [i64]>,
    pub(crate) publication: Publication,
    pub(crate) action: &'static str,
    /// Authorised as an import (coordinators may load any provider's activities).
    pub(crate) import: bool,
}

/// Replaces an activity's content; `need_ids` of `None` keeps its need links.
pub async fn update(
    registry: &Registry,
    who: &Principal,
    id: i64,
    expected_version: i32,
    data: ActivityData,
    need_ids: Option<&[i64]>,
) -> Result<ActivityRecord, StoreError> {
    change_one(
        registry,
        who,
        (id, expected_version),
        "update",
        need_ids,
        |before| (data, before.publication),
    )
    .await
}

/// Changes activity `id` at version `expected_version` to the content and publication `to`
/// makes of its current record (its need links to `need_ids`, unless `None`), audited as
/// `action`, in one transaction.
async fn change_one(
    registry: &Registry,
    who: &Principal,
    (id, expected_version): (i64, i32),
    action: &'static str,
    need_ids: Option<&[i64]>,
    to: impl FnOnce(&ActivityRecord) -> (ActivityData, Publication),
) -> Result<ActivityRecord, StoreError> {
    let txn = registry.store().begin_write().await?;
    let before = load_for_change(&*txn, who, id, Some(expected_version)).await?;
    let (data, publication) = to(&before);
    let change = Change {
        data,
        need_ids,
        publication,
        action,
        import: false,
    };
    let record = apply_change(&*txn, registry.engine(), who, &before, change).await?;
    txn.commit().await?;
    Ok(record)
}

/// Creates or updates the activity with `data.iati_identifier`. Sending the same content twice
/// writes nothing the second time. `need_ids` of `None` keeps existing links.
pub async fn upsert(
    registry: &Registry,
    who: &Principal,
    data: ActivityData,
    need_ids: Option<&[i64]>,
    publish: bool,
) -> Result<(ActivityRecord, UpsertOutcome), StoreError> {
    authorize(who, &data.reporting_org)?;
    let txn = registry.store().begin_write().await?;
    let result = upsert_in(&*txn, registry.engine(), who, data, need_ids, publish, None).await?;
    if result.1 != UpsertOutcome::Unchanged {
        txn.commit().await?;
    }
    Ok(result)
}

/// Imports a published activity read from an IATI file, with the organisations it names that
/// the registry does not know yet ([`crate::organisations::register_seen`]) and its source, in one
/// transaction: an activity that is turned away leaves no organisation behind. Providers may
/// import their own activities, coordinators and admins any. Returns the activity, what
/// happened to it, and how many organisations were created.
pub async fn import(
    registry: &Registry,
    who: &Principal,
    data: ActivityData,
    seen: &[Sighting],
    source: &iati_sources::Source,
) -> Result<(ActivityRecord, UpsertOutcome, usize), StoreError> {
    authorize_as(who, &data.reporting_org, true)?;
    let txn = registry.store().begin_write().await?;
    let created = crate::organisations::register_seen(&*txn, who, seen).await?;
    let (record, outcome) = upsert_in(
        &*txn,
        registry.engine(),
        who,
        data,
        None,
        true,
        Some(Some(source)),
    )
    .await?;
    if outcome == UpsertOutcome::Unchanged && created == 0 {
        return Ok((record, outcome, 0));
    }
    txn.commit().await?;
    Ok((record, outcome, created))
}

/// The upsert itself, in `conn`'s transaction: nothing is written when the outcome is
/// [`UpsertOutcome::Unchanged`].
async fn upsert_in(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    who: &Principal,
    data: ActivityData,
    need_ids: Option<&[i64]>,
    publish: bool,
    imported: Option<Option<&iati_sources::Source>>,
) -> Result<(ActivityRecord, UpsertOutcome), StoreError> {
    let import = imported.is_some();
    let source = imported.flatten();
    let existing = activity::Entity::find()
        .filter(activity::Column::IatiIdentifier.eq(data.iati_identifier.as_str()))
        .one(conn)
        .await?;
    let result = match existing {
        None => {
            let record = insert(conn, cache, who, data, need_ids.unwrap_or(&[]), publish).await?;
            (record, UpsertOutcome::Created)
        }
        Some(model) => {
            let before = ActivityRecord::from_model(model)?;
            if !sees(conn, who, &before).await? {
                // Someone else's draft: do not reveal it, but do not overwrite it either.
                return Err(StoreError::Conflict(already_registered(
                    &data.iati_identifier,
                )));
            }
            authorize_as(who, &before.data.reporting_org, import)?;
            let publication = if publish {
                Publication::Published
            } else {
                before.publication
            };
            let links_same = match need_ids {
                None => true,
                Some(ids) => {
                    let mut current = need_ids_of(conn, &[before.id])
                        .await?
                        .remove(&before.id)
                        .unwrap_or_default();
                    let mut wanted = ids.to_vec();
                    current.sort_unstable();
                    wanted.sort_unstable();
                    wanted.dedup();
                    current == wanted
                }
            };
            if before.data == data && before.publication == publication && links_same {
                // The same activity from a file written differently: keep the new form.
                let kept = match source {
                    Some(source) => iati_sources::keep(conn, before.id, source).await?,
                    None => false,
                };
                let outcome = if kept {
                    UpsertOutcome::Updated
                } else {
                    UpsertOutcome::Unchanged
                };
                return Ok((before, outcome));
            }
            let record = apply_change(
                conn,
                cache,
                who,
                &before,
                Change {
                    data,
                    need_ids,
                    publication,
                    action: "upsert",
                    import,
                },
            )
            .await?;
            (record, UpsertOutcome::Updated)
        }
    };
    if let Some(source) = source {
        iati_sources::keep(conn, result.0.id, source).await?;
    }
    Ok(result)
}

/// Changes an activity's publication state.
pub async fn set_publication(
    registry: &Registry,
    who: &Principal,
    id: i64,
    expected_version: i32,
    publication: Publication,
) -> Result<ActivityRecord, StoreError> {
    let action = match publication {
        Publication::Published => "publish",
        Publication::Draft => "withdraw",
    };
    change_one(
        registry,
        who,
        (id, expected_version),
        action,
        None,
        |before| (before.data.clone(), publication),
    )
    .await
}

/// Changes an activity's IATI status (e.g. to CANCELLED).
pub async fn set_status(
    registry: &Registry,
    who: &Principal,
    id: i64,
    expected_version: i32,
    status: ActivityStatus,
) -> Result<ActivityRecord, StoreError> {
    change_one(
        registry,
        who,
        (id, expected_version),
        "set_status",
        None,
        |before| (before.data.with_status(status), before.publication),
    )
    .await
}

/// Links an activity to more needs (`link`) or removes links (`!link`).
pub async fn change_need_links(
    registry: &Registry,
    who: &Principal,
    id: i64,
    need_ids: &[i64],
    link: bool,
) -> Result<ActivityRecord, StoreError> {
    let txn = registry.store().begin_write().await?;
    let before = load_for_change(&*txn, who, id, None).await?;
    let mut current = need_ids_of(&*txn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    if link {
        let mut v = Violations::default();
        check_needs(&*txn, who, &before.data, need_ids, "needIds", &mut v).await?;
        if !v.is_empty() {
            return Err(StoreError::Invalid(v));
        }
        current.extend_from_slice(need_ids);
    } else {
        current.retain(|n| !need_ids.contains(n));
    }
    current.sort_unstable();
    current.dedup();
    let data = before.data.clone();
    let publication = before.publication;
    let action = if link { "link_needs" } else { "unlink_needs" };
    let change = Change {
        data,
        need_ids: Some(&current),
        publication,
        action,
        import: false,
    };
    let record = apply_change(&*txn, registry.engine(), who, &before, change).await?;
    txn.commit().await?;
    Ok(record)
}

/// Why an activity cannot take an identifier another one has.
fn already_registered(identifier: &str) -> String {
    format!("an activity with IATI identifier `{identifier}` is already registered")
}
