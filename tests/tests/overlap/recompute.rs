//! The full recomputation and the upgrades of the flag tables.

use super::*;

/// Every stored flag: pair, score, class, reasons and input hash, in pair order.
async fn stored_flags(app: &TestApp) -> Vec<(i64, i64, i32, String, String, String)> {
    use aidgraph_persistence::entities::overlap_flag::{Column, Entity};
    use sea_orm::{EntityTrait, QueryOrder};
    Entity::find()
        .order_by_asc(Column::ActivityAId)
        .order_by_asc(Column::ActivityBId)
        .all(app.store.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|f| {
            (
                f.activity_a_id,
                f.activity_b_id,
                f.score,
                f.class,
                f.components,
                f.input_hash,
            )
        })
        .collect()
}

async fn recompute_all(app: &TestApp) -> aidgraph_registry::recompute::RecomputeSummary {
    aidgraph_registry::recompute::recompute(&app.store, None, |_: &str, _: u64, _: u64| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The full recomputation scores pairs its own way (packed features, numbered terms, every
/// core, flags written in bulk while scoring goes on): on a registry built through writes it
/// keeps every flag, settles, rebuilds the same flags from nothing, and leaves later writes
/// room for theirs.
#[tokio::test]
async fn a_full_recomputation_keeps_settles_and_rebuilds_the_flags() {
    let app = TestApp::spawn().await;
    aidgraph::bench_data::ensure_providers(&app.store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut generator = aidgraph::bench_data::Generator::new(5);
    let mut identifiers: Vec<String> = Vec::new();
    let mut generated = Vec::new();
    for k in 0..160 {
        let identifier = format!("XM-BENCH-T-{k:04}");
        let data = generator
            .activity(&identifier, &identifiers)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut input = aidgraph::bench_data::activity_input(&data);
        // Two neighbours, so that many pairs are candidates, some in both countries.
        let countries: &[&str] = match k % 6 {
            0 => &["KE", "TZ"],
            1 => &["TZ"],
            _ => &["KE"],
        };
        input["recipientCountries"] = countries.iter().map(|c| json!({ "code": c })).collect();
        app.ok(
            &app.provider(&data.reporting_org),
            UPSERT,
            json!({ "input": input }),
        )
        .await;
        identifiers.push(identifier);
        generated.push((data.reporting_org.clone(), input));
    }
    let written = stored_flags(&app).await;
    assert!(written.len() >= 100, "only {} flags", written.len());

    // Flags raised early were scored against a smaller corpus (the text weights of DESIGN.md
    // §4 move as activities arrive), so the first recomputation may rescore some; it keeps
    // every pair that still overlaps. A second one has nothing left to change.
    let first = recompute_all(&app).await;
    assert_eq!(first.removed, 0);
    let raised = stored_flags(&app).await;
    assert_eq!(first.flags, raised.len());
    let summary = recompute_all(&app).await;
    assert_eq!(
        (
            summary.flags,
            summary.added,
            summary.changed,
            summary.removed
        ),
        (raised.len(), 0, 0, 0)
    );
    assert!(summary.pairs_past_bound <= summary.pairs_scored);

    // With every flag gone, the same flags come back.
    {
        use aidgraph_persistence::entities::{overlap_flag, overlap_flag_country};
        use sea_orm::EntityTrait;
        overlap_flag_country::Entity::delete_many()
            .exec(app.store.db())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        overlap_flag::Entity::delete_many()
            .exec(app.store.db())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let summary = recompute_all(&app).await;
    assert_eq!((summary.added, summary.removed), (raised.len(), 0));
    assert_eq!(stored_flags(&app).await, raised);
    let listed = flags(&app).await;
    assert_eq!(listed["totalCount"], raised.len());
    assert!(
        listed["edges"][0]["node"]["countries"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{listed:#}"
    );

    // A write after it raises flags with ids of their own, which a recomputation keeps.
    let (org, original) = &generated[2];
    let mut copy = original.clone();
    copy["iatiIdentifier"] = json!("XM-BENCH-T-COPY");
    app.ok(&app.provider(org), UPSERT, json!({ "input": copy }))
        .await;
    let with_copy = stored_flags(&app).await;
    assert!(
        with_copy.len() > raised.len(),
        "the copy overlaps its original"
    );
    // The copy moved the corpus, so other pairs' text weights may be rescored.
    let summary = recompute_all(&app).await;
    assert_eq!(
        (summary.flags, summary.added, summary.removed),
        (with_copy.len(), 0, 0)
    );
    // The write stored the copy's flags as the recomputation stores them, to the byte.
    let after = stored_flags(&app).await;
    let raised_by_copy: Vec<_> = with_copy.iter().filter(|f| !raised.contains(f)).collect();
    assert!(!raised_by_copy.is_empty());
    for flag in raised_by_copy {
        assert!(after.contains(flag), "recomputed differently: {flag:?}");
    }
    app.cleanup().await;
}

/// Upgrading past the migration that drops the flags' foreign keys (SQLite rebuilds the
/// tables) keeps every flag with its id, countries and review, and later flags take new ids.
#[tokio::test]
async fn upgrading_the_flag_tables_keeps_flags_and_their_reviews() {
    let (app, id) = flagged_pair().await;
    app.ok(
        &app.provider(DE),
        "mutation($id: ID!) { reviewOverlapFlag(id: $id, status: DISMISSED, note: \"Different cohorts\") { status } }",
        json!({ "id": id }),
    )
    .await;

    // Back to the tables with foreign keys, and forward again.
    redo_last_migration(&app).await;

    let kenya =
        "{ overlapFlags(filter: { country: \"KE\" }) { edges { node { id status note score } } } }";
    let kept = app.ok(&app.admin(), kenya, json!({})).await;
    let flag = &kept["overlapFlags"]["edges"][0]["node"];
    assert_eq!(
        (&flag["id"], &flag["status"], &flag["note"], &flag["score"]),
        (
            &id,
            &json!("DISMISSED"),
            &json!("Different cohorts"),
            &json!(74)
        ),
        "{kept:#}"
    );

    // A third provider's training raises two new flags beside the first.
    let ngo = training("XM-DEMO-NGO-KE-MLA", NGO, UNODC, TITLE_A);
    app.ok(&app.provider(NGO), UPSERT, json!({ "input": ngo }))
        .await;
    let all = app.ok(&app.admin(), kenya, json!({})).await;
    let ids: Vec<&Value> = all["overlapFlags"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"]["id"])
        .collect();
    assert_eq!(ids.len(), 3, "{all:#}");
    assert_eq!(ids.iter().filter(|i| **i == &id).count(), 1, "{all:#}");
    app.cleanup().await;
}

/// The same upgrade when every flag was removed since the last was raised: ids once given are
/// not given again.
#[tokio::test]
async fn upgrading_with_no_flags_left_keeps_their_ids_spent() {
    let (app, first) = flagged_pair().await;

    // Years apart, the pair no longer overlaps and its flag goes.
    let mut later = de_training();
    later["plannedStart"] = json!("2029-01-01");
    later["plannedEnd"] = json!("2029-12-31");
    app.ok(&app.provider(DE), UPSERT, json!({ "input": later }))
        .await;
    assert_eq!(flags(&app).await["totalCount"], 0);

    redo_last_migration(&app).await;

    app.ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await;
    let again = flags(&app).await;
    assert_eq!(again["totalCount"], 1, "{again:#}");
    assert_ne!(again["edges"][0]["node"]["id"], first, "{again:#}");
    app.cleanup().await;
}
