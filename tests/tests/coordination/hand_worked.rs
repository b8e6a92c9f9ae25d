//! A registry small enough to work every dashboard figure out by hand: six activities, three
//! needs, missions, analytic work and contributions, with the figures each dashboard must give.

use super::*;

#[tokio::test]
async fn analytics_match_figures_worked_out_by_hand() {
    let app = registry().await;
    let viewer = app.token(Role::Viewer, None, None);
    let coordinator = app.token(Role::Coordinator, None, None);

    // Rates: EUR in 2026 = mean(0.75, 0.85) = 0.80 units per USD, so 100 EUR = 125 USD;
    // EUR in 2025 = 0.90, so 90 EUR = 100 USD. EUR in 2027 and GBP have no rate.
    let loaded = app
        .ok(
            &app.admin(),
            LOAD_RATES,
            json!({ "csv": "currency,month,units_per_usd\nEUR,2025-06,0.90\nEUR,2026-01,0.75\nEUR,2026-02,0.85\n" }),
        )
        .await;
    assert_eq!(loaded["loadExchangeRates"]["loaded"], 3);

    // Kenya's needs: N1 and N3 under INTERNATIONAL_COOPERATION, N2 under
    // CRIMINAL_JUSTICE_RESPONSE.
    let ke_needs = publish_analysis(
        &app,
        "KE",
        json!([
            { "title": "Central authority for mutual legal assistance", "priorityArea": IC, "provisions": ["UNTOC-18"] },
            { "title": "Prosecutors trained in organised crime cases", "priorityArea": CJR, "provisions": ["UNTOC-18"] },
            { "title": "Extradition arrangements with neighbours", "priorityArea": IC, "provisions": ["UNTOC-16"] }
        ]),
    )
    .await;
    assert_eq!(ke_needs.len(), 3);
    let (n1, n2, n3) = (
        ke_needs[0].clone(),
        ke_needs[1].clone(),
        ke_needs[2].clone(),
    );

    // A1 — UK, Kenya, INTERNATIONAL_COOPERATION; budget 936 EUR = 936 / 0.80 = 1170 USD;
    // addresses N1. Schedules 2 × 400 EUR in 2026; disburses 320 EUR in 2026 (and commits
    // 936 EUR, which is no disbursement).
    let mut a1 = running("GB-GOV-1-KE-MLA", UK, "KE");
    a1["titles"] = json!([{ "lang": "en", "text": "Central authority case management" }]);
    a1["priorityAreas"] = json!([IC]);
    a1["budget"] = json!({ "amount": "936.00", "currency": "EUR" });
    a1["addressesNeeds"] = json!([n1]);
    a1["paris"] = json!({ "onBudget": true, "usesCountryPfm": true, "usesCountryProcurement": false,
        "parallelPiu": false, "tiedStatus": "5", "programmeBased": true });
    a1["plannedDisbursements"] = json!([
        { "periodStart": "2026-01-01", "periodEnd": "2026-06-30", "value": { "amount": "400.00", "currency": "EUR" } },
        { "periodStart": "2026-07-01", "periodEnd": "2026-12-31", "value": { "amount": "400.00", "currency": "EUR" } }
    ]);
    a1["transactions"] = json!([
        { "type": "2", "date": "2026-01-10", "value": { "amount": "936.00", "currency": "EUR" } },
        { "type": "3", "date": "2026-03-15", "value": { "amount": "320.00", "currency": "EUR" } }
    ]);
    published(&app, a1).await;

    // A2 — UK, Tanzania, INTERNATIONAL_COOPERATION; 1180 USD; co-funded with UNODC's A4 (so
    // coordinated for indicator 4). Schedules 250 USD in 2026; spends 100 USD in 2026
    // (expenditure, type 4) and disburses 50 USD in 2027.
    let mut a2 = running("GB-GOV-1-TZ-MLA", UK, "TZ");
    a2["titles"] = json!([{ "lang": "en", "text": "Port container control unit" }]);
    a2["priorityAreas"] = json!([IC]);
    a2["budget"] = json!({ "amount": "1180.00", "currency": "USD" });
    a2["relatedActivities"] =
        json!([{ "iatiIdentifier": "XM-DAC-41128-KE-PROS", "type": "CO_FUNDED" }]);
    a2["paris"] = json!({ "onBudget": true, "usesCountryPfm": false, "parallelPiu": true,
        "tiedStatus": "4", "programmeBased": false });
    a2["plannedDisbursements"] = json!([
        { "periodStart": "2026-01-01", "periodEnd": "2026-12-31", "value": { "amount": "250.00", "currency": "USD" } }
    ]);
    a2["transactions"] = json!([
        { "type": "4", "date": "2026-05-01", "value": { "amount": "100.00", "currency": "USD" } },
        { "type": "3", "date": "2027-02-01", "value": { "amount": "50.00", "currency": "USD" } }
    ]);
    published(&app, a2).await;

    // A3 — Germany, Kenya 60 % / Tanzania 40 %, CRIMINAL_JUSTICE_RESPONSE and
    // INTERNATIONAL_COOPERATION (½ each), sectors 15130 50 % / 15210 50 %; 100 USD;
    // addresses N2. Disburses 80 USD in 2026 but schedules nothing: not in indicator 7.
    let mut a3 = running("DE-1-KE-PROS", DE, "KE");
    a3["titles"] =
        json!([{ "lang": "en", "text": "Prosecutors trained in organised crime casework" }]);
    a3["recipientCountries"] =
        json!([{ "code": "KE", "percentage": "60" }, { "code": "TZ", "percentage": "40" }]);
    a3["sectors"] =
        json!([{ "code": "15130", "percentage": "50" }, { "code": "15210", "percentage": "50" }]);
    a3["priorityAreas"] = json!([CJR, IC]);
    a3["provisions"] = json!(["UNTOC-18"]);
    a3["assistanceTypes"] = json!(["TRAINING"]);
    a3["beneficiaryInstitutions"] = json!(["PROSECUTION"]);
    a3["budget"] = json!({ "amount": "100.00", "currency": "USD" });
    a3["addressesNeeds"] = json!([n2]);
    a3["paris"] = json!({ "onBudget": false, "tiedStatus": "5", "programmeBased": true });
    a3["transactions"] = json!([
        { "type": "3", "date": "2026-04-01", "value": { "amount": "80.00", "currency": "USD" } }
    ]);
    published(&app, a3).await;

    // A4 — UNODC, Kenya, CRIMINAL_JUSTICE_RESPONSE; 20 USD; addresses N2 as well, in another
    // coordination group than A3 (its group holds the UK's A2): N2 is duplicated.
    let mut a4 = running("XM-DAC-41128-KE-PROS", UNODC, "KE");
    a4["titles"] =
        json!([{ "lang": "en", "text": "Prosecutors mentored on organised crime trials" }]);
    a4["priorityAreas"] = json!([CJR]);
    a4["provisions"] = json!(["UNTOC-18"]);
    a4["assistanceTypes"] = json!(["TRAINING"]);
    a4["beneficiaryInstitutions"] = json!(["PROSECUTION"]);
    a4["budget"] = json!({ "amount": "20.00", "currency": "USD" });
    a4["addressesNeeds"] = json!([n2]);
    a4["paris"] =
        json!({ "onBudget": true, "parallelPiu": true, "tiedStatus": "3", "programmeBased": true });
    published(&app, a4).await;

    // A5 — UNODC, Tanzania, CRIMINAL_JUSTICE_RESPONSE; 30 USD; no need, no group.
    let mut a5 = running("XM-DAC-41128-TZ-CJ", UNODC, "TZ");
    a5["titles"] = json!([{ "lang": "en", "text": "Judicial integrity network" }]);
    a5["priorityAreas"] = json!([CJR]);
    a5["budget"] = json!({ "amount": "30.00", "currency": "USD" });
    a5["paris"] = json!({ "programmeBased": false });
    published(&app, a5).await;

    // A6 — Germany, Kenya, DATA_COLLECTION_CAPACITY, in the pipeline for 2027; 100 EUR. Active
    // today (pipeline), not in 2026; its budget converts at the 2027 rate, which is missing.
    let mut a6 = activity_input("DE-1-KE-DATA", DE, "KE");
    a6["titles"] = json!([{ "lang": "en", "text": "Crime statistics survey" }]);
    a6["status"] = json!("PIPELINE");
    a6["plannedStart"] = json!("2027-01-01");
    a6["plannedEnd"] = json!("2027-12-31");
    a6["priorityAreas"] = json!([DCC]);
    a6["budget"] = json!({ "amount": "100.00", "currency": "EUR" });
    published(&app, a6).await;

    // The coverage the matrix counts: N1 one activity, N2 two groups at once, N3 none.
    assert_eq!(coverage_state(&app, &n1).await, "COVERED");
    assert_eq!(coverage_state(&app, &n2).await, "DUPLICATED");
    assert_eq!(coverage_state(&app, &n3).await, "UNMET");

    // Missions: M1–M4 in Kenya in 2026 (M1 two organisations, M2 one on another's behalf:
    // joint; M3, M4 not), M5 joint but in 2025, M6 in Tanzania in 2026, not joint.
    for input in [
        joint_work("M1 assessment", "KE", &[UK, DE], None, "2026-03-01"),
        joint_work("M2 follow-up", "KE", &[UNODC], Some(DE), "2026-05-10"),
        joint_work("M3 scoping", "KE", &[UK], None, "2026-06-01"),
        joint_work("M4 review", "KE", &[UNODC], None, "2026-09-01"),
        joint_work(
            "M5 earlier joint mission",
            "KE",
            &[UK, DE],
            None,
            "2025-10-01",
        ),
        joint_work("M6 Tanzania", "TZ", &[DE], None, "2026-02-01"),
    ] {
        app.ok(&coordinator, RECORD_MISSION, json!({ "input": input }))
            .await;
    }
    // Analytic work: W1 Kenya 2026 joint (two organisations), W2 Kenya 2026 not joint, W4
    // Kenya 2025 joint, W5 Tanzania 2026 joint (on UNODC's behalf), W6 Tanzania 2026 not.
    for input in [
        joint_work(
            "W1 threat assessment",
            "KE",
            &[UK, UNODC],
            None,
            "2026-04-01",
        ),
        joint_work("W2 legal gap study", "KE", &[DE], None, "2026-07-01"),
        joint_work("W4 earlier study", "KE", &[UK, DE], None, "2025-03-01"),
        joint_work("W5 port study", "TZ", &[UK], Some(UNODC), "2026-10-01"),
        joint_work("W6 court survey", "TZ", &[DE], None, "2026-11-01"),
    ] {
        app.ok(
            &coordinator,
            RECORD_ANALYTIC_WORK,
            json!({ "input": input }),
        )
        .await;
    }
    // Contributions.
    for input in [
        contribution(
            UK,
            "GENERAL_PURPOSE",
            None,
            "1000.00",
            "USD",
            2026,
            "PLEDGED",
        ),
        contribution(UK, "GENERAL_PURPOSE", None, "600.00", "USD", 2026, "PAID"),
        contribution(
            UK,
            "SPECIAL_PURPOSE",
            Some("TIP"),
            "100.00",
            "EUR",
            2026,
            "PAID",
        ),
        contribution(UK, "OTHER", None, "75.00", "USD", 2026, "PAID"),
        contribution(UK, "GENERAL_PURPOSE", None, "50.00", "GBP", 2026, "PAID"),
        contribution(
            UK,
            "SPECIAL_PURPOSE",
            Some("TIP"),
            "45.00",
            "EUR",
            2025,
            "PAID",
        ),
        contribution(
            DE,
            "SPECIAL_PURPOSE",
            Some("SOM"),
            "180.00",
            "EUR",
            2025,
            "PLEDGED",
        ),
        contribution(DE, "GENERAL_PURPOSE", None, "90.00", "EUR", 2026, "PAID"),
    ] {
        app.ok(&coordinator, RECORD_CONTRIBUTION, json!({ "input": input }))
            .await;
    }

    matrix::check(&app, &viewer).await;
    significance::check(&app, &viewer).await;
    paris::check(&app, &viewer).await;
    contributions::check(&app, &viewer).await;
    app.cleanup().await;
}
