//! Missions, analytic work, contributions and mechanisms recorded by coordinators; the audit
//! of every record; stale links.

use super::*;

async fn record_counts(app: &TestApp) -> Value {
    app.ok(
        &app.token(Role::Viewer, None, None),
        "{ missions { totalCount } analyticWorks { totalCount } contributions { totalCount }
           coordinationMechanisms { totalCount } }",
        json!({}),
    )
    .await
}

#[tokio::test]
async fn missions_analytic_work_contributions_and_mechanisms_are_recorded_by_coordinators() {
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);

    // Missions: two organisations → joint; one on another's behalf → joint; one alone → not.
    let mut input = joint_work(
        "Joint assessment mission",
        "KE",
        &[UK, DE],
        None,
        "2026-03-01",
    );
    input["endDate"] = json!("2026-03-05");
    let ma = app
        .ok(&coordinator, RECORD_MISSION, json!({ "input": input }))
        .await["recordMission"]
        .clone();
    assert_eq!(ma["title"], "Joint assessment mission");
    assert_eq!(ma["country"], "KE");
    assert_eq!(ma["joint"], true);
    assert_eq!(ma["startDate"], "2026-03-01");
    assert_eq!(ma["endDate"], "2026-03-05");
    assert_eq!(sorted_refs(&ma["organisations"]), [DE, UK]);
    assert!(ma["onBehalfOf"].is_null());
    assert!(ma["recordedBy"].as_str().is_some_and(|s| !s.is_empty()));
    let mb = app
        .ok(
            &coordinator,
            RECORD_MISSION,
            json!({ "input": joint_work("Follow-up mission", "KE", &[UNODC], Some(DE), "2026-06-01") }),
        )
        .await["recordMission"]
        .clone();
    assert_eq!(mb["joint"], true, "one organisation acting for another");
    assert_eq!(mb["onBehalfOf"]["ref"], DE);
    let mc = app
        .ok(
            &coordinator,
            RECORD_MISSION,
            json!({ "input": joint_work("Scoping mission", "TZ", &[UK], None, "2025-11-01") }),
        )
        .await["recordMission"]
        .clone();
    assert_eq!(mc["joint"], false);

    // Analytic work: one organisation → not joint; two → joint.
    let wa = app
        .ok(
            &coordinator,
            RECORD_ANALYTIC_WORK,
            json!({ "input": joint_work("Legal gap analysis", "KE", &[UNODC], None, "2026-04-01") }),
        )
        .await["recordAnalyticWork"]
        .clone();
    assert_eq!(wa["joint"], false);
    let mut input = joint_work(
        "Port threat assessment",
        "TZ",
        &[UK, UNODC],
        None,
        "2026-09-01",
    );
    input["link"] = json!("https://example.org/port-study");
    let wb = app
        .ok(
            &coordinator,
            RECORD_ANALYTIC_WORK,
            json!({ "input": input }),
        )
        .await["recordAnalyticWork"]
        .clone();
    assert_eq!(wb["joint"], true);
    assert_eq!(wb["link"], "https://example.org/port-study");
    assert_eq!(wb["country"], "TZ");

    // Contributions.
    let mut input = contribution(
        UK,
        "SPECIAL_PURPOSE",
        Some("TIP"),
        "250000.00",
        "USD",
        2026,
        "PAID",
    );
    input["date"] = json!("2026-02-01");
    let ca = app
        .ok(&coordinator, RECORD_CONTRIBUTION, json!({ "input": input }))
        .await["recordContribution"]
        .clone();
    assert_eq!(ca["donor"]["ref"], UK);
    assert_eq!(ca["fund"], "SPECIAL_PURPOSE");
    assert_eq!(ca["earmark"], "TIP");
    assert_eq!(
        ca["amount"],
        json!({ "amount": "250000.00", "currency": "USD" })
    );
    assert_eq!(ca["year"], 2026);
    assert_eq!(ca["status"], "PAID");
    assert_eq!(ca["date"], "2026-02-01");
    app.ok(
        &coordinator,
        RECORD_CONTRIBUTION,
        json!({ "input": contribution(DE, "GENERAL_PURPOSE", None, "100000.00", "EUR", 2025, "PLEDGED") }),
    )
    .await;

    // Mechanisms.
    let mk = app
        .ok(
            &coordinator,
            CREATE_MECHANISM,
            json!({ "input": { "name": "Kenya organised crime donor group", "level": "NATIONAL",
                "countries": ["KE"], "members": [UK, DE], "chair": UK, "description": "Meets quarterly" } }),
        )
        .await["createCoordinationMechanism"]
        .clone();
    assert_eq!(mk["level"], "NATIONAL");
    assert_eq!(mk["countries"], json!(["KE"]));
    assert_eq!(sorted_refs(&mk["members"]), [DE, UK]);
    assert_eq!(mk["chair"]["ref"], UK);
    assert_eq!(mk["description"], "Meets quarterly");
    app.ok(
        &coordinator,
        CREATE_MECHANISM,
        json!({ "input": { "name": "East Africa working group", "level": "REGIONAL",
            "countries": ["KE", "TZ"], "members": [UK, UNODC], "chair": UNODC } }),
    )
    .await;

    let counts = record_counts(&app).await;
    assert_eq!(
        counts,
        json!({ "missions": { "totalCount": 3 }, "analyticWorks": { "totalCount": 2 },
                "contributions": { "totalCount": 2 }, "coordinationMechanisms": { "totalCount": 2 } })
    );

    // Providers, viewers and recipients record none of them.
    let attempts = [
        (
            RECORD_MISSION,
            joint_work("Unauthorised", "KE", &[UK], None, "2026-05-01"),
        ),
        (
            RECORD_ANALYTIC_WORK,
            joint_work("Unauthorised", "KE", &[UK], None, "2026-05-01"),
        ),
        (
            RECORD_CONTRIBUTION,
            contribution(UK, "GENERAL_PURPOSE", None, "10.00", "USD", 2026, "PAID"),
        ),
        (
            CREATE_MECHANISM,
            json!({ "name": "Unauthorised", "level": "NATIONAL", "countries": ["KE"], "members": [UK] }),
        ),
    ];
    for (who, token) in [
        ("a provider", app.provider(UK)),
        ("a viewer", app.token(Role::Viewer, None, None)),
        ("a recipient", app.recipient("KE")),
    ] {
        for (mutation, input) in &attempts {
            let body = app.gql(&token, mutation, json!({ "input": input })).await;
            assert_eq!(
                error_code(&body),
                Some("FORBIDDEN"),
                "{who}: {mutation}: {body}"
            );
        }
    }
    assert_eq!(record_counts(&app).await, counts, "nothing stored");

    // Validation, field by field: (mutation, input, the field a violation must name).
    let negative = contribution(UK, "GENERAL_PURPOSE", None, "-5.00", "USD", 2026, "PAID");
    let cases = [
        (
            RECORD_MISSION,
            joint_work("Unknown partner", "KE", &["XX-UNKNOWN"], None, "2026-05-01"),
            "organisations[0]",
        ),
        (
            RECORD_MISSION,
            joint_work(
                "Unknown principal",
                "KE",
                &[UK],
                Some("XX-UNKNOWN"),
                "2026-05-01",
            ),
            "onBehalfOf",
        ),
        (
            RECORD_MISSION,
            joint_work("Nowhere", "XX", &[UK], None, "2026-05-01"),
            "country",
        ),
        (
            RECORD_ANALYTIC_WORK,
            joint_work(
                "Unknown partner",
                "KE",
                &[UK, "XX-UNKNOWN"],
                None,
                "2026-05-01",
            ),
            "organisations[1]",
        ),
        (
            RECORD_CONTRIBUTION,
            contribution(
                "XX-UNKNOWN",
                "GENERAL_PURPOSE",
                None,
                "10.00",
                "USD",
                2026,
                "PAID",
            ),
            "donor",
        ),
        (
            RECORD_CONTRIBUTION,
            contribution(UK, "SPECIAL_PURPOSE", None, "10.00", "USD", 2026, "PAID"),
            "earmark",
        ),
        (
            CREATE_MECHANISM,
            json!({ "name": "Two countries", "level": "NATIONAL", "countries": ["KE", "TZ"], "members": [UK] }),
            "countries",
        ),
        (
            CREATE_MECHANISM,
            json!({ "name": "Outside chair", "level": "NATIONAL", "countries": ["KE"], "members": [UK], "chair": DE }),
            "chair",
        ),
    ];
    for (mutation, input, field) in &cases {
        let body = app
            .gql(&coordinator, mutation, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{field}: {body}");
        assert!(
            violation_fields(&body).iter().any(|f| f == field),
            "{field} not named in {body}"
        );
    }
    // A negative amount: `amount` or `amount.amount`.
    let body = app
        .gql(
            &coordinator,
            RECORD_CONTRIBUTION,
            json!({ "input": negative }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        violation_fields(&body)
            .iter()
            .any(|f| f.starts_with("amount")),
        "{body}"
    );
    assert_eq!(record_counts(&app).await, counts, "nothing stored");

    // Filters.
    for (field, expected) in [
        // KE: the assessment and the follow-up.
        (r#"missions(filter: { country: "KE" })"#, 2),
        ("missions(filter: { year: 2026 })", 2),
        ("missions(filter: { year: 2025 })", 1),
        ("missions(filter: { joint: true })", 2),
        ("missions(filter: { joint: false })", 1),
        // The UK took part in the assessment and the scoping mission.
        (r#"missions(filter: { organisation: "GB-GOV-1" })"#, 2),
        (r#"missions(filter: { country: "TZ", joint: true })"#, 0),
        ("analyticWorks(filter: { joint: true })", 1),
        (r#"analyticWorks(filter: { country: "KE" })"#, 1),
        (
            r#"analyticWorks(filter: { organisation: "XM-DAC-41128" })"#,
            2,
        ),
        ("analyticWorks(filter: { year: 2025 })", 0),
        (r#"contributions(filter: { donor: "DE-1" })"#, 1),
        ("contributions(filter: { year: 2026 })", 1),
        ("contributions(filter: { fund: SPECIAL_PURPOSE })", 1),
        ("contributions(filter: { status: PLEDGED })", 1),
        ("contributions(filter: { status: PAID, year: 2025 })", 0),
        ("coordinationMechanisms(filter: { level: NATIONAL })", 1),
        (
            r#"coordinationMechanisms(filter: { member: "GB-GOV-1" })"#,
            2,
        ),
        (r#"coordinationMechanisms(filter: { member: "DE-1" })"#, 1),
        (r#"coordinationMechanisms(filter: { country: "TZ" })"#, 1),
        (r#"coordinationMechanisms(filter: { country: "KE" })"#, 2),
    ] {
        assert_eq!(total(&app, field).await, expected, "{field}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn every_record_is_audited() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);
    let activity = published(&app, running("GB-GOV-1-KE-AUDIT", UK, "KE")).await;
    app.ok(
        &app.provider(UK),
        RECORD_EVALUATION,
        json!({ "input": evaluation(json!([activity]), "Audited review", "2026-10-01", true) }),
    )
    .await;
    app.ok(
        &coordinator,
        RECORD_MISSION,
        json!({ "input": joint_work("Audited mission", "KE", &[UK], None, "2026-03-01") }),
    )
    .await;
    app.ok(
        &coordinator,
        RECORD_CONTRIBUTION,
        json!({ "input": contribution(UK, "OTHER", None, "10.00", "USD", 2026, "PAID") }),
    )
    .await;
    let mechanism = app
        .ok(
            &coordinator,
            CREATE_MECHANISM,
            json!({ "input": { "name": "Audited group", "level": "NATIONAL", "countries": ["KE"] } }),
        )
        .await["createCoordinationMechanism"]["id"]
        .clone();
    app.ok(
        &coordinator,
        LINK,
        json!({ "m": mechanism, "a": [activity] }),
    )
    .await;
    app.ok(
        &app.admin(),
        LOAD_RATES,
        json!({ "csv": "EUR,2026-01,0.9" }),
    )
    .await;
    // The whole trail, in order: who did what to which record, on whose behalf, and whether
    // the entry holds the record's digest before and after (the digests themselves and the
    // times are masked).
    let db = app.store.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT entity, entity_id, action, actor, actor_role, on_behalf_of, before_digest, \
             after_digest FROM audit_entries ORDER BY id",
        ))
        .await
        .unwrap_or_default();
    let text = |r: &sea_orm::QueryResult, column: &str| {
        r.try_get::<Option<String>>("", column).ok().flatten()
    };
    let trail: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "entity": text(r, "entity"),
                "entityId": r.try_get::<i64>("", "entity_id").ok(),
                "action": text(r, "action"),
                "actor": text(r, "actor"),
                "actorRole": text(r, "actor_role"),
                "onBehalfOf": text(r, "on_behalf_of"),
                "before": text(r, "before_digest").map(|_| "[digest]"),
                "after": text(r, "after_digest").map(|_| "[digest]"),
            })
        })
        .collect();
    insta::assert_json_snapshot!("audit_trail", trail);
    app.cleanup().await;
}

#[tokio::test]
async fn stale_links_can_be_removed_and_draft_evaluations_stay_with_their_owner() {
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);
    let uk = app.provider(UK);

    // A Kenya activity linked to a Kenya mechanism, then moved to Tanzania: the link is stale,
    // a new link is refused, and removing the stale one still works.
    let id = published(&app, running("GB-GOV-1-KE-MOVE", UK, "KE")).await;
    let mechanism = app
        .ok(
            &coordinator,
            CREATE_MECHANISM,
            json!({ "input": { "name": "Kenya group", "level": "NATIONAL", "countries": ["KE"] } }),
        )
        .await["createCoordinationMechanism"]["id"]
        .clone();
    app.ok(&uk, LINK, json!({ "m": mechanism, "a": [id] }))
        .await;
    let current = app
        .ok(
            &uk,
            "query($id: ID!) { activity(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    app.ok(
        &uk,
        "mutation($id: ID!, $v: Int!, $input: ActivityInput!) {
           updateActivity(id: $id, expectedVersion: $v, input: $input) { version } }",
        json!({ "id": id, "v": current["activity"]["version"],
            "input": running("GB-GOV-1-KE-MOVE", UK, "TZ") }),
    )
    .await;
    let refused = app
        .gql(&uk, LINK, json!({ "m": mechanism, "a": [id] }))
        .await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    let unlinked = app
        .ok(&uk, UNLINK, json!({ "m": mechanism, "a": [id] }))
        .await;
    assert_eq!(
        unlinked["unlinkFromMechanism"]["activities"],
        json!([]),
        "{unlinked}"
    );

    // The UK evaluates its own draft: the UK sees the evaluation; a viewer or recipient whose
    // token happens to carry the UK's `org` claim does not.
    let draft = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": running("GB-GOV-1-KE-DRAFT", UK, "KE") }),
        )
        .await["createActivity"]["id"]
        .clone();
    app.ok(
        &uk,
        RECORD_EVALUATION,
        json!({ "input": evaluation(json!([draft]), "Draft review", "2026-10-01", false) }),
    )
    .await;
    let count = |token: String| {
        let app = &app;
        async move {
            app.ok(&token, "{ evaluations { totalCount } }", json!({}))
                .await["evaluations"]["totalCount"]
                .clone()
        }
    };
    assert_eq!(count(uk.clone()).await, 1);
    assert_eq!(count(coordinator.clone()).await, 1);
    assert_eq!(count(app.token(Role::Viewer, Some(UK), None)).await, 0);
    assert_eq!(
        count(app.token(Role::Recipient, Some(UK), Some("KE"))).await,
        0
    );
    assert_eq!(count(app.provider(DE)).await, 0);
    app.cleanup().await;
}
