//! `coverageMatrix` on the hand-worked registry: by priority area in 2026 and today, with a
//! ceiling, filters and one provider, and by DAC sector.

use super::*;

/// Checks the figures of the registry `hand_worked` builds.
pub(super) async fn check(app: &TestApp, viewer: &str) {
    // ---- coverageMatrix, 2026 ----
    let y2026 = matrix(app, viewer, "(filter: { year: 2026 })").await;
    assert_eq!(y2026["columns"], "PRIORITY_AREA");
    assert_eq!(y2026["currency"], "USD");
    assert_eq!(y2026["providerCeiling"], 5);
    assert_eq!(row_codes(&y2026), ["KE", "TZ"], "{y2026:#}");
    assert_eq!(row(&y2026, "KE")["name"], "Kenya");
    assert_eq!(row(&y2026, "KE")["kind"], "COUNTRY");
    assert_eq!(row(&y2026, "TZ")["kind"], "COUNTRY");
    // A6 is not active in 2026, so Kenya has no DATA_COLLECTION_CAPACITY cell.
    for code in ["KE", "TZ"] {
        assert_eq!(
            pluck(&row(&y2026, code)["cells"], "column"),
            [CJR, IC],
            "{code}"
        );
    }

    // KE × CRIMINAL_JUSTICE_RESPONSE: A3 100 × 0.6 × ½ = 30 (DE) + A4 20 (UNODC) = 50.
    // Shares 0.6 / 0.4: HHI = 0.36 + 0.16 = 0.52. Needs: N2 duplicated.
    let c = cell(&y2026, "KE", CJR);
    assert_cell(c, 2, &[DE, UNODC], "50.00", 0.52, "BUDGET");
    assert_eq!(c["needs"], needs(0, 0, 1), "{c:#}");
    assert_eq!(c["unconverted"], json!([]));
    assert_eq!(c["overCeiling"], false);
    // KE × INTERNATIONAL_COOPERATION: A1 1170 (UK) + A3 100 × 0.6 × ½ = 30 (DE) = 1200.
    // Shares 0.975 / 0.025: HHI = 0.950625 + 0.000625 = 0.95125. Needs: N1 covered, N3 unmet.
    let c = cell(&y2026, "KE", IC);
    assert_cell(c, 2, &[DE, UK], "1200.00", 0.95125, "BUDGET");
    assert_eq!(c["needs"], needs(1, 1, 0), "{c:#}");
    // TZ × CRIMINAL_JUSTICE_RESPONSE: A3 100 × 0.4 × ½ = 20 (DE) + A5 30 (UNODC) = 50.
    // Shares 0.4 / 0.6: HHI = 0.52. Tanzania published no needs: all zero.
    let c = cell(&y2026, "TZ", CJR);
    assert_cell(c, 2, &[DE, UNODC], "50.00", 0.52, "BUDGET");
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");
    // TZ × INTERNATIONAL_COOPERATION: A2 1180 (UK) + A3 100 × 0.4 × ½ = 20 (DE) = 1200.
    // HHI = (1180² + 20²) / 1200² = 1392800 / 1440000 = 0.96722.
    let c = cell(&y2026, "TZ", IC);
    assert_cell(
        c,
        2,
        &[DE, UK],
        "1200.00",
        1_392_800.0 / 1_440_000.0,
        "BUDGET",
    );
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");

    // ---- coverageMatrix without a year: active today, each budget at its start year's rate ----
    let today = matrix(app, viewer, "").await;
    assert_eq!(today["columns"], "PRIORITY_AREA");
    assert_eq!(today["currency"], "USD");
    assert_eq!(today["providerCeiling"], 5);
    assert_eq!(row_codes(&today), ["KE", "TZ"]);
    let mut ke_columns = pluck(&row(&today, "KE")["cells"], "column");
    ke_columns.sort();
    assert_eq!(ke_columns, [CJR, DCC, IC]);
    // A1–A5 are in implementation and start in 2026: their cells are the 2026 cells.
    for (code, column) in [("KE", CJR), ("KE", IC), ("TZ", CJR), ("TZ", IC)] {
        assert_eq!(
            cell(&today, code, column),
            cell(&y2026, code, column),
            "{code} × {column}"
        );
    }
    // KE × DATA_COLLECTION_CAPACITY: A6 alone; its 100 EUR has no 2027 rate, so nothing is
    // added and it is listed as unconverted; with no converted budget the shares are of
    // activities: one provider, HHI 1.
    let c = cell(&today, "KE", DCC);
    assert_cell(c, 1, &[DE], "0.00", 1.0, "ACTIVITIES");
    assert_eq!(money(&c["unconverted"]), [(Some(100.0), "EUR".to_owned())]);
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");

    // Open flags: the score has its own tests; every cell must count exactly the OPEN flags
    // whose two activities both sit in it.
    for m in [&y2026, &today] {
        for r in m["rows"].as_array().into_iter().flatten() {
            let country = r["code"].as_str().unwrap_or_default();
            let flags = open_flags(app, viewer, country).await;
            for c in r["cells"].as_array().into_iter().flatten() {
                let column = c["column"].as_str().unwrap_or_default();
                assert_eq!(
                    c["openFlags"],
                    flag_counts(&flags, country, column),
                    "{country} × {column}: {flags:#?}"
                );
            }
        }
    }
    // A3 and A4 share Kenya, UNTOC-18, TRAINING, PROSECUTION, the need N2 and their dates,
    // so they score well over 40: the check above is not vacuous.
    assert!(
        cell(&y2026, "KE", CJR)["openFlags"]["total"]
            .as_i64()
            .unwrap_or(0)
            >= 1,
        "{y2026:#}"
    );

    // A provider ceiling of 1: every cell above has two active providers.
    let ceiling = matrix(app, viewer, "(filter: { year: 2026 }, providerCeiling: 1)").await;
    assert_eq!(ceiling["providerCeiling"], 1);
    for (code, column) in [("KE", CJR), ("KE", IC), ("TZ", CJR), ("TZ", IC)] {
        assert_eq!(
            cell(&ceiling, code, column)["overCeiling"],
            true,
            "{code} × {column}"
        );
    }

    // Filters: one country and one priority area, in EUR: 50 USD × 0.80 = 40 EUR.
    let narrow = matrix(
        app,
        viewer,
        r#"(filter: { country: "KE", priorityArea: CRIMINAL_JUSTICE_RESPONSE, year: 2026 }, currency: "EUR")"#,
    )
    .await;
    assert_eq!(narrow["currency"], "EUR");
    assert_eq!(row_codes(&narrow), ["KE"]);
    assert_eq!(pluck(&row(&narrow, "KE")["cells"], "column"), [CJR]);
    assert_eq!(cell(&narrow, "KE", CJR)["activeBudget"], "40.00");
    // One provider's activities (Germany's A3: 30 in each Kenya cell, 20 in each Tanzania
    // cell); the recipient's needs stay.
    let german = matrix(app, viewer, r#"(filter: { provider: "DE-1", year: 2026 })"#).await;
    for (code, column, budget) in [
        ("KE", CJR, "30.00"),
        ("KE", IC, "30.00"),
        ("TZ", CJR, "20.00"),
        ("TZ", IC, "20.00"),
    ] {
        assert_cell(cell(&german, code, column), 1, &[DE], budget, 1.0, "BUDGET");
    }
    assert_eq!(cell(&german, "KE", CJR)["needs"], needs(0, 0, 1));
    assert_eq!(cell(&german, "KE", IC)["needs"], needs(1, 1, 0));

    // ---- coverageMatrix by DAC sector, 2026: needs have no sector ----
    let dac = matrix(app, viewer, "(filter: { year: 2026 }, columns: DAC_SECTOR)").await;
    assert_eq!(dac["columns"], "DAC_SECTOR");
    assert_eq!(row_codes(&dac), ["KE", "TZ"]);
    for code in ["KE", "TZ"] {
        assert_eq!(
            pluck(&row(&dac, code)["cells"], "column"),
            ["15130", "15210"]
        );
        for c in row(&dac, code)["cells"].as_array().into_iter().flatten() {
            assert!(c["needs"].is_null(), "{c:#}");
        }
    }
    // KE × 15130: A1 1170 + A3 100 × 0.6 × 0.5 = 30 + A4 20 = 1220;
    // HHI = (1170² + 30² + 20²) / 1220² = 1370200 / 1488400 = 0.92059.
    let c = cell(&dac, "KE", "15130");
    assert_eq!(c["columnName"], "Legal and judicial development");
    assert_cell(
        c,
        3,
        &[DE, UK, UNODC],
        "1220.00",
        1_370_200.0 / 1_488_400.0,
        "BUDGET",
    );
    // KE × 15210: A3 100 × 0.6 × 0.5 = 30.
    assert_cell(cell(&dac, "KE", "15210"), 1, &[DE], "30.00", 1.0, "BUDGET");
    // TZ × 15130: A2 1180 + A3 100 × 0.4 × 0.5 = 20 + A5 30 = 1230;
    // HHI = (1180² + 20² + 30²) / 1230² = 1393700 / 1512900 = 0.92121.
    assert_cell(
        cell(&dac, "TZ", "15130"),
        3,
        &[DE, UK, UNODC],
        "1230.00",
        1_393_700.0 / 1_512_900.0,
        "BUDGET",
    );
    // TZ × 15210: A3 100 × 0.4 × 0.5 = 20.
    assert_cell(cell(&dac, "TZ", "15210"), 1, &[DE], "20.00", 1.0, "BUDGET");
}
