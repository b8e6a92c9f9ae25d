//! `contributionSummary` on the hand-worked registry: by year and donor, filtered, in EUR.

use super::*;

/// Checks the figures of the registry `hand_worked` builds.
pub(super) async fn check(app: &TestApp, viewer: &str) {
    // ---- contributionSummary: by year, then donor ref ----
    let rows = summary(app, viewer, Value::Null, "USD").await;
    let list = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(
        list.iter()
            .map(|r| (r["year"].as_i64().unwrap_or(0), id_of(&r["donor"]["ref"])))
            .collect::<Vec<_>>(),
        vec![
            (2025, DE.to_owned()),
            (2025, UK.to_owned()),
            (2026, DE.to_owned()),
            (2026, UK.to_owned()),
        ],
        "{rows:#}"
    );
    for r in &list {
        assert_eq!(r["currency"], "USD");
    }
    // Germany 2025: pledged 180 EUR / 0.90 = 200; nothing paid → share null.
    assert_total(
        &list[0],
        2025,
        DE,
        ["200.00", "0.00", "0.00", "0.00", "0.00"],
        None,
    );
    // UK 2025: paid 45 EUR / 0.90 = 50, special purpose → share 0 / 50 = 0.
    assert_total(
        &list[1],
        2025,
        UK,
        ["0.00", "50.00", "0.00", "50.00", "0.00"],
        Some(0.0),
    );
    // Germany 2026: paid 90 EUR / 0.80 = 112.50, general purpose → share 1.
    assert_total(
        &list[2],
        2026,
        DE,
        ["0.00", "112.50", "112.50", "0.00", "0.00"],
        Some(1.0),
    );
    // UK 2026: pledged 1000; paid 600 (general) + 100 EUR / 0.80 = 125 (special, TIP)
    // + 75 (other) = 800; the 50 GBP has no rate and is not added → share 600 / 800 = 0.75.
    assert_total(
        &list[3],
        2026,
        UK,
        ["1000.00", "800.00", "600.00", "125.00", "75.00"],
        Some(0.75),
    );
    assert_eq!(
        money(&list[3]["unconvertedPaid"]),
        [(Some(50.0), "GBP".to_owned())]
    );
    assert_eq!(list[3]["unconvertedPledged"], json!([]));
    for r in &list[..3] {
        assert_eq!(r["unconvertedPaid"], json!([]), "{r:#}");
        assert_eq!(r["unconvertedPledged"], json!([]), "{r:#}");
    }
    // The filter narrows to one row.
    let one = summary(app, viewer, json!({ "donor": UK, "year": 2026 }), "USD").await;
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one:#}");
    assert_total(
        &one[0],
        2026,
        UK,
        ["1000.00", "800.00", "600.00", "125.00", "75.00"],
        Some(0.75),
    );
    let in_2025 = summary(app, viewer, json!({ "year": 2025 }), "USD").await;
    assert_eq!(
        in_2025
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| id_of(&r["donor"]["ref"]))
            .collect::<Vec<_>>(),
        [DE, UK]
    );
    // In EUR: Germany's 90 EUR → 112.50 USD → × 0.80 = 90 EUR.
    let eur = summary(app, viewer, json!({ "donor": DE, "year": 2026 }), "EUR").await;
    assert_eq!(eur[0]["currency"], "EUR", "{eur:#}");
    assert_total(
        &eur[0],
        2026,
        DE,
        ["0.00", "90.00", "90.00", "0.00", "0.00"],
        Some(1.0),
    );
}
