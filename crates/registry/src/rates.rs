//! Loading exchange rates (admins), audited in one transaction.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::rates::MonthlyRate;
use aidgraph_persistence::StoreError;
use aidgraph_persistence::audit::audit_change;
use aidgraph_persistence::rates;

/// Stores `rates`, replacing the months they name (admins only); how many were stored.
pub async fn load(
    registry: &Registry,
    who: &Principal,
    rates: &[MonthlyRate],
) -> Result<usize, StoreError> {
    if !who.may_load_rates() {
        return Err(StoreError::Forbidden(
            "only admins load exchange rates".into(),
        ));
    }
    let stored = registry
        .write(async move |conn| {
            let stored = rates::store(conn, rates).await?;
            let described: Vec<(&str, &str, String)> = rates
                .iter()
                .map(|r| {
                    (
                        r.currency.as_str(),
                        r.month.as_str(),
                        r.units_per_usd.to_string(),
                    )
                })
                .collect();
            audit_change(conn, who, "exchange_rates", 0, "load", &described).await?;
            Ok(stored)
        })
        .await?;
    tracing::info!(rates = stored, "exchange rates loaded");
    Ok(stored)
}
