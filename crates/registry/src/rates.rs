//! Loading exchange rates (admins), in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::rates::MonthlyRate;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::rates;

/// Stores `rates`, replacing the months they name (admins only).
pub async fn load(
    registry: &Registry,
    who: &Principal,
    rates: &[MonthlyRate],
) -> Result<usize, StoreError> {
    registry
        .write(async move |conn| rates::load(conn, who, rates).await)
        .await
}
