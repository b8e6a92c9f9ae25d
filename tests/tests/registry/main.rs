//! The registry core end to end: needs published by a recipient, activities registered by
//! providers and read back with everything nested, and the refusals that keep each party in
//! its lane. Runs on SQLite, or on PostgreSQL with `AIDGRAPH_TEST_DATABASE_URL`.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::{TestApp, activity_input, error_code, violation_fields};
use serde_json::json;

mod lifecycle;

const UK: &str = "GB-GOV-1";
const DE: &str = "DE-1";
const UNODC: &str = "XM-DAC-41128";

const CREATE_ANALYSIS: &str = "mutation($input: NeedsAnalysisInput!) {
  createNeedsAnalysis(input: $input) { id status needs { id title } } }";
const PUBLISH_ANALYSIS: &str =
    "mutation($id: ID!) { publishNeedsAnalysis(id: $id) { id status publishedAt } }";
const CREATE_ACTIVITY: &str = "mutation($input: ActivityInput!, $publish: Boolean) {
  createActivity(input: $input, publish: $publish) { id version publication } }";
const UPDATE_ACTIVITY: &str = "mutation($id: ID!, $v: Int!, $input: ActivityInput!) {
  updateActivity(id: $id, expectedVersion: $v, input: $input) { id version title } }";

async fn registry() -> TestApp {
    let app = TestApp::spawn().await;
    app.organisation(UK, "DONOR_STATE").await;
    app.organisation(DE, "DONOR_STATE").await;
    app.organisation(UNODC, "UNODC").await;
    app
}

