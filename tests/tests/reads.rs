//! The read path: an activity's overlaps paged like every list and loaded for a whole page at
//! once, totals counted when asked (through fragments too), list fields weighed in the
//! complexity limit, and answers kept by registry version that are never served after a write,
//! whoever made it, nor to a caller who sees differently.

use aidgraph_domain::access::Principal;
use aidgraph_domain::vocab::{Publication, Role};
use aidgraph_tests::{TestApp, activity_input, error_code, kenya_need};
use serde_json::{Value, json};

const UK: &str = "GB-GOV-1";
const DE: &str = "DE-1";
const FR: &str = "FR-3";
const UNODC: &str = "XM-DAC-41128";

const UPSERT: &str = "mutation($input: ActivityInput!, $publish: Boolean) {
  upsertActivity(input: $input, publish: $publish) { id version } }";

async fn registry() -> TestApp {
    let app = TestApp::spawn().await;
    for (org, kind) in [
        (UK, "DONOR_STATE"),
        (DE, "DONOR_STATE"),
        (FR, "DONOR_STATE"),
        (UNODC, "UNODC"),
    ] {
        app.organisation(org, kind).await;
    }
    app
}

/// Prosecutors trained on mutual legal assistance in Kenya: any two of these overlap.
fn training(identifier: &str, org: &str, title: &str) -> Value {
    let mut input = activity_input(identifier, org, "KE");
    input["titles"] = json!([{ "lang": "en", "text": title }]);
    input["participatingOrgs"] = json!([{ "ref": org, "role": "FUNDING" }]);
    input["provisions"] = json!(["UNTOC-18"]);
    input["priorityAreas"] = json!(["INTERNATIONAL_COOPERATION"]);
    input["assistanceTypes"] = json!(["TRAINING"]);
    input["beneficiaryInstitutions"] = json!(["PROSECUTION"]);
    input
}

async fn three_trainings(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for (identifier, org, title) in [
        (
            "GB-1-KE-MLA",
            UK,
            "Mutual legal assistance for prosecutors: workshops and mentoring",
        ),
        (
            "DE-1-KE-MLA",
            DE,
            "Mutual legal assistance for prosecutors: casework and handbooks",
        ),
        (
            "FR-3-KE-MLA",
            FR,
            "Mutual legal assistance for prosecutors: simulations and coaching",
        ),
    ] {
        let created = app
            .ok(
                &app.provider(org),
                UPSERT,
                json!({ "input": training(identifier, org, title), "publish": true }),
            )
            .await;
        ids.push(
            created["upsertActivity"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    ids
}

fn identifiers(nodes: &Value) -> Vec<(String, String)> {
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["activityA"]["iatiIdentifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                n["activityB"]["iatiIdentifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn overlaps_are_paged_per_activity_for_a_whole_list_page() {
    let app = registry().await;
    three_trainings(&app).await;
    let viewer = app.token(Role::Viewer, None, None);
    let page = app
        .ok(
            &viewer,
            "{ activities(filter: { recipientCountry: \"KE\" }) { nodes { iatiIdentifier
                overlaps(first: 1) { totalCount pageInfo { hasNextPage endCursor }
                  nodes { score activityA { iatiIdentifier } activityB { iatiIdentifier } } } } } }",
            json!({}),
        )
        .await;
    let nodes = page["activities"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(nodes.len(), 3);
    // Each activity has a flag with each of the two others, whichever side of the pair it is.
    for node in &nodes {
        let me = node["iatiIdentifier"].as_str().unwrap_or_default();
        let overlaps = &node["overlaps"];
        assert_eq!(overlaps["totalCount"], 2, "{me}: {overlaps}");
        assert_eq!(overlaps["pageInfo"]["hasNextPage"], true, "{me}");
        let pairs = identifiers(&overlaps["nodes"]);
        assert_eq!(pairs.len(), 1, "{me}");
        assert!(pairs[0].0 == me || pairs[0].1 == me, "{me}: {pairs:?}");
    }

    // The next page of one activity's flags holds the other flag, and nothing after it.
    let first = &nodes[0];
    let me = first["iatiIdentifier"].as_str().unwrap_or_default();
    let rest = app
        .ok(
            &viewer,
            "query($id: String!, $after: String) { activity(iatiIdentifier: $id) {
                overlaps(first: 5, after: $after) { totalCount pageInfo { hasNextPage }
                  nodes { score activityA { iatiIdentifier } activityB { iatiIdentifier } } } } }",
            json!({ "id": me, "after": first["overlaps"]["pageInfo"]["endCursor"] }),
        )
        .await;
    let overlaps = &rest["activity"]["overlaps"];
    assert_eq!(overlaps["pageInfo"]["hasNextPage"], false);
    let mut seen = identifiers(&first["overlaps"]["nodes"]);
    seen.extend(identifiers(&overlaps["nodes"]));
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1]);

    // Both pages together are the activity's flags, highest score first.
    let all = app
        .ok(
            &viewer,
            "query($id: String!) { activity(iatiIdentifier: $id) {
                overlaps { nodes { score activityA { iatiIdentifier } activityB { iatiIdentifier } } } } }",
            json!({ "id": me }),
        )
        .await;
    let all_nodes = &all["activity"]["overlaps"]["nodes"];
    assert_eq!(identifiers(all_nodes), seen);
    let scores: Vec<i64> = all_nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["score"].as_i64())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Filters apply per activity.
    let none = app
        .ok(
            &viewer,
            "{ activities { nodes { overlaps(filter: { minScore: 100 }) { totalCount nodes { id } } } } }",
            json!({}),
        )
        .await;
    for node in none["activities"]["nodes"].as_array().into_iter().flatten() {
        assert_eq!(node["overlaps"], json!({ "totalCount": 0, "nodes": [] }));
    }
    app.cleanup().await;
}

