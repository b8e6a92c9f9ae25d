//! The overlap engine end to end: explainable flags between providers, coordination, double
//! reporting, review decisions that stick, the dry run, needs coverage, and live events.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::{Subscription, TestApp, activity_input, error_code, kenya_need};
use serde_json::{Value, json};
use std::time::Duration;

mod recompute;

const UK: &str = "GB-GOV-1";
const DE: &str = "DE-1";
const UNODC: &str = "XM-DAC-41128";
const NGO: &str = "XM-DEMO-NGO";

const UPSERT: &str = "mutation($input: ActivityInput!) {
  upsertActivity(input: $input, publish: true) { id version } }";
const FLAGS: &str = "{ overlapFlags { totalCount edges { node {
  id score class status configVersion countries
  activityA { iatiIdentifier } activityB { iatiIdentifier }
  components { key value weight reason } } } } }";

async fn registry() -> TestApp {
    let app = TestApp::spawn().await;
    app.organisation(UK, "DONOR_STATE").await;
    app.organisation(DE, "DONOR_STATE").await;
    app.organisation(UNODC, "UNODC").await;
    app.organisation(NGO, "NGO").await;
    app
}

/// The worked example of DESIGN.md §4: two providers train the same prosecutors on UNTOC-18
/// in Kenya over the same year, with different implementers. With only these two activities
/// in the registry, their texts (3 shared terms, 4 of their own each) have a TF-IDF cosine of
/// 3 / (3 + 4·(ln 1.5 + 1)²) = 0.275, so M = (0.30 + 0.15 + 0.15·0.275 + 0.10 + 0) / 0.80
/// = 0.739 and the score rounds to 74.
fn training(identifier: &str, org: &str, implementer: &str, title: &str) -> Value {
    let mut input = activity_input(identifier, org, "KE");
    input["titles"] = json!([{ "lang": "en", "text": title }]);
    input["participatingOrgs"] = json!([
        { "ref": org, "role": "FUNDING" },
        { "ref": implementer, "role": "IMPLEMENTING" }
    ]);
    input["provisions"] = json!(["UNTOC-18"]);
    input["priorityAreas"] = json!(["INTERNATIONAL_COOPERATION"]);
    input["assistanceTypes"] = json!(["TRAINING"]);
    input["beneficiaryInstitutions"] = json!(["PROSECUTION"]);
    input
}

const TITLE_A: &str =
    "Mutual assistance for prosecutors: workshops, curriculum, mentoring and coaching";
const TITLE_B: &str =
    "Mutual assistance for prosecutors: extradition, casework, handbooks and simulations";

fn uk_training() -> Value {
    training("GB-1-KE-MLA", UK, UNODC, TITLE_A)
}

fn de_training() -> Value {
    training("DE-1-KE-MLA", DE, NGO, TITLE_B)
}

async fn flags(app: &TestApp) -> Value {
    app.ok(&app.admin(), FLAGS, json!({})).await["overlapFlags"].clone()
}

/// The registry with the worked-example pair registered, and the id of its flag.
async fn flagged_pair() -> (TestApp, Value) {
    let app = registry().await;
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk_training() }))
        .await;
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await;
    let id = flags(&app).await["edges"][0]["node"]["id"].clone();
    (app, id)
}

/// Reverts the newest migration and applies it again.
async fn redo_last_migration(app: &TestApp) {
    use aidgraph_migrations::MigratorTrait;
    // One connection for both steps, as an operator's migration run would use: a pooled
    // connection still reading from before the revert could see the old schema.
    let one = app
        .store
        .single_connection()
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    let db = one.db();
    aidgraph_migrations::Migrator::down(db, Some(1))
        .await
        .unwrap_or_else(|e| panic!("down: {e}"));
    aidgraph_migrations::Migrator::up(db, None)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    drop(one.close().await);
}