/// Kenya publishes an analysis with two needs; returns the need ids.
async fn kenya_needs(app: &TestApp) -> Vec<String> {
    let ke = app.recipient("KE");
    let data = app
        .ok(
            &ke,
            CREATE_ANALYSIS,
            json!({ "input": {
                "recipientCountry": "KE",
                "source": "SELF_ASSESSMENT_QUESTIONNAIRE",
                "reference": "CTOC questionnaire 2026",
                "needs": [
                    { "title": "Central authority capacity for mutual legal assistance",
                      "priorityArea": "INTERNATIONAL_COOPERATION", "provisions": ["UNTOC-18"],
                      "assistanceTypes": ["TRAINING"], "beneficiaryInstitutions": ["CENTRAL_AUTHORITY"],
                      "priority": "HIGH", "estimatedCost": { "amount": "250000", "currency": "USD" } },
                    { "title": "Victim support", "priorityArea": "PROTOCOLS_IMPLEMENTATION",
                      "provisions": ["TIP-6"] }
                ]
            }}),
        )
        .await;
    let analysis = &data["createNeedsAnalysis"];
    assert_eq!(analysis["status"], "DRAFT");
    let published = app
        .ok(&ke, PUBLISH_ANALYSIS, json!({ "id": analysis["id"] }))
        .await;
    assert_eq!(published["publishNeedsAnalysis"]["status"], "PUBLISHED");
    analysis["needs"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|n| n["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn activity_count(app: &TestApp) -> i64 {
    app.ok(&app.admin(), "{ activities { totalCount } }", json!({}))
        .await["activities"]["totalCount"]
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn provider_registers_an_activity_for_a_published_need_and_reads_it_back() {
    let app = registry().await;
    let needs = kenya_needs(&app).await;
    let uk = app.provider(UK);

    let mut input = activity_input("GB-GOV-1-KE-MLA", UK, "KE");
    input["participatingOrgs"] = json!([
        { "ref": UK, "role": "FUNDING" },
        { "ref": UNODC, "role": "IMPLEMENTING", "activityId": "UNODC-KE-42" }
    ]);
    input["recipientCountries"] = json!([{ "code": "KE", "percentage": "100" }]);
    input["sectors"] = json!([
        { "code": "15130", "percentage": "60" },
        { "code": "15210", "percentage": "40" }
    ]);
    input["provisions"] = json!(["UNTOC-18"]);
    input["priorityAreas"] = json!(["INTERNATIONAL_COOPERATION"]);
    input["assistanceTypes"] = json!(["TRAINING"]);
    input["beneficiaryInstitutions"] = json!(["PROSECUTION"]);
    input["addressesNeeds"] = json!([needs[0]]);
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": input, "publish": true }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();
    assert_eq!(created["createActivity"]["version"], 1);

    let read = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "query($id: ID!) { activity(id: $id) {
                iatiIdentifier title publication
                reportingOrg { ref kind }
                participatingOrgs { role activityId organisation { ref name } }
                recipientCountries { code name percentage }
                sectors { code name vocabulary percentage }
                provisions priorityAreas assistanceTypes beneficiaryInstitutions
                budget { amount currency }
                addressesNeeds { title recipientCountry priority analysis { status source } }
            } }",
            json!({ "id": id }),
        )
        .await;
    let a = &read["activity"];
    assert_eq!(a["iatiIdentifier"], "GB-GOV-1-KE-MLA");
    assert_eq!(a["publication"], "PUBLISHED");
    assert_eq!(a["reportingOrg"]["ref"], UK);
    assert_eq!(a["participatingOrgs"][1]["organisation"]["ref"], UNODC);
    assert_eq!(a["participatingOrgs"][1]["role"], "IMPLEMENTING");
    assert_eq!(a["participatingOrgs"][1]["activityId"], "UNODC-KE-42");
    assert_eq!(a["recipientCountries"][0]["name"], "Kenya");
    assert_eq!(a["sectors"][0]["name"], "Legal and judicial development");
    assert_eq!(a["sectors"][1]["percentage"], "40");
    assert_eq!(a["provisions"], json!(["UNTOC-18"]));
    assert_eq!(
        a["budget"],
        json!({ "amount": "100000.00", "currency": "USD" })
    );
    assert_eq!(
        a["addressesNeeds"][0]["title"],
        "Central authority capacity for mutual legal assistance"
    );
    assert_eq!(a["addressesNeeds"][0]["analysis"]["status"], "PUBLISHED");

    // The same activity through the list, the organisation and the node interface.
    let listed = app
        .ok(
            &uk,
            "{ activities(filter: { recipientCountry: \"KE\", provision: \"UNTOC-18\", sector: \"15210\" }) {
                totalCount edges { node { iatiIdentifier } } }
               organisation(ref: \"XM-DAC-41128\") { activities { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["activities"]["totalCount"], 1);
    assert_eq!(listed["organisation"]["activities"]["totalCount"], 1);
    let node = app
        .ok(
            &uk,
            "query($id: ID!) { node(id: $id) { id ... on Activity { iatiIdentifier } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(node["node"]["iatiIdentifier"], "GB-GOV-1-KE-MLA");
    app.cleanup().await;
}

#[tokio::test]
async fn providers_cannot_touch_other_providers_activities_or_publish_needs() {
    let app = registry().await;
    let uk = app.provider(UK);
    let de = app.provider(DE);
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-1", UK, "KE"), "publish": true }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();

    // Germany edits the UK's activity: refused, and it stays as it was.
    let body = app
        .gql(
            &de,
            UPDATE_ACTIVITY,
            json!({ "id": id, "v": 1, "input": activity_input("GB-1", UK, "KE") }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = app
        .gql(
            &de,
            "mutation($id: ID!) { setActivityStatus(id: $id, expectedVersion: 1, status: CANCELLED) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    // Germany registers an activity in the UK's name: refused.
    let body = app
        .gql(
            &de,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-2", UK, "KE") }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    // A provider publishing needs: refused.
    let body = app
        .gql(
            &uk,
            CREATE_ANALYSIS,
            json!({ "input": { "recipientCountry": "KE", "source": "OTHER" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    // Viewers and coordinators register no activities; only admins register organisations.
    for token in [
        app.token(Role::Viewer, None, None),
        app.token(Role::Coordinator, None, None),
    ] {
        let body = app
            .gql(
                &token,
                CREATE_ACTIVITY,
                json!({ "input": activity_input("GB-3", UK, "KE") }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    let body = app
        .gql(
            &uk,
            "mutation { createOrganisation(input: { ref: \"XX-1\", name: \"X\", kind: NGO }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

    let still = app
        .ok(
            &uk,
            "query($id: ID!) { activity(id: $id) { version status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        still["activity"],
        json!({ "version": 1, "status": "IMPLEMENTATION" })
    );
    assert_eq!(activity_count(&app).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn recipients_publish_only_for_their_own_country_and_coordinators_on_their_behalf() {
    let app = registry().await;
    let body = app
        .gql(
            &app.recipient("TZ"),
            CREATE_ANALYSIS,
            json!({ "input": { "recipientCountry": "KE", "source": "OTHER" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

    // Kenya's draft cannot be published by Tanzania either.
    let ke = app.recipient("KE");
    let draft = app
        .ok(
            &ke,
            CREATE_ANALYSIS,
            json!({ "input": { "recipientCountry": "KE", "source": "OTHER",
                "needs": [{ "title": "Data", "priorityArea": "DATA_COLLECTION_CAPACITY" }] } }),
        )
        .await;
    let id = draft["createNeedsAnalysis"]["id"].clone();
    let body = app
        .gql(&app.recipient("TZ"), PUBLISH_ANALYSIS, json!({ "id": id }))
        .await;
    assert_eq!(
        error_code(&body),
        Some("NOT_FOUND"),
        "a foreign draft stays hidden: {body}"
    );

    // A coordinator publishes on Kenya's behalf.
    let coordinator = app.token(Role::Coordinator, None, None);
    let published = app
        .ok(&coordinator, PUBLISH_ANALYSIS, json!({ "id": id }))
        .await;
    assert_eq!(published["publishNeedsAnalysis"]["status"], "PUBLISHED");
    app.cleanup().await;
}

#[tokio::test]
async fn missing_expired_or_foreign_tokens_are_unauthenticated() {
    let app = registry().await;
    let query = json!({ "query": "{ viewer { role } }" });

    let (status, body) = app.post(None, query.clone()).await;
    assert_eq!((status, error_code(&body)), (401, Some("UNAUTHENTICATED")));

    let expired = aidgraph_api::auth::Authenticator::shared_secret(
        &aidgraph_api::auth::Secret::new(aidgraph_tests::SECRET),
        "aidgraph",
        "aidgraph",
    )
    .and_then(|a| a.issue("old", Role::Admin, None, None, -3600))
    .unwrap_or_default();
    let foreign = aidgraph_api::auth::Authenticator::shared_secret(
        &aidgraph_api::auth::Secret::new("another-secret-that-is-long-enough-0123"),
        "aidgraph",
        "aidgraph",
    )
    .and_then(|a| a.issue("mallory", Role::Admin, None, None, 3600))
    .unwrap_or_default();
    let wrong_audience = aidgraph_api::auth::Authenticator::shared_secret(
        &aidgraph_api::auth::Secret::new(aidgraph_tests::SECRET),
        "aidgraph",
        "someone-else",
    )
    .and_then(|a| a.issue("x", Role::Admin, None, None, 3600))
    .unwrap_or_default();
    for token in [
        expired.as_str(),
        foreign.as_str(),
        wrong_audience.as_str(),
        "not-a-jwt",
    ] {
        let (status, body) = app.post(Some(token), query.clone()).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, Some("UNAUTHENTICATED")),
            "token {token}: {body}"
        );
    }
    // A forged write with a foreign token changes nothing.
    let (_, body) = app
        .post(
            Some(&foreign),
            json!({ "query": CREATE_ACTIVITY, "variables": { "input": activity_input("X-1", UK, "KE") } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    assert_eq!(activity_count(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn invalid_activities_are_refused_field_by_field_and_nothing_is_stored() {
    let app = registry().await;
    let uk = app.provider(UK);
    // (the field the error must name, the input key to change, its bad value)
    let cases = [
        (
            "recipientCountries[0].code",
            "recipientCountries",
            json!([{ "code": "XX" }]),
        ),
        (
            "sectors",
            "sectors",
            json!([
                { "code": "15130", "percentage": "50" },
                { "code": "15210", "percentage": "40" }
            ]),
        ),
        ("plannedEnd", "plannedEnd", json!("2025-06-30")),
        (
            "budget.amount",
            "budget",
            json!({ "amount": "-5", "currency": "USD" }),
        ),
        (
            "budget.currency",
            "budget",
            json!({ "amount": "5", "currency": "XYZ" }),
        ),
        ("reportingOrg", "reportingOrg", json!("")),
        ("provisions[0]", "provisions", json!(["UNTOC-99"])),
    ];
    for (field, key, bad) in cases {
        let mut input = activity_input("GB-BAD", UK, "KE");
        input[key] = bad;
        let body = app
            .gql(&uk, CREATE_ACTIVITY, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{field}: {body}");
        assert!(
            violation_fields(&body).iter().any(|f| f == field),
            "{field} not named in {body}"
        );
    }
    // Several problems at once are all reported.
    let mut input = activity_input("GB-BAD", UK, "KE");
    input["recipientCountries"] = json!([{ "code": "XX" }]);
    input["budget"] = json!({ "amount": "-1", "currency": "XYZ" });
    let body = app
        .gql(&uk, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    let fields = violation_fields(&body);
    for field in [
        "recipientCountries[0].code",
        "budget.amount",
        "budget.currency",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing in {fields:?}"
        );
    }
    // Unknown participating organisations and foreign needs are input errors too.
    let mut input = activity_input("GB-BAD", UK, "KE");
    input["participatingOrgs"] = json!([{ "ref": "XX-UNKNOWN", "role": "IMPLEMENTING" }]);
    let body = app
        .gql(&uk, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    assert_eq!(violation_fields(&body), vec!["participatingOrgs[0].ref"]);

    assert_eq!(activity_count(&app).await, 0, "nothing may be stored");
    app.cleanup().await;
}

#[tokio::test]
async fn needs_must_be_published_and_in_the_activitys_countries() {
    let app = registry().await;
    let needs = kenya_needs(&app).await;
    let uk = app.provider(UK);
    let mut input = activity_input("GB-TZ", UK, "TZ");
    input["addressesNeeds"] = json!([needs[0], "bm90LWEtbmVlZA"]);
    let body = app
        .gql(&uk, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(violation_fields(&body), vec!["addressesNeeds[1]"]);

    let mut input = activity_input("GB-TZ", UK, "TZ");
    input["addressesNeeds"] = json!([needs[0]]);
    let body = app
        .gql(&uk, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    assert_eq!(violation_fields(&body), vec!["addressesNeeds[0]"], "{body}");

    // Linking later works the same way, and unlinking removes the link.
    let created = app
        .ok(
            &uk,
            CREATE_ACTIVITY,
            json!({ "input": activity_input("GB-KE", UK, "KE") }),
        )
        .await;
    let id = created["createActivity"]["id"].clone();
    let linked = app
        .ok(
            &uk,
            "mutation($a: ID!, $n: [ID!]!) { linkActivityToNeeds(activityId: $a, needIds: $n) {
                version addressesNeeds { id } } }",
            json!({ "a": id, "n": [needs[0], needs[1]] }),
        )
        .await;
    assert_eq!(
        linked["linkActivityToNeeds"]["addressesNeeds"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let unlinked = app
        .ok(
            &uk,
            "mutation($a: ID!, $n: [ID!]!) { unlinkActivityFromNeeds(activityId: $a, needIds: $n) {
                addressesNeeds { id } } }",
            json!({ "a": id, "n": [needs[1]] }),
        )
        .await;
    assert_eq!(
        unlinked["unlinkActivityFromNeeds"]["addressesNeeds"],
        json!([{ "id": needs[0] }])
    );
    app.cleanup().await;
}
