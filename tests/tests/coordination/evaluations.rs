//! Evaluations: who records them, search, and the lessons that come back.

use super::*;

#[tokio::test]
async fn providers_record_evaluations_only_of_their_own_activities() {
    let app = registry().await;
    let uk_activity = published(&app, running("GB-GOV-1-KE-EVAL", UK, "KE")).await;
    let de_activity = published(&app, running("DE-1-KE-EVAL", DE, "KE")).await;
    let uk = app.provider(UK);

    let mut input = evaluation(
        json!([uk_activity]),
        "Mutual legal assistance training: final evaluation",
        "2026-06-30",
        true,
    );
    input["ratings"] = json!({ "relevance": "HIGHLY_SATISFACTORY", "effectiveness": "SATISFACTORY",
        "sustainability": "UNSATISFACTORY" });
    input["whatWorked"] = json!("Mentoring after the workshops");
    input["whatDidNotWork"] = json!("Turnover among trained prosecutors");
    input["link"] = json!("https://evaluations.example.org/gb-ke-mla.pdf");
    let recorded = app
        .ok(&uk, RECORD_EVALUATION, json!({ "input": input }))
        .await["recordEvaluation"]
        .clone();
    assert_eq!(
        recorded["title"],
        "Mutual legal assistance training: final evaluation"
    );
    assert_eq!(recorded["evaluator"], "Particip GmbH");
    assert_eq!(recorded["date"], "2026-06-30");
    assert_eq!(recorded["independent"], true);
    assert_eq!(
        recorded["ratings"],
        json!({ "relevance": "HIGHLY_SATISFACTORY", "coherence": null, "effectiveness": "SATISFACTORY",
                "efficiency": null, "impact": null, "sustainability": "UNSATISFACTORY" })
    );
    assert_eq!(recorded["whatWorked"], "Mentoring after the workshops");
    assert_eq!(
        recorded["whatDidNotWork"],
        "Turnover among trained prosecutors"
    );
    assert_eq!(
        recorded["link"],
        "https://evaluations.example.org/gb-ke-mla.pdf"
    );
    assert_eq!(
        recorded["activities"],
        json!([{ "iatiIdentifier": "GB-GOV-1-KE-EVAL" }])
    );
    assert!(
        recorded["recordedBy"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{recorded:#}"
    );
    // It reads back through the activity.
    let read = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "query($id: ID!) { activity(id: $id) { evaluations { id } } }",
            json!({ "id": uk_activity }),
        )
        .await;
    assert_eq!(
        read["activity"]["evaluations"],
        json!([{ "id": recorded["id"] }])
    );
    assert_eq!(evaluation_count(&app).await, 1);

    // Another provider's activity, alone or beside one's own; and roles that record none.
    for (who, token, ids) in [
        (
            "the UK, of Germany's activity",
            uk.clone(),
            json!([de_activity]),
        ),
        (
            "the UK, of its own and Germany's",
            uk.clone(),
            json!([uk_activity, de_activity]),
        ),
        (
            "a viewer",
            app.token(Role::Viewer, None, None),
            json!([uk_activity]),
        ),
        ("a recipient", app.recipient("KE"), json!([uk_activity])),
        (
            "a coordinator",
            app.token(Role::Coordinator, None, None),
            json!([uk_activity]),
        ),
    ] {
        let body = app
            .gql(
                &token,
                RECORD_EVALUATION,
                json!({ "input": evaluation(ids, "Not allowed", "2026-06-30", false) }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{who}: {body}");
    }
    assert_eq!(evaluation_count(&app).await, 1, "nothing stored");

    // An activity that does not exist.
    let body = app
        .gql(
            &uk,
            RECORD_EVALUATION,
            json!({ "input": evaluation(json!([UNKNOWN_ACTIVITY]), "Ghost", "2026-06-30", false) }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");

    // Bad input names its fields: an empty title and a link that is no http(s) URL …
    let mut bad = evaluation(json!([uk_activity]), "", "2026-06-30", false);
    bad["link"] = json!("ftp://evaluations.example.org/report.pdf");
    let body = app
        .gql(&uk, RECORD_EVALUATION, json!({ "input": bad }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let fields = violation_fields(&body);
    for field in ["title", "link"] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing in {fields:?}"
        );
    }
    // … an empty evaluator …
    let mut bad = evaluation(json!([uk_activity]), "Review", "2026-06-30", false);
    bad["evaluator"] = json!("");
    let body = app
        .gql(&uk, RECORD_EVALUATION, json!({ "input": bad }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        violation_fields(&body).iter().any(|f| f == "evaluator"),
        "{body}"
    );
    // … and no activity at all.
    let body = app
        .gql(
            &uk,
            RECORD_EVALUATION,
            json!({ "input": evaluation(json!([]), "Review", "2026-06-30", false) }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        violation_fields(&body).iter().any(|f| f == "activityIds"),
        "{body}"
    );
    assert_eq!(evaluation_count(&app).await, 1, "nothing stored");

    // An administrator may record an evaluation of any activity.
    app.ok(
        &app.admin(),
        RECORD_EVALUATION,
        json!({ "input": evaluation(json!([de_activity]), "Portfolio review", "2026-07-15", true) }),
    )
    .await;
    assert_eq!(evaluation_count(&app).await, 2);
    app.cleanup().await;
}

/// An activity with `provisions` under `area`.
fn topical(identifier: &str, org: &str, country: &str, provisions: &[&str], area: &str) -> Value {
    let mut input = running(identifier, org, country);
    input["provisions"] = json!(provisions);
    input["priorityAreas"] = json!([area]);
    input
}

async fn evaluation_titles(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "query($f: EvaluationFilter) { evaluations(filter: $f) { totalCount edges { node { title } } } }",
            json!({ "f": filter }),
        )
        .await;
    let mut titles: Vec<String> = data["evaluations"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| id_of(&e["node"]["title"]))
        .collect();
    assert_eq!(data["evaluations"]["totalCount"], titles.len(), "{data:#}");
    titles.sort();
    titles
}

#[tokio::test]
async fn evaluations_are_searchable_and_lessons_come_back_on_registering_and_dry_run() {
    let app = registry().await;
    const E1: &str = "Mutual legal assistance training: final evaluation";
    const E2: &str = "Victim shelters: review of the first year";
    const E3: &str = "Extradition casework mentoring: mid-term evaluation";

    let u1 = published(
        &app,
        topical("GB-GOV-1-KE-MLA", UK, "KE", &["UNTOC-18"], IC),
    )
    .await;
    let d1 = published(
        &app,
        topical(
            "DE-1-TZ-TIP",
            DE,
            "TZ",
            &["TIP-6"],
            "PROTOCOLS_IMPLEMENTATION",
        ),
    )
    .await;
    let o1 = published(
        &app,
        topical(
            "XM-DAC-41128-TZ-EXT",
            UNODC,
            "TZ",
            &["UNTOC-18", "UNTOC-16"],
            IC,
        ),
    )
    .await;
    // Recorded in date order, so "newest first" is the same by date and by recording.
    let e1 = app
        .ok(
            &app.provider(UK),
            RECORD_EVALUATION,
            json!({ "input": evaluation(json!([u1]), E1, "2026-03-01", true) }),
        )
        .await["recordEvaluation"]["id"]
        .clone();
    app.ok(
        &app.provider(DE),
        RECORD_EVALUATION,
        json!({ "input": evaluation(json!([d1]), E2, "2026-04-15", false) }),
    )
    .await;
    let e3 = app
        .ok(
            &app.provider(UNODC),
            RECORD_EVALUATION,
            json!({ "input": evaluation(json!([o1]), E3, "2026-09-01", true) }),
        )
        .await["recordEvaluation"]["id"]
        .clone();

    // Filters (titles sorted: E3 "Extradition…" < E1 "Mutual…" < E2 "Victim…").
    for (filter, expected) in [
        (json!({}), vec![E3, E1, E2]),
        (json!({ "provision": "UNTOC-18" }), vec![E3, E1]),
        (json!({ "provision": "TIP-6" }), vec![E2]),
        (json!({ "priorityArea": IC }), vec![E3, E1]),
        (
            json!({ "priorityArea": "PROTOCOLS_IMPLEMENTATION" }),
            vec![E2],
        ),
        (json!({ "country": "KE" }), vec![E1]),
        (json!({ "country": "TZ" }), vec![E3, E2]),
        (json!({ "text": "shelters" }), vec![E2]),
        (json!({ "text": "evaluation" }), vec![E3, E1]),
        (json!({ "independent": false }), vec![E2]),
        (json!({ "activityId": u1 }), vec![E1]),
        (
            json!({ "provision": "UNTOC-18", "country": "TZ" }),
            vec![E3],
        ),
    ] {
        assert_eq!(
            evaluation_titles(&app, filter.clone()).await,
            expected,
            "filter {filter}"
        );
    }

    // A dry run for a planned activity on UNTOC-18 (in Kenya; lessons do not depend on the
    // country) returns E3 and E1, newest first; not E2 (TIP-6).
    let planned = topical("DE-1-KE-MLA", DE, "KE", &["UNTOC-18"], IC);
    let check = app
        .ok(
            &app.provider(DE),
            "query($input: ActivityInput!) { checkOverlap(input: $input) { lessons { id title } } }",
            json!({ "input": planned }),
        )
        .await;
    assert_eq!(
        pluck(&check["checkOverlap"]["lessons"], "title"),
        [E3, E1],
        "{check:#}"
    );
    let check = app
        .ok(
            &app.provider(DE),
            "query($input: ActivityInput!) { checkOverlap(input: $input) { lessons { title } } }",
            json!({ "input": topical("DE-1-KE-TIP", DE, "KE", &["TIP-6"], "PROTOCOLS_IMPLEMENTATION") }),
        )
        .await;
    assert_eq!(pluck(&check["checkOverlap"]["lessons"], "title"), [E2]);

    // Registering it returns the same lessons.
    let created = app
        .ok(
            &app.provider(DE),
            "mutation($input: ActivityInput!) { createActivity(input: $input) { id lessons { id } } }",
            json!({ "input": planned }),
        )
        .await;
    assert_eq!(
        created["createActivity"]["lessons"],
        json!([{ "id": e3 }, { "id": e1 }])
    );

    // No shared provision, no lessons — in a dry run or on registering.
    let unrelated = topical(
        "DE-1-KE-SOM",
        DE,
        "KE",
        &["SOM-6"],
        "PROTOCOLS_IMPLEMENTATION",
    );
    let check = app
        .ok(
            &app.provider(DE),
            "query($input: ActivityInput!) { checkOverlap(input: $input) { lessons { id } } }",
            json!({ "input": unrelated }),
        )
        .await;
    assert_eq!(check["checkOverlap"]["lessons"], json!([]));
    let created = app
        .ok(
            &app.provider(DE),
            "mutation($input: ActivityInput!) { createActivity(input: $input) { lessons { id } } }",
            json!({ "input": unrelated }),
        )
        .await;
    assert_eq!(created["createActivity"]["lessons"], json!([]));

    // An activity's lessons leave out its own evaluations: U1 learns from E3 only.
    let read = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "query($id: ID!) { activity(id: $id) { evaluations { id } lessons { id } } }",
            json!({ "id": u1 }),
        )
        .await;
    assert_eq!(read["activity"]["evaluations"], json!([{ "id": e1 }]));
    assert_eq!(read["activity"]["lessons"], json!([{ "id": e3 }]));

    // A list asks for every activity's evaluations and lessons at once, with the same answers.
    let list = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "{ activities { nodes { id evaluations { id } lessons { id } } } }",
            json!({}),
        )
        .await;
    let by_id = |id: &str| {
        list["activities"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_id(&u1)["lessons"], json!([{ "id": e3 }]));
    assert_eq!(by_id(&u1)["evaluations"], json!([{ "id": e1 }]));
    assert_eq!(by_id(&d1)["lessons"], json!([]));
    assert_eq!(by_id(&o1)["lessons"], json!([{ "id": e1 }]));
    assert_eq!(by_id(&o1)["evaluations"], json!([{ "id": e3 }]));
    app.cleanup().await;
}
