//! The audit trail: who changed what and when, with digests of the record before and after.

use crate::entities::audit_entry;
use crate::error::StoreError;
use aidgraph_domain::access::Principal;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 of a record's JSON form, hex-encoded.
pub fn digest(value: &impl Serialize) -> Result<String, StoreError> {
    let json = serde_json::to_vec(value)?;
    Ok(hex::encode(Sha256::digest(&json)))
}

/// What a mutation did to one record.
pub struct AuditEvent<'a, B: Serialize, A: Serialize> {
    /// The kind of record, e.g. `activity`.
    pub entity: &'static str,
    /// Its id.
    pub entity_id: i64,
    /// What was done, e.g. `create`, `update`, `publish`.
    pub action: &'static str,
    /// The record before, if it existed.
    pub before: Option<&'a B>,
    /// The record after, if it still exists.
    pub after: Option<&'a A>,
    /// The country a coordinator acted for, when acting on a recipient's behalf.
    pub on_behalf_of: Option<&'a str>,
}

/// Writes one audit entry in the caller's transaction.
pub async fn record<B: Serialize, A: Serialize>(
    conn: &impl ConnectionTrait,
    who: &Principal,
    event: AuditEvent<'_, B, A>,
) -> Result<(), StoreError> {
    let entry = audit_entry::ActiveModel {
        at: Set(Utc::now()),
        actor: Set(who.subject.clone()),
        actor_role: Set(who.role.as_str().to_owned()),
        on_behalf_of: Set(event.on_behalf_of.map(str::to_owned)),
        entity: Set(event.entity.to_owned()),
        entity_id: Set(event.entity_id),
        action: Set(event.action.to_owned()),
        before_digest: Set(event.before.map(digest).transpose()?),
        after_digest: Set(event.after.map(digest).transpose()?),
        ..Default::default()
    };
    entry.insert(conn).await?;
    Ok(())
}

/// Writes the audit entry of a change made on no one's behalf, with the record after it.
pub async fn audit_change(
    conn: &impl ConnectionTrait,
    who: &Principal,
    entity: &'static str,
    entity_id: i64,
    action: &'static str,
    after: &impl Serialize,
) -> Result<(), StoreError> {
    record(
        conn,
        who,
        AuditEvent::<(), _> {
            entity,
            entity_id,
            action,
            before: None,
            after: Some(after),
            on_behalf_of: None,
        },
    )
    .await
}

/// Writes one `action` entry per record of `entity` created by `who`, each with the digest of
/// its content, in the caller's transaction and in batches.
pub async fn record_created<'a, T: Serialize + 'a>(
    conn: &impl ConnectionTrait,
    who: &Principal,
    entity: &'static str,
    action: &'static str,
    created: impl IntoIterator<Item = (i64, &'a T)>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let entries = created
        .into_iter()
        .map(|(id, after)| {
            Ok(audit_entry::ActiveModel {
                at: Set(now),
                actor: Set(who.subject.clone()),
                actor_role: Set(who.role.as_str().to_owned()),
                on_behalf_of: Set(None),
                entity: Set(entity.to_owned()),
                entity_id: Set(id),
                action: Set(action.to_owned()),
                before_digest: Set(None),
                after_digest: Set(Some(digest(after)?)),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    for part in entries.chunks(400) {
        audit_entry::Entity::insert_many(part.to_vec())
            .exec(conn)
            .await?;
    }
    Ok(())
}
