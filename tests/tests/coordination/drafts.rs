//! Drafts never reach an aggregate.

use super::*;

/// Coverage matrix, significance and Paris figures in one request.
async fn figures(app: &TestApp, token: &str) -> Value {
    let query = format!(
        "{{ y2026: coverageMatrix(filter: {{ year: 2026 }}) {{ {MATRIX_FIELDS} }}
            today: coverageMatrix {{ {MATRIX_FIELDS} }}
            significance: providerSignificance(filter: {{ country: \"KE\", year: 2026 }}) {{ {SIGNIFICANCE_FIELDS} }}
            paris: parisIndicators(year: 2026) {{ {PARIS_FIELDS} }} }}"
    );
    app.ok(token, &query, json!({})).await
}

#[tokio::test]
async fn drafts_never_reach_an_aggregate() {
    let app = registry().await;
    let viewer = app.token(Role::Viewer, None, None);
    let coordinator = app.token(Role::Coordinator, None, None);
    let ke_needs = publish_analysis(
        &app,
        "KE",
        json!([
            { "title": "Central authority for mutual legal assistance", "priorityArea": IC },
            { "title": "Protection of cooperating informants", "priorityArea": IC, "visibility": "RESTRICTED" }
        ]),
    )
    .await;
    assert_eq!(ke_needs.len(), 2);

    // The UK's published activity: Kenya, INTERNATIONAL_COOPERATION, 1000 USD, on budget,
    // addressing the public need.
    let mut public = running("GB-GOV-1-KE-PUB", UK, "KE");
    public["priorityAreas"] = json!([IC]);
    public["budget"] = json!({ "amount": "1000.00", "currency": "USD" });
    public["paris"] = json!({ "onBudget": true });
    public["addressesNeeds"] = json!([ke_needs[0]]);
    published(&app, public).await;

    let callers = [
        ("viewer", viewer.clone()),
        ("coordinator", coordinator.clone()),
        ("admin", app.admin()),
        ("the draft's owner", app.provider(DE)),
    ];
    let mut before = Vec::new();
    for (_, token) in &callers {
        before.push(figures(&app, token).await);
    }

    // Without the draft: one activity of 1000 USD in Kenya × INTERNATIONAL_COOPERATION.
    let c = cell(&before[0]["y2026"], "KE", IC);
    assert_cell(c, 1, &[UK], "1000.00", 1.0, "BUDGET");
    // A viewer sees the public need only (covered); the restricted one is left out.
    assert_eq!(c["needs"], needs(0, 1, 0), "{c:#}");
    // A coordinator counts the restricted need too (unmet).
    assert_eq!(cell(&before[1]["y2026"], "KE", IC)["needs"], needs(1, 1, 0));
    // So does Kenya; Tanzania and a provider do not.
    let kenya = matrix(&app, &app.recipient("KE"), r#"(filter: { country: "KE" })"#).await;
    assert_eq!(cell(&kenya, "KE", IC)["needs"], needs(1, 1, 0));
    let tanzania = matrix(&app, &app.recipient("TZ"), r#"(filter: { country: "KE" })"#).await;
    assert_eq!(cell(&tanzania, "KE", IC)["needs"], needs(0, 1, 0));
    assert_eq!(cell(&before[3]["y2026"], "KE", IC)["needs"], needs(0, 1, 0));
    assert_eq!(
        significance_rows(&before[0]["significance"]),
        vec![(
            UK,
            "1000.00",
            about(1.0),
            about(1.0),
            Some(true),
            Some(true),
            Some(true)
        )]
    );
    let on_budget = &before[0]["paris"][0];
    assert_eq!(on_budget["indicator"], "3");
    assert_eq!(
        (
            on_budget["numerator"].clone(),
            on_budget["denominator"].clone(),
            on_budget["records"].clone()
        ),
        (json!("1"), json!("1"), json!(1))
    );

    // Germany drafts a bigger activity in the same cell, with every flag, a schedule, a
    // disbursement and a link to the same need — and does not publish it.
    let mut draft = running("DE-1-KE-DRAFT", DE, "KE");
    draft["priorityAreas"] = json!([IC]);
    draft["budget"] = json!({ "amount": "5000.00", "currency": "USD" });
    draft["paris"] = json!({ "onBudget": false, "usesCountryPfm": true, "usesCountryProcurement": true,
        "parallelPiu": true, "tiedStatus": "4", "programmeBased": true });
    draft["plannedDisbursements"] = json!([
        { "periodStart": "2026-01-01", "periodEnd": "2026-12-31", "value": { "amount": "5000.00", "currency": "USD" } }
    ]);
    draft["transactions"] = json!([
        { "type": "3", "date": "2026-06-01", "value": { "amount": "1000.00", "currency": "USD" } }
    ]);
    draft["addressesNeeds"] = json!([ke_needs[0]]);
    let created = app
        .ok(
            &app.provider(DE),
            CREATE_ACTIVITY,
            json!({ "input": draft }),
        )
        .await;
    let draft_activity = &created["createActivity"];
    assert_eq!(draft_activity["publication"], "DRAFT");
    assert_eq!(
        total(&app, "activities(filter: { publication: DRAFT })").await,
        0,
        "a viewer does not see the draft"
    );
    let drafts = app
        .ok(
            &coordinator,
            "{ activities(filter: { publication: DRAFT }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        drafts["activities"]["totalCount"], 1,
        "the draft exists: the comparison below is not vacuous"
    );

    // Every figure is the same as before, for every caller — even those who see the draft.
    for ((who, token), earlier) in callers.iter().zip(&before) {
        let now = figures(&app, token).await;
        assert_eq!(&now, earlier, "{who}: a draft changed an aggregate");
    }

    // Published, it counts: 1000 + 5000 = 6000; the need now has two uncoordinated
    // providers at once (duplicated); on budget 1 of 2.
    app.ok(
        &app.provider(DE),
        PUBLISH_ACTIVITY,
        json!({ "id": draft_activity["id"], "v": draft_activity["version"] }),
    )
    .await;
    let after = figures(&app, &viewer).await;
    let c = cell(&after["y2026"], "KE", IC);
    assert_eq!(c["activities"], 2, "{c:#}");
    assert_eq!(c["activeBudget"], "6000.00");
    assert_eq!(c["needs"], needs(0, 0, 1));
    let on_budget = &after["paris"][0];
    assert_eq!(
        (
            on_budget["numerator"].clone(),
            on_budget["denominator"].clone(),
            on_budget["records"].clone()
        ),
        (json!("1"), json!("2"), json!(2))
    );
    assert_eq!(after["significance"].as_array().map(Vec::len), Some(2));
    app.cleanup().await;
}