fn reasons(flag: &Value) -> Vec<String> {
    flag["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["reason"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn two_providers_training_the_same_prosecutors_get_a_flag_scored_74_with_reasons() {
    let app = registry().await;
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk_training() }))
        .await;
    assert_eq!(
        flags(&app).await["totalCount"],
        0,
        "one activity alone raises nothing"
    );
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await;

    let list = flags(&app).await;
    assert_eq!(list["totalCount"], 1);
    let flag = &list["edges"][0]["node"];
    assert_eq!(flag["score"], 74, "{flag:#}");
    assert_eq!(flag["class"], "LIKELY_DUPLICATION");
    assert_eq!(flag["status"], "OPEN");
    assert_eq!(flag["countries"], json!(["KE"]));
    // Every component with its value, weight and reason, as DESIGN.md §4 works them out.
    insta::assert_json_snapshot!("worked_example_flag", flag, { ".id" => "[flag id]" });
    assert!(
        reasons(flag).iter().any(|r| r == "Text similarity 0.28"),
        "{flag:#}"
    );
    // The same flag from either activity, and through filters.
    let by_activity = app
        .ok(
            &app.provider(UK),
            "{ activity(iatiIdentifier: \"GB-1-KE-MLA\") { overlaps { totalCount nodes { score class } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        by_activity["activity"]["overlaps"],
        json!({ "totalCount": 1, "nodes": [{ "score": 74, "class": "LIKELY_DUPLICATION" }] })
    );
    let filtered = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "{ ke: overlapFlags(filter: { country: \"KE\", provider: \"DE-1\", minScore: 70, class: [LIKELY_DUPLICATION] }) { totalCount }
               tz: overlapFlags(filter: { country: \"TZ\" }) { totalCount }
               high: overlapFlags(filter: { minScore: 75 }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        filtered,
        json!({ "ke": { "totalCount": 1 }, "tz": { "totalCount": 0 }, "high": { "totalCount": 0 } })
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_co_funded_pair_is_coordinated() {
    let app = registry().await;
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk_training() }))
        .await;
    let mut de = de_training();
    de["relatedActivities"] = json!([{ "iatiIdentifier": "GB-1-KE-MLA", "type": "CO_FUNDED" }]);
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de }))
        .await;
    let flag = &flags(&app).await["edges"][0]["node"];
    assert_eq!(flag["class"], "COORDINATED", "{flag:#}");
    assert_eq!(flag["score"], 74, "the score is still shown");
    app.cleanup().await;
}

async fn coverage(app: &TestApp, need: &str) -> Value {
    app.ok(
        &app.recipient("KE"),
        "query($id: ID!) { need(id: $id) { coverage { state groups pipelineOnly orphan crowded
            coveringActivities { iatiIdentifier } candidates { iatiIdentifier } } } }",
        json!({ "id": need }),
    )
    .await["need"]["coverage"]
        .clone()
}

#[tokio::test]
async fn a_funding_chain_is_double_reporting_and_covers_a_need_once() {
    let app = registry().await;
    let need = kenya_need(&app).await;
    let mut uk = uk_training();
    uk["addressesNeeds"] = json!([need]);
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk }))
        .await;
    // UNODC reports the money it received from the UK for the same work.
    let mut unodc = training("XM-DAC-41128-KE-MLA", UNODC, UNODC, TITLE_B);
    unodc["transactions"] = json!([{ "type": "1", "date": "2026-01-15",
        "value": { "amount": "100000", "currency": "USD" }, "providerActivityId": "GB-1-KE-MLA" }]);
    unodc["addressesNeeds"] = json!([need]);
    app.ok(&app.provider(UNODC), UPSERT, json!({ "input": unodc }))
        .await;

    let flag = &flags(&app).await["edges"][0]["node"];
    assert_eq!(flag["class"], "DOUBLE_REPORTING", "{flag:#}");
    let c = coverage(&app, &need).await;
    assert_eq!(c["state"], "COVERED", "{c:#}");
    assert_eq!(c["groups"], 1);
    assert_eq!(c["coveringActivities"].as_array().map(Vec::len), Some(2));
    app.cleanup().await;
}

#[tokio::test]
async fn a_dismissed_flag_stays_dismissed_until_the_pair_changes() {
    let (app, id) = flagged_pair().await;
    let review = "mutation($id: ID!, $s: ReviewStatus!) { reviewOverlapFlag(id: $id, status: $s, note: \"Different cohorts\") {
        status note reviewedBy } }";

    // Viewers, recipients and uninvolved providers may not review.
    for token in [
        app.token(Role::Viewer, None, None),
        app.recipient("KE"),
        app.provider(UNODC),
    ] {
        let body = app
            .gql(&token, review, json!({ "id": id, "s": "DISMISSED" }))
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    let reviewed = app
        .ok(
            &app.provider(DE),
            review,
            json!({ "id": id, "s": "DISMISSED" }),
        )
        .await;
    assert_eq!(reviewed["reviewOverlapFlag"]["status"], "DISMISSED");

    // A change the score does not read (the budget) keeps the decision.
    let mut de = de_training();
    de["budget"] = json!({ "amount": "250000", "currency": "USD" });
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de }))
        .await;
    assert_eq!(flags(&app).await["edges"][0]["node"]["status"], "DISMISSED");

    // A full recomputation finds the same flag and keeps the decision.
    let summary =
        aidgraph_registry::recompute::recompute(&app.store, None, |_: &str, _: u64, _: u64| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            summary.flags,
            summary.added,
            summary.changed,
            summary.removed
        ),
        (1, 0, 0, 0)
    );
    assert_eq!(flags(&app).await["edges"][0]["node"]["status"], "DISMISSED");

    // New dates reopen it.
    let mut de = de_training();
    de["plannedEnd"] = json!("2027-03-31");
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de }))
        .await;
    let flag = &flags(&app).await["edges"][0]["node"];
    assert_eq!(flag["status"], "OPEN", "{flag:#}");

    // So does new text, after another dismissal.
    app.ok(
        &app.token(Role::Coordinator, None, None),
        review,
        json!({ "id": id, "s": "DISMISSED" }),
    )
    .await;
    let mut uk = uk_training();
    uk["titles"] = json!([{ "lang": "en", "text": format!("{TITLE_A}, phase two") }]);
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk }))
        .await;
    assert_eq!(flags(&app).await["edges"][0]["node"]["status"], "OPEN");
    app.cleanup().await;
}

