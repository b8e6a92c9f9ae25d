//! An activity's life: stale versions, upserts, pagination, drafts and the audit trail.

use super::*;

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    let app = registry().await;
    let uk = app.provider(UK);
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-V", UK, "KE") }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();
    let mut input = activity_input("GB-V", UK, "KE");
    input["titles"] = json!([{ "lang": "en", "text": "Second title" }]);
    let updated = app
        .ok(
            &uk,
            UPDATE_ACTIVITY,
            json!({ "id": id, "v": 1, "input": input }),
        )
        .await;
    assert_eq!(updated["updateActivity"]["version"], 2);

    input["titles"] = json!([{ "lang": "en", "text": "Lost update" }]);
    let body = app
        .gql(
            &uk,
            UPDATE_ACTIVITY,
            json!({ "id": id, "v": 1, "input": input }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    let body = app
        .gql(
            &uk,
            "mutation($id: ID!) { publishActivity(id: $id, expectedVersion: 1) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    let read = app
        .ok(
            &uk,
            "query($id: ID!) { activity(id: $id) { title version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["activity"],
        json!({ "title": "Second title", "version": 2 })
    );

    // A second activity with the same identifier is a conflict too.
    let body = app
        .gql(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-V", UK, "KE") }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    app.cleanup().await;
}

#[tokio::test]
async fn upserting_the_same_identifier_twice_leaves_one_activity() {
    let app = registry().await;
    let uk = app.provider(UK);
    let upsert = "mutation($input: ActivityInput!) { upsertActivity(input: $input, publish: true) {
        id version title } }";
    let first = app
        .ok(
            &uk,
            upsert,
            json!({ "input": activity_input("GB-SYNC-1", UK, "KE") }),
        )
        .await;
    let second = app
        .ok(
            &uk,
            upsert,
            json!({ "input": activity_input("GB-SYNC-1", UK, "KE") }),
        )
        .await;
    assert_eq!(
        first["upsertActivity"]["id"],
        second["upsertActivity"]["id"]
    );
    assert_eq!(
        second["upsertActivity"]["version"], 1,
        "an identical upsert writes nothing"
    );

    let mut changed = activity_input("GB-SYNC-1", UK, "KE");
    changed["titles"] = json!([{ "lang": "en", "text": "Renamed by the donor system" }]);
    let third = app.ok(&uk, upsert, json!({ "input": changed })).await;
    assert_eq!(third["upsertActivity"]["id"], first["upsertActivity"]["id"]);
    assert_eq!(third["upsertActivity"]["version"], 2);
    assert_eq!(activity_count(&app).await, 1);

    // Another provider cannot take the identifier over.
    let mut hijack = activity_input("GB-SYNC-1", DE, "KE");
    hijack["reportingOrg"] = json!(DE);
    let body = app
        .gql(&app.provider(DE), upsert, json!({ "input": hijack }))
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    assert_eq!(activity_count(&app).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn pagination_walks_250_activities_without_gaps_or_repeats() {
    let app = registry().await;
    let uk = app.provider(UK);
    for i in 0..250 {
        let mut input = activity_input(&format!("GB-PAGE-{i:03}"), UK, "KE");
        // Spread start dates, with ties, to exercise the (start, id) ordering.
        input["plannedStart"] = json!(format!("2026-{:02}-01", 1 + (i * 7) % 12));
        app.ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": input, "publish": true }),
        )
        .await;
    }
    let viewer = app.token(Role::Viewer, None, None);
    for order in [
        "CREATED_ASC",
        "CREATED_DESC",
        "PLANNED_START_ASC",
        "PLANNED_START_DESC",
    ] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = app
                .ok(
                    &viewer,
                    "query($after: String, $order: ActivityOrder) {
                        activities(first: 100, after: $after, orderBy: $order) {
                            totalCount pageInfo { hasNextPage endCursor }
                            edges { node { iatiIdentifier plannedStart } } } }",
                    json!({ "after": after, "order": order }),
                )
                .await;
            let page = &data["activities"];
            assert_eq!(page["totalCount"], 250);
            for edge in page["edges"].as_array().into_iter().flatten() {
                seen.push((
                    edge["node"]["plannedStart"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    edge["node"]["iatiIdentifier"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen.len(), 250, "{order}");
        let mut unique: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 250, "{order}: repeats");
        if order.starts_with("PLANNED_START") {
            let dates: Vec<&String> = seen.iter().map(|(d, _)| d).collect();
            let mut sorted = dates.clone();
            sorted.sort();
            if order.ends_with("DESC") {
                sorted.reverse();
            }
            assert_eq!(dates, sorted, "{order}: out of order");
        }
    }
    let body = app
        .gql(
            &viewer,
            "{ activities(first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(violation_fields(&body), vec!["first"]);
    app.cleanup().await;
}

#[tokio::test]
async fn drafts_are_visible_to_their_owner_and_coordinators_only() {
    let app = registry().await;
    let uk = app.provider(UK);
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-DRAFT", UK, "KE") }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();
    assert_eq!(created["createActivity"]["publication"], "DRAFT");
    let read = "query($id: ID!) { activity(id: $id) { id } activities { totalCount } }";
    for (token, visible) in [
        (uk.clone(), true),
        (app.token(Role::Coordinator, None, None), true),
        (app.provider(DE), false),
        (app.token(Role::Viewer, None, None), false),
        (app.recipient("KE"), false),
    ] {
        let data = app.ok(&token, read, json!({ "id": id })).await;
        assert_eq!(data["activity"].is_object(), visible, "{data}");
        assert_eq!(data["activities"]["totalCount"], i32::from(visible));
    }
    // Publishing makes it visible; withdrawing hides it again.
    app.ok(
        &uk,
        "mutation($id: ID!) { publishActivity(id: $id, expectedVersion: 1) { version } }",
        json!({ "id": id }),
    )
    .await;
    let viewer = app.token(Role::Viewer, None, None);
    assert!(app.ok(&viewer, read, json!({ "id": id })).await["activity"].is_object());
    app.ok(
        &uk,
        "mutation($id: ID!) { withdrawActivity(id: $id, expectedVersion: 2) { version } }",
        json!({ "id": id }),
    )
    .await;
    assert!(app.ok(&viewer, read, json!({ "id": id })).await["activity"].is_null());
    app.cleanup().await;
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_entry() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = registry().await;
    kenya_needs(&app).await;
    let uk = app.provider(UK);
    app.ok(
        &uk,
        CREATE_ACTIVITY,
        json!({ "input": activity_input("GB-A", UK, "KE") }),
    )
    .await;
    let entries = aidgraph_persistence::entities::audit_entry::Entity::find()
        .all(app.store.db())
        .await
        .unwrap_or_default();
    // 3 organisations, 1 analysis created and published, 1 activity.
    assert_eq!(entries.len(), 6, "{entries:#?}");
    let activity = entries.iter().find(|e| e.entity == "activity");
    assert_eq!(activity.map(|e| e.actor_role.as_str()), Some("PROVIDER"));
    assert!(activity.is_some_and(|e| e.after_digest.is_some() && e.before_digest.is_none()));
    // A refused mutation leaves none.
    app.gql(
        &app.provider(DE),
        CREATE_ACTIVITY,
        json!({ "input": activity_input("GB-B", UK, "KE") }),
    )
    .await;
    let count = aidgraph_persistence::entities::audit_entry::Entity::find()
        .count(app.store.db())
        .await
        .unwrap_or_default();
    assert_eq!(count, 6);
    app.cleanup().await;
}

/// Regional activities are listed by their region, and a change of regions moves them: the
/// heatmap's regional rows open their activities this way.
#[tokio::test]
async fn activities_are_listed_by_recipient_region() {
    let app = registry().await;
    let uk = app.provider(UK);
    let mut regional = activity_input("GB-REGIONAL", UK, "KE");
    regional["recipientCountries"] = json!([]);
    regional["recipientRegions"] = json!([{ "code": "298", "percentage": "100" }]);
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": regional, "publish": true }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();
    app.ok(
        &uk,
        CREATE_ACTIVITY,
        json!({ "input": activity_input("GB-NATIONAL", UK, "KE"), "publish": true }),
    )
    .await;
    let by_region = |region: &'static str| {
        let app = &app;
        async move {
            let found = app
                .ok(
                    &app.token(Role::Viewer, None, None),
                    "query($r: String) { activities(filter: {recipientRegion: $r}) { nodes { iatiIdentifier } } }",
                    json!({ "r": region }),
                )
                .await;
            found["activities"]["nodes"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .map(|a| a["iatiIdentifier"].clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    assert_eq!(by_region("298").await, vec![json!("GB-REGIONAL")]);
    assert!(by_region("489").await.is_empty());

    // Moved to South America, it leaves Africa's list.
    let mut moved = activity_input("GB-REGIONAL", UK, "KE");
    moved["recipientCountries"] = json!([]);
    moved["recipientRegions"] = json!([{ "code": "489", "percentage": "100" }]);
    app.ok(
        &uk,
        UPDATE_ACTIVITY,
        json!({ "id": id, "v": created["createActivity"]["version"], "input": moved }),
    )
    .await;
    assert!(by_region("298").await.is_empty());
    assert_eq!(by_region("489").await, vec![json!("GB-REGIONAL")]);
    app.cleanup().await;
}
