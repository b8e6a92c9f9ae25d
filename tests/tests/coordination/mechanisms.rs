//! Mechanisms link activities and needs in their countries.

use super::*;

async fn mechanism_links(app: &TestApp, level: &str) -> (Vec<String>, Vec<String>) {
    let query = format!(
        "{{ coordinationMechanisms(filter: {{ level: {level} }}) {{ edges {{ node {{
            activities {{ iatiIdentifier }} needs {{ id }} }} }} }} }}"
    );
    let data = app
        .ok(&app.token(Role::Coordinator, None, None), &query, json!({}))
        .await;
    let node = &data["coordinationMechanisms"]["edges"][0]["node"];
    let mut activities = pluck(&node["activities"], "iatiIdentifier");
    activities.sort();
    (activities, pluck(&node["needs"], "id"))
}

async fn activity_mechanisms(app: &TestApp, id: &str) -> Vec<String> {
    pluck(
        &app.ok(
            &app.token(Role::Viewer, None, None),
            "query($id: ID!) { activity(id: $id) { coordinatedBy { name } } }",
            json!({ "id": id }),
        )
        .await["activity"]["coordinatedBy"],
        "name",
    )
}

async fn need_mechanisms(app: &TestApp, id: &str) -> Vec<String> {
    pluck(
        &app.ok(
            &app.token(Role::Viewer, None, None),
            "query($id: ID!) { need(id: $id) { coordinatedBy { name } } }",
            json!({ "id": id }),
        )
        .await["need"]["coordinatedBy"],
        "name",
    )
}

#[tokio::test]
async fn mechanisms_link_activities_and_needs_in_their_countries() {
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);
    let uk = app.provider(UK);
    const KENYA_GROUP: &str = "Kenya organised crime donor group";
    const GLOBAL_GROUP: &str = "Global programme steering";

    let ke_needs = publish_analysis(
        &app,
        "KE",
        json!([{ "title": "Central authority for mutual legal assistance", "priorityArea": IC }]),
    )
    .await;
    let need = ke_needs.first().cloned().unwrap_or_default();
    let uk_kenya = published(&app, running("GB-GOV-1-KE-1", UK, "KE")).await;
    let uk_tanzania = published(&app, running("GB-GOV-1-TZ-1", UK, "TZ")).await;
    let de_kenya = published(&app, running("DE-1-KE-1", DE, "KE")).await;
    let de_kenya_2 = published(&app, running("DE-1-KE-2", DE, "KE")).await;

    let kenya_group = app
        .ok(
            &coordinator,
            CREATE_MECHANISM,
            json!({ "input": { "name": KENYA_GROUP, "level": "NATIONAL", "countries": ["KE"],
                "members": [UK, DE], "chair": DE } }),
        )
        .await["createCoordinationMechanism"]["id"]
        .clone();
    let global_group = app
        .ok(
            &coordinator,
            CREATE_MECHANISM,
            json!({ "input": { "name": GLOBAL_GROUP, "level": "MULTILATERAL", "members": [UK] } }),
        )
        .await["createCoordinationMechanism"]["id"]
        .clone();

    // A coordinator links Germany's activity; the UK links its own.
    app.ok(
        &coordinator,
        LINK,
        json!({ "m": kenya_group, "a": [de_kenya] }),
    )
    .await;
    let linked = app
        .ok(&uk, LINK, json!({ "m": kenya_group, "a": [uk_kenya] }))
        .await;
    let mut listed = pluck(&linked["linkToMechanism"]["activities"], "iatiIdentifier");
    listed.sort();
    assert_eq!(listed, ["DE-1-KE-1", "GB-GOV-1-KE-1"]);

    // Kenya links its need.
    let linked = app
        .ok(
            &app.recipient("KE"),
            LINK,
            json!({ "m": kenya_group, "n": [need] }),
        )
        .await;
    assert_eq!(linked["linkToMechanism"]["needs"], json!([{ "id": need }]));

    // Refused: another provider's activity, a viewer, another country's recipient, a
    // provider linking a need.
    for (who, token, activity_ids, need_ids) in [
        (
            "the UK, Germany's activity",
            uk.clone(),
            json!([de_kenya_2]),
            Value::Null,
        ),
        (
            "a viewer",
            app.token(Role::Viewer, None, None),
            json!([uk_kenya]),
            Value::Null,
        ),
        (
            "Tanzania, Kenya's need",
            app.recipient("TZ"),
            Value::Null,
            json!([need]),
        ),
        ("the UK, a need", uk.clone(), Value::Null, json!([need])),
    ] {
        let body = app
            .gql(
                &token,
                LINK,
                json!({ "m": kenya_group, "a": activity_ids, "n": need_ids }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{who}: {body}");
    }
    // An activity outside the mechanism's countries.
    let body = app
        .gql(
            &coordinator,
            LINK,
            json!({ "m": kenya_group, "a": [uk_tanzania] }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        violation_fields(&body)
            .iter()
            .any(|f| f.starts_with("activityIds")),
        "{body}"
    );
    assert_eq!(
        mechanism_links(&app, "NATIONAL").await,
        (
            vec!["DE-1-KE-1".to_owned(), "GB-GOV-1-KE-1".to_owned()],
            vec![need.clone()]
        ),
        "refusals change nothing"
    );
    // A mechanism without countries takes activities anywhere.
    app.ok(&uk, LINK, json!({ "m": global_group, "a": [uk_tanzania] }))
        .await;

    // Both sides show the links.
    assert_eq!(activity_mechanisms(&app, &uk_kenya).await, [KENYA_GROUP]);
    assert_eq!(activity_mechanisms(&app, &de_kenya).await, [KENYA_GROUP]);
    assert_eq!(
        activity_mechanisms(&app, &uk_tanzania).await,
        [GLOBAL_GROUP]
    );
    assert!(activity_mechanisms(&app, &de_kenya_2).await.is_empty());
    assert_eq!(need_mechanisms(&app, &need).await, [KENYA_GROUP]);

    // Unlinking: not another provider's activity; one's own, and the recipient's need.
    let body = app
        .gql(&uk, UNLINK, json!({ "m": kenya_group, "a": [de_kenya] }))
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    app.ok(&uk, UNLINK, json!({ "m": kenya_group, "a": [uk_kenya] }))
        .await;
    let unlinked = app
        .ok(
            &app.recipient("KE"),
            UNLINK,
            json!({ "m": kenya_group, "n": [need] }),
        )
        .await;
    assert_eq!(unlinked["unlinkFromMechanism"]["needs"], json!([]));
    assert_eq!(
        mechanism_links(&app, "NATIONAL").await,
        (vec!["DE-1-KE-1".to_owned()], vec![])
    );
    assert!(activity_mechanisms(&app, &uk_kenya).await.is_empty());
    assert_eq!(activity_mechanisms(&app, &de_kenya).await, [KENYA_GROUP]);
    assert!(need_mechanisms(&app, &need).await.is_empty());
    app.cleanup().await;
}