#[tokio::test]
async fn check_overlap_returns_what_registering_would_raise_and_stores_nothing() {
    let app = registry().await;
    let need = kenya_need(&app).await;
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk_training() }))
        .await;
    let check = app
        .ok(
            &app.provider(DE),
            "query($input: ActivityInput!) { checkOverlap(input: $input) {
                flags { score class activity { iatiIdentifier } components { key value weight reason } }
                addressableNeeds { id title coverage { state } } } }",
            json!({ "input": de_training() }),
        )
        .await;
    let planned = &check["checkOverlap"]["flags"];
    assert_eq!(planned.as_array().map(Vec::len), Some(1), "{check:#}");
    // The flag registering would raise, with its reasons, and the need the plan could address.
    insta::assert_json_snapshot!("worked_example_dry_run", check, {
        ".checkOverlap.addressableNeeds[].id" => "[need id]"
    });
    assert_eq!(planned[0]["activity"]["iatiIdentifier"], "GB-1-KE-MLA");
    // Asked without components, the reasons are not built; the flags are the same.
    let scores_only = app
        .ok(
            &app.provider(DE),
            "query($input: ActivityInput!) { checkOverlap(input: $input) {
                flags { score class activity { iatiIdentifier } } } }",
            json!({ "input": de_training() }),
        )
        .await;
    assert_eq!(
        scores_only["checkOverlap"]["flags"],
        json!([{
            "score": planned[0]["score"],
            "class": planned[0]["class"],
            "activity": planned[0]["activity"],
        }])
    );
    assert_eq!(
        check["checkOverlap"]["addressableNeeds"],
        json!([{ "id": need, "title": "Prosecutors trained in mutual legal assistance", "coverage": { "state": "UNMET" } }])
    );
    assert_eq!(
        flags(&app).await["totalCount"],
        0,
        "a dry run stores nothing"
    );
    let activities = app
        .ok(&app.admin(), "{ activities { totalCount } }", json!({}))
        .await;
    assert_eq!(activities["activities"]["totalCount"], 1);

    app.ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await;
    let stored = &flags(&app).await["edges"][0]["node"];
    assert_eq!(stored["score"], planned[0]["score"]);
    assert_eq!(stored["class"], planned[0]["class"]);
    assert_eq!(stored["components"], planned[0]["components"]);
    app.cleanup().await;
}

