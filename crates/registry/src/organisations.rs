//! Registering organisations (admins), in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::organisation::OrganisationData;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::organisations::{self, OrganisationRecord};

/// Registers an organisation; admins only. A taken reference is a conflict.
pub async fn create(
    registry: &Registry,
    who: &Principal,
    data: OrganisationData,
) -> Result<OrganisationRecord, StoreError> {
    registry
        .write(async move |conn| organisations::create(conn, who, data).await)
        .await
}