#[tokio::test]
async fn totals_are_counted_when_asked_for_in_any_form() {
    let app = registry().await;
    three_trainings(&app).await;
    let viewer = app.token(Role::Viewer, None, None);
    let found = app
        .ok(
            &viewer,
            "{ direct: activities { totalCount }
               spread: activities(first: 1) { ...Total }
               inline: activities(first: 0) { ... on ActivityConnection { totalCount } }
               aliased: overlapFlags { n: totalCount } }
             fragment Total on ActivityConnection { totalCount nodes { iatiIdentifier } }",
            json!({}),
        )
        .await;
    assert_eq!(found["direct"]["totalCount"], 3);
    assert_eq!(found["spread"]["totalCount"], 3);
    assert_eq!(found["inline"]["totalCount"], 3);
    assert_eq!(found["aliased"]["n"], 3);
    app.cleanup().await;
}

#[tokio::test]
async fn lists_without_pages_count_in_the_complexity_limit() {
    let app = TestApp::spawn_with(|c| c.max_complexity = 2_000).await;
    app.organisation(UK, "DONOR_STATE").await;
    let viewer = app.token(Role::Viewer, None, None);
    let input = activity_input("GB-1-KE-CHECK", UK, "KE");
    // One dry run's flags fit; a hundred of them in one request do not.
    let one = app
        .gql(
            &viewer,
            "query($input: ActivityInput!) { checkOverlap(input: $input) { flags { score } } }",
            json!({ "input": input }),
        )
        .await;
    assert!(one.get("errors").is_none(), "{one}");
    let aliases: String = (0..100)
        .map(|i| format!("c{i}: checkOverlap(input: $input) {{ flags {{ score }} }} "))
        .collect();
    let many = app
        .gql(
            &viewer,
            &format!("query($input: ActivityInput!) {{ {aliases} }}"),
            json!({ "input": input }),
        )
        .await;
    assert_eq!(error_code(&many), Some("BAD_USER_INPUT"), "{many}");
    // Nested pages multiply: 100 activities × 100 flags each is refused before it runs.
    let nested = app
        .gql(
            &viewer,
            "{ activities(first: 100) { nodes { overlaps(first: 100) { nodes { score } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&nested), Some("BAD_USER_INPUT"), "{nested}");
    app.cleanup().await;
}

fn async_graphql_id(id: &Value) -> async_graphql::ID {
    async_graphql::ID(id.as_str().unwrap_or_default().to_owned())
}

const LIST: &str = "{ activities(filter: { recipientCountry: \"KE\" }) { totalCount nodes { iatiIdentifier title publication } } }";

async fn listed(app: &TestApp, token: &str) -> Value {
    app.ok(token, LIST, json!({})).await["activities"].clone()
}

#[tokio::test]
async fn kept_answers_follow_every_write_and_every_caller() {
    let app = registry().await;
    let viewer = app.token(Role::Viewer, None, None);
    let uk = app.provider(UK);
    assert_eq!(listed(&app, &viewer).await["totalCount"], 0);

    // A draft: the same question gets its provider's answer and the viewer's, each its own.
    let draft = app
        .ok(
            &uk,
            UPSERT,
            json!({ "input": training("GB-1-KE-MLA", UK, "Prosecutors trained"), "publish": false }),
        )
        .await["upsertActivity"]
        .clone();
    assert_eq!(listed(&app, &uk).await["totalCount"], 1);
    assert_eq!(listed(&app, &viewer).await["totalCount"], 0);
    assert_eq!(
        listed(&app, &app.provider(DE)).await["totalCount"],
        0,
        "another provider does not see the draft"
    );

    // Published, then retitled: every caller sees each change at once.
    let published = app
        .ok(
            &uk,
            "mutation($id: ID!, $v: Int!) { publishActivity(id: $id, expectedVersion: $v) { version } }",
            json!({ "id": draft["id"], "v": draft["version"] }),
        )
        .await;
    assert_eq!(listed(&app, &viewer).await["totalCount"], 1);
    let retitled = app
        .ok(
            &uk,
            "mutation($id: ID!, $v: Int!, $input: ActivityInput!) {
                updateActivity(id: $id, expectedVersion: $v, input: $input) { version } }",
            json!({
                "id": draft["id"],
                "v": published["publishActivity"]["version"],
                "input": training("GB-1-KE-MLA", UK, "Prosecutors trained again"),
            }),
        )
        .await;
    assert_eq!(
        listed(&app, &viewer).await["nodes"][0]["title"],
        "Prosecutors trained again"
    );

    // A write that does not pass through this service (another replica, the command line)
    // raises the same registry version: the kept answer is not served after it.
    let id = aidgraph_api::ids::decode(
        &async_graphql_id(&draft["id"]),
        aidgraph_api::ids::Kind::Activity,
        "id",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let operator = Principal {
        subject: "replica".into(),
        role: Role::Admin,
        org: None,
        country: None,
    };
    let version = retitled["updateActivity"]["version"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or_default();
    aidgraph_registry::activities::set_publication(
        &app.registry,
        &operator,
        id,
        version,
        Publication::Draft,
    )
    .await
    .unwrap_or_else(|e| panic!("withdrawing under the API: {e}"));
    assert_eq!(listed(&app, &viewer).await["totalCount"], 0);
    assert_eq!(listed(&app, &uk).await["nodes"][0]["publication"], "DRAFT");
    app.cleanup().await;
}

const DASHBOARD: &str = "{
  coverageMatrix { rows { code cells { column needs { unmet covered duplicated } activeProviders openFlags { total } } } }
  providerSignificance(filter: { country: \"KE\" }) { provider { ref } }
  unmet: needs(filter: { coverage: [UNMET] }) { totalCount }
  covered: needs(filter: { coverage: [COVERED, DUPLICATED] }) { totalCount }
  open: overlapFlags(filter: { status: [OPEN] }) { totalCount edges { node { id
    activityA { iatiIdentifier } activityB { iatiIdentifier } } } } }";

fn cell(dashboard: &Value) -> Value {
    dashboard["coverageMatrix"]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["code"] == "KE")
        .flat_map(|r| r["cells"].as_array().cloned().unwrap_or_default())
        .find(|c| c["column"] == "INTERNATIONAL_COOPERATION")
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn dashboards_follow_activities_needs_and_reviews() {
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);
    let before = app.ok(&coordinator, DASHBOARD, json!({})).await;
    assert_eq!(before["unmet"]["totalCount"], 0);
    assert_eq!(before["open"]["totalCount"], 0);

    // A need published: unmet.
    let need = json!(kenya_need(&app).await);
    let now = app.ok(&coordinator, DASHBOARD, json!({})).await;
    assert_eq!(now["unmet"]["totalCount"], 1);
    assert_eq!(cell(&now)["needs"]["unmet"], 1);

    // Three providers train the same prosecutors; one says it addresses the need.
    let ids = three_trainings(&app).await;
    app.ok(
        &app.provider(UK),
        "mutation($a: ID!, $n: [ID!]!) { linkActivityToNeeds(activityId: $a, needIds: $n) { version } }",
        json!({ "a": ids[0], "n": [need] }),
    )
    .await;
    let now = app.ok(&coordinator, DASHBOARD, json!({})).await;
    assert_eq!(now["unmet"]["totalCount"], 0);
    assert_eq!(now["covered"]["totalCount"], 1);
    assert_eq!(cell(&now)["needs"]["covered"], 1);
    assert_eq!(cell(&now)["activeProviders"], 3);
    assert_eq!(now["open"]["totalCount"], 3);
    assert_eq!(cell(&now)["openFlags"]["total"], 3);
    assert_eq!(
        now["providerSignificance"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default(),
        3
    );

    // A review closes the flag between Germany and France.
    let flag = now["open"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"])
        .find(|f| {
            f["activityA"]["iatiIdentifier"] != "GB-1-KE-MLA"
                && f["activityB"]["iatiIdentifier"] != "GB-1-KE-MLA"
        })
        .map(|f| f["id"].clone())
        .unwrap_or(Value::Null);
    app.ok(
        &coordinator,
        "mutation($id: ID!) { reviewOverlapFlag(id: $id, status: DISMISSED, note: \"different cohorts\") { status } }",
        json!({ "id": flag }),
    )
    .await;
    let now = app.ok(&coordinator, DASHBOARD, json!({})).await;
    assert_eq!(now["open"]["totalCount"], 2);
    assert_eq!(cell(&now)["openFlags"]["total"], 2);

    // Withdrawn: the activity and its flags leave every sum, and the need is unmet again.
    let record = app
        .ok(
            &coordinator,
            "query($id: ID!) { node(id: $id) { ... on Activity { version } } }",
            json!({ "id": ids[0] }),
        )
        .await;
    app.ok(
        &app.provider(UK),
        "mutation($id: ID!, $v: Int!) { withdrawActivity(id: $id, expectedVersion: $v) { version } }",
        json!({ "id": ids[0], "v": record["node"]["version"] }),
    )
    .await;
    let now = app.ok(&coordinator, DASHBOARD, json!({})).await;
    assert_eq!(now["unmet"]["totalCount"], 1);
    assert_eq!(cell(&now)["activeProviders"], 2);
    assert_eq!(now["open"]["totalCount"], 0);
    assert_eq!(cell(&now)["openFlags"]["total"], 0);
    app.cleanup().await;
}

/// The dry run's addressable needs with their coverage, and one need's coverage through
/// `node`: different questions, so no answer is kept whole, while the coverage behind them is
/// shared between requests.
const ADDRESSABLE: &str = "query($input: ActivityInput!) { checkOverlap(input: $input) {
    addressableNeeds { id coverage { state groups coveringActivities { iatiIdentifier } } } } }";
const NEED_COVERAGE: &str =
    "query($id: ID!) { node(id: $id) { ... on Need { coverage { state groups } } } }";

fn state_of(answer: &Value) -> (Value, Value) {
    let coverage = &answer["node"]["coverage"];
    (coverage["state"].clone(), coverage["groups"].clone())
}

#[tokio::test]
async fn need_coverage_kept_between_requests_follows_every_write() {
    let app = registry().await;
    let coordinator = app.token(Role::Coordinator, None, None);
    let need = kenya_need(&app).await;
    let ids = three_trainings(&app).await;
    let planned = json!({ "input": training("XX-PLAN-1", UNODC, "Mutual legal assistance for prosecutors: a new course") });
    let addressable = |answer: &Value| answer["checkOverlap"]["addressableNeeds"].clone();

    let first = app.ok(&coordinator, ADDRESSABLE, planned.clone()).await;
    assert_eq!(addressable(&first)[0]["id"], need);
    assert_eq!(addressable(&first)[0]["coverage"]["state"], "UNMET");
    let by_node = app
        .ok(&coordinator, NEED_COVERAGE, json!({ "id": need }))
        .await;
    assert_eq!(state_of(&by_node), (json!("UNMET"), json!(0)));

    // Linked through the API: both questions see it at once.
    app.ok(
        &app.provider(UK),
        "mutation($a: ID!, $n: [ID!]!) { linkActivityToNeeds(activityId: $a, needIds: $n) { version } }",
        json!({ "a": ids[0], "n": [need] }),
    )
    .await;
    let now = app.ok(&coordinator, ADDRESSABLE, planned.clone()).await;
    assert_eq!(addressable(&now)[0]["coverage"]["state"], "COVERED");
    assert_eq!(
        addressable(&now)[0]["coverage"]["coveringActivities"],
        json!([{ "iatiIdentifier": "GB-1-KE-MLA" }])
    );
    let by_node = app
        .ok(&coordinator, NEED_COVERAGE, json!({ "id": need }))
        .await;
    assert_eq!(state_of(&by_node), (json!("COVERED"), json!(1)));

    // A second provider links its activity without passing through this service (another
    // replica, the command line): two groups at once, duplicated.
    let operator = Principal {
        subject: "replica".into(),
        role: Role::Admin,
        org: None,
        country: None,
    };
    let activity = aidgraph_api::ids::decode(
        &async_graphql_id(&json!(ids[1])),
        aidgraph_api::ids::Kind::Activity,
        "id",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let need_id = aidgraph_api::ids::decode(
        &async_graphql_id(&json!(need)),
        aidgraph_api::ids::Kind::Need,
        "id",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    aidgraph_registry::activities::change_need_links(
        &app.registry,
        &operator,
        activity,
        &[need_id],
        true,
    )
    .await
    .unwrap_or_else(|e| panic!("linking under the API: {e}"));
    let by_node = app
        .ok(&coordinator, NEED_COVERAGE, json!({ "id": need }))
        .await;
    assert_eq!(state_of(&by_node), (json!("DUPLICATED"), json!(2)));
    let now = app.ok(&coordinator, ADDRESSABLE, planned).await;
    assert_eq!(addressable(&now)[0]["coverage"]["state"], "DUPLICATED");
    app.cleanup().await;
}