#[tokio::test]
async fn a_need_moves_from_unmet_to_covered_to_duplicated_and_back() {
    let app = registry().await;
    let need = kenya_need(&app).await;
    assert_eq!(coverage(&app, &need).await["state"], "UNMET");

    let mut uk = uk_training();
    uk["addressesNeeds"] = json!([need]);
    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk }))
        .await;
    let c = coverage(&app, &need).await;
    assert_eq!(
        (c["state"].clone(), c["groups"].clone()),
        (json!("COVERED"), json!(1))
    );

    // Germany does the same, at the same time, without saying it addresses the need: a
    // candidate, not a cover — the recipient leads.
    let de_id = app
        .ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await["upsertActivity"]["id"]
        .clone();
    let c = coverage(&app, &need).await;
    assert_eq!(c["state"], "COVERED");
    assert_eq!(
        c["candidates"],
        json!([{ "iatiIdentifier": "DE-1-KE-MLA" }])
    );
    // Candidates are looked for only when asked for; the coverage is the same either way,
    // also when one request asks both ways.
    let both = app
        .ok(
            &app.recipient("KE"),
            "query($id: ID!) { need(id: $id) { plain: coverage { state groups }
                full: coverage { state groups candidates { iatiIdentifier } } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(both["need"]["plain"]["state"], "COVERED");
    assert_eq!(
        both["need"]["plain"]["groups"],
        both["need"]["full"]["groups"]
    );
    assert_eq!(
        both["need"]["full"]["candidates"],
        json!([{ "iatiIdentifier": "DE-1-KE-MLA" }])
    );

    let linked = app
        .ok(
            &app.provider(DE),
            "mutation($a: ID!, $n: [ID!]!) { linkActivityToNeeds(activityId: $a, needIds: $n) { version } }",
            json!({ "a": de_id, "n": [need] }),
        )
        .await;
    let c = coverage(&app, &need).await;
    assert_eq!(
        (c["state"].clone(), c["groups"].clone()),
        (json!("DUPLICATED"), json!(2)),
        "{c:#}"
    );

    // Germany cancels: covered again.
    app.ok(
        &app.provider(DE),
        "mutation($a: ID!, $v: Int!) { setActivityStatus(id: $a, expectedVersion: $v, status: CANCELLED) { status } }",
        json!({ "a": de_id, "v": linked["linkActivityToNeeds"]["version"] }),
    )
    .await;
    assert_eq!(coverage(&app, &need).await["state"], "COVERED");

    // UNODC joins on the need: duplicated; a coordinator records that the two are
    // coordinated: one group, covered.
    let mut unodc = training(
        "XM-DAC-41128-KE-2",
        UNODC,
        UNODC,
        "Central authority case management for mutual assistance",
    );
    unodc["addressesNeeds"] = json!([need]);
    app.ok(&app.provider(UNODC), UPSERT, json!({ "input": unodc }))
        .await;
    assert_eq!(coverage(&app, &need).await["state"], "DUPLICATED");
    let pair = app
        .ok(
            &app.admin(),
            "{ overlapFlags(filter: { provider: \"XM-DAC-41128\" }) { edges { node { id activityA { iatiIdentifier } activityB { iatiIdentifier } } } } }",
            json!({}),
        )
        .await;
    let flag = pair["overlapFlags"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            let ids = [
                &e["node"]["activityA"]["iatiIdentifier"],
                &e["node"]["activityB"]["iatiIdentifier"],
            ];
            ids.contains(&&json!("GB-1-KE-MLA")) && ids.contains(&&json!("XM-DAC-41128-KE-2"))
        })
        .map(|e| e["node"]["id"].clone())
        .unwrap_or_else(|| panic!("no flag between the UK and UNODC: {pair:#}"));
    let reviewed = app
        .ok(
            &app.token(Role::Coordinator, None, None),
            "mutation($id: ID!) { reviewOverlapFlag(id: $id, status: COORDINATED) { status class } }",
            json!({ "id": flag }),
        )
        .await;
    assert_eq!(
        reviewed["reviewOverlapFlag"],
        json!({ "status": "COORDINATED", "class": "COORDINATED" })
    );
    let c = coverage(&app, &need).await;
    assert_eq!(
        (c["state"].clone(), c["groups"].clone()),
        (json!("COVERED"), json!(1)),
        "{c:#}"
    );

    // The needs list filters on coverage.
    let unmet = app
        .ok(
            &app.recipient("KE"),
            "{ covered: needs(filter: { coverage: [COVERED] }) { totalCount } unmet: needs(filter: { coverage: [UNMET] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        unmet,
        json!({ "covered": { "totalCount": 1 }, "unmet": { "totalCount": 0 } })
    );
    app.cleanup().await;
}

#[tokio::test]
async fn subscribers_receive_flags_for_their_country_within_a_second() {
    let app = registry().await;
    let query = |country: &str| {
        format!(
            "subscription {{ overlapFlagChanged(country: \"{country}\") {{ score class activityA {{ iatiIdentifier }} }} }}"
        )
    };
    let viewer = app.token(Role::Viewer, None, None);
    let mut kenya = Subscription::start(&app, &viewer, &query("KE"))
        .await
        .unwrap_or_else(|| panic!("subscription refused"));
    let mut tanzania = Subscription::start(&app, &viewer, &query("TZ"))
        .await
        .unwrap_or_else(|| panic!("subscription refused"));
    assert!(
        Subscription::start(&app, "not-a-token", &query("KE"))
            .await
            .is_none(),
        "no subscription without a valid token"
    );
    let mut needs = Subscription::start(
        &app,
        &viewer,
        "subscription { needPublished(country: \"KE\") { title } }",
    )
    .await
    .unwrap_or_else(|| panic!("subscription refused"));

    app.ok(&app.provider(UK), UPSERT, json!({ "input": uk_training() }))
        .await;
    app.ok(&app.provider(DE), UPSERT, json!({ "input": de_training() }))
        .await;
    let received = kenya.next(Duration::from_secs(1)).await;
    assert_eq!(
        received,
        Some(
            json!({ "overlapFlagChanged": { "score": 74, "class": "LIKELY_DUPLICATION",
            "activityA": { "iatiIdentifier": "GB-1-KE-MLA" } } })
        )
    );
    assert_eq!(tanzania.next(Duration::from_millis(500)).await, None);

    kenya_need(&app).await;
    let published = needs.next(Duration::from_secs(1)).await;
    assert_eq!(
        published,
        Some(
            json!({ "needPublished": { "title": "Prosecutors trained in mutual legal assistance" } })
        )
    );
    app.cleanup().await;
}
