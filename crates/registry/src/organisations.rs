//! Registering organisations: by admins, or on first sight in an IATI import. Each
//! registration is audited in its command's transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::organisation::OrganisationData;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::audit::{self, AuditEvent};
use aidgraph_persistence::organisations::{self, OrganisationRecord, Sighting};
use sea_orm::ConnectionTrait;

/// Registers an organisation; admins only. A taken reference is a conflict.
pub async fn create(
    registry: &Registry,
    who: &Principal,
    data: OrganisationData,
) -> Result<OrganisationRecord, StoreError> {
    if !who.may_manage_organisations() {
        return Err(StoreError::Forbidden(
            "only administrators may register organisations".into(),
        ));
    }
    let record = registry
        .write(async move |conn| {
            let record = organisations::insert(conn, &data).await?;
            audit_created(conn, who, &record, "create").await?;
            Ok(record)
        })
        .await?;
    tracing::info!(org.id = record.id, org.r#ref = %record.data.org_ref, "organisation registered");
    Ok(record)
}

/// Registers the organisations an import names that the registry does not know yet, audited
/// as the importer's, in the import's transaction; how many were created.
pub(crate) async fn register_seen(
    conn: &impl ConnectionTrait,
    who: &Principal,
    seen: &[Sighting],
) -> Result<usize, StoreError> {
    let created = organisations::ensure_seen(conn, seen).await?;
    for record in &created {
        audit_created(conn, who, record, "create_on_import").await?;
    }
    Ok(created.len())
}

async fn audit_created(
    conn: &impl ConnectionTrait,
    who: &Principal,
    record: &OrganisationRecord,
    action: &'static str,
) -> Result<(), StoreError> {
    let event = AuditEvent::<(), _> {
        entity: "organisation",
        entity_id: record.id,
        action,
        before: None,
        after: Some(&record.data),
        on_behalf_of: None,
    };
    audit::record(conn, who, event).await
}
