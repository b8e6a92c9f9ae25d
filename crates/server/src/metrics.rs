//! The process's metrics recorder, rendered on `/metrics` in the Prometheus text format.
//!
//! Series (all prefixed `aidgraph_`): `requests_total` and `request_duration_seconds` by
//! `operation` and `outcome` (`ok` or an error code); `errors_total` by `code`;
//! `db_statement_duration_seconds` by `outcome`; `db_pool_connections` by `state`
//! (`idle`, `in_use`); `outbox_lag_events` (committed events not yet read by this process's
//! publisher); `events_published_total` and `events_delivered_total` by `topic`
//! (`overlap_flag` counts flags raised or changed); `subscriptions_open`;
//! `websocket_connections_total`; `iati_imports_total` by `outcome`; `iati_activities_total`
//! by `result`; `registry_version`.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets, in seconds: from a kept answer to a slow import.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed on first use; `None` if another recorder was installed
/// first (then this process's metrics go there).
pub fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .map_err(|e| tracing::warn!(error = %e, "metric buckets refused"))
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    // Histograms are folded on render; upkeep also runs between scrapes, so
                    // memory stays flat when nothing scrapes.
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(std::time::Duration::from_secs(5));
                                upkeep.run_upkeep();
                            }
                        })
                        .map_err(|e| tracing::warn!(error = %e, "metrics upkeep not started"))
                        .ok()?;
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}
