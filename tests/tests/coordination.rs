//! Coordination records and dashboard analytics end to end (docs/coordination.md): the coverage
//! matrix, provider significance, Paris indicators and contribution totals checked against
//! figures worked out by hand; drafts kept out of every sum; evaluations and the lessons they
//! feed back; missions, analytic work, contributions and mechanisms recorded by coordinators;
//! mechanism links; and exchange-rate loads that change nothing when one line is bad.

use aidgraph_domain::vocab::Role;
use aidgraph_tests::{TestApp, activity_input, error_code, violation_fields};
use serde_json::{Value, json};

const UK: &str = "GB-GOV-1";
const DE: &str = "DE-1";
const UNODC: &str = "XM-DAC-41128";

const CJR: &str = "CRIMINAL_JUSTICE_RESPONSE";
const IC: &str = "INTERNATIONAL_COOPERATION";
const DCC: &str = "DATA_COLLECTION_CAPACITY";

const CREATE_ACTIVITY: &str = "mutation($input: ActivityInput!) {
  createActivity(input: $input) { id version publication } }";
const PUBLISH_ACTIVITY: &str = "mutation($id: ID!, $v: Int!) {
  publishActivity(id: $id, expectedVersion: $v) { id version publication } }";
const LOAD_RATES: &str = "mutation($csv: String!) { loadExchangeRates(csv: $csv) { loaded } }";
const RECORD_EVALUATION: &str =
    "mutation($input: EvaluationInput!) { recordEvaluation(input: $input) {
  id title evaluator date independent
  ratings { relevance coherence effectiveness efficiency impact sustainability }
  whatWorked whatDidNotWork link recordedBy activities { iatiIdentifier } } }";
const RECORD_MISSION: &str = "mutation($input: MissionInput!) { recordMission(input: $input) {
  id title country joint startDate endDate organisations { ref } onBehalfOf { ref } recordedBy } }";
const RECORD_ANALYTIC_WORK: &str = "mutation($input: AnalyticWorkInput!) { recordAnalyticWork(input: $input) {
  id title country joint startDate endDate link organisations { ref } onBehalfOf { ref } recordedBy } }";
const RECORD_CONTRIBUTION: &str =
    "mutation($input: ContributionInput!) { recordContribution(input: $input) {
  id donor { ref } fund earmark amount { amount currency } year status date recordedBy } }";
const CREATE_MECHANISM: &str = "mutation($input: CoordinationMechanismInput!) {
  createCoordinationMechanism(input: $input) {
    id name level countries members { ref } chair { ref } description } }";
const LINK: &str = "mutation($m: ID!, $a: [ID!], $n: [ID!]) {
  linkToMechanism(mechanismId: $m, activityIds: $a, needIds: $n) {
    activities { iatiIdentifier } needs { id } } }";
const UNLINK: &str = "mutation($m: ID!, $a: [ID!], $n: [ID!]) {
  unlinkFromMechanism(mechanismId: $m, activityIds: $a, needIds: $n) {
    activities { iatiIdentifier } needs { id } } }";

const MATRIX_FIELDS: &str = "columns currency providerCeiling
  rows { code name kind cells { column columnName
    needs { unmet covered duplicated total }
    activities activeProviders providers activeBudget unconverted { amount currency }
    openFlags { doubleReporting coordinated likelyDuplication possibleOverlap total }
    hhi fragmentation shareBasis overCeiling } }";
const SIGNIFICANCE_FIELDS: &str = "provider { ref } country amount share globalShare
  aboveGlobalShare withinNinetyPercent significant shareBasis";
const PARIS_FIELDS: &str =
    "indicator unit value numerator denominator records reported target currency";
const SUMMARY: &str = "query($f: ContributionFilter, $c: String!) {
  contributionSummary(filter: $f, currency: $c) {
    donor { ref } year currency pledged paid generalPurpose specialPurpose other
    generalPurposeShare unconvertedPledged { amount currency }
    unconvertedPaid { amount currency } } }";

/// A global id that decodes as an activity but names none.
const UNKNOWN_ACTIVITY: &str = "QWN0aXZpdHk6OTk5OTk5";

/// The Paris Declaration's 2010 targets, in the order the indicators come back.
const TARGETS: [(&str, Option<f64>); 10] = [
    ("3", Some(85.0)),
    ("4", Some(50.0)),
    ("5a", None),
    ("5b", None),
    ("6", None),
    ("7", None),
    ("8", None),
    ("9", Some(66.0)),
    ("10a", Some(40.0)),
    ("10b", Some(66.0)),
];

/// One expected indicator: (indicator, numerator, denominator, records, reported, value).
type Indicator = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    Option<f64>,
);

/// One provider's significance: (ref, amount, share, global share, above global share,
/// within 90 %, significant); shares in thousandths.
type Significance<'a> = (
    &'a str,
    &'a str,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
);

async fn registry() -> TestApp {
    let app = TestApp::spawn().await;
    app.organisation(UK, "DONOR_STATE").await;
    app.organisation(DE, "DONOR_STATE").await;
    app.organisation(UNODC, "UNODC").await;
    app
}

fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A float rounded to thousandths, for comparing computed shares and percentages.
fn r3(value: &Value) -> Option<i64> {
    value.as_f64().map(|x| (x * 1000.0).round() as i64)
}

/// The expected side of [`r3`].
fn about(x: f64) -> Option<i64> {
    Some((x * 1000.0).round() as i64)
}

/// A Decimal string as a number, for values whose scale the contract leaves open.
fn number(value: &Value) -> Option<f64> {
    value.as_str().and_then(|s| s.parse::<f64>().ok())
}

/// A list of Money as (amount, currency) pairs.
fn money(list: &Value) -> Vec<(Option<f64>, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|m| (number(&m["amount"]), id_of(&m["currency"])))
        .collect()
}

/// A list of strings, sorted.
fn sorted(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// The `ref`s of a list of organisations, sorted.
fn sorted_refs(list: &Value) -> Vec<String> {
    let mut refs = pluck(list, "ref");
    refs.sort();
    refs
}

/// The values of `key` in each element of a list, in order.
fn pluck(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|v| id_of(&v[key]))
        .collect()
}

/// An activity running from 2026-01-01 to 2027-06-30 — active in 2026 and today (2026-11-29).
fn running(identifier: &str, org: &str, country: &str) -> Value {
    let mut input = activity_input(identifier, org, country);
    input["plannedEnd"] = json!("2027-06-30");
    input
}

/// Registers `input` as its reporting organisation, then publishes it; returns the id.
async fn published(app: &TestApp, input: Value) -> String {
    let org = id_of(&input["reportingOrg"]);
    let token = app.provider(&org);
    let created = app
        .ok(&token, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    let activity = &created["createActivity"];
    assert_eq!(activity["publication"], "DRAFT");
    let done = app
        .ok(
            &token,
            PUBLISH_ACTIVITY,
            json!({ "id": activity["id"], "v": activity["version"] }),
        )
        .await;
    assert_eq!(
        done["publishActivity"]["publication"], "PUBLISHED",
        "{done}"
    );
    id_of(&activity["id"])
}

/// The recipient of `country` publishes an analysis with `needs`; returns the need ids.
async fn publish_analysis(app: &TestApp, country: &str, needs: Value) -> Vec<String> {
    let token = app.recipient(country);
    let created = app
        .ok(
            &token,
            "mutation($input: NeedsAnalysisInput!) { createNeedsAnalysis(input: $input) { id needs { id } } }",
            json!({ "input": { "recipientCountry": country, "source": "SELF_ASSESSMENT_QUESTIONNAIRE", "needs": needs } }),
        )
        .await;
    let analysis = &created["createNeedsAnalysis"];
    app.ok(
        &token,
        "mutation($id: ID!) { publishNeedsAnalysis(id: $id) { status } }",
        json!({ "id": analysis["id"] }),
    )
    .await;
    pluck(&analysis["needs"], "id")
}

async fn coverage_state(app: &TestApp, need: &str) -> Value {
    app.ok(
        &app.recipient("KE"),
        "query($id: ID!) { need(id: $id) { coverage { state } } }",
        json!({ "id": need }),
    )
    .await["need"]["coverage"]["state"]
        .clone()
}

/// `coverageMatrix` with `args` written inline (so left-out arguments take the server's
/// defaults).
async fn matrix(app: &TestApp, token: &str, args: &str) -> Value {
    let query = format!("{{ coverageMatrix{args} {{ {MATRIX_FIELDS} }} }}");
    app.ok(token, &query, json!({})).await["coverageMatrix"].clone()
}

async fn significance(app: &TestApp, token: &str, filter: Value) -> Value {
    let query = format!(
        "query($f: AnalyticsFilter!) {{ providerSignificance(filter: $f) {{ {SIGNIFICANCE_FIELDS} }} }}"
    );
    app.ok(token, &query, json!({ "f": filter })).await["providerSignificance"].clone()
}

async fn paris(
    app: &TestApp,
    token: &str,
    year: i32,
    provider: Option<&str>,
    country: Option<&str>,
) -> Value {
    let query = format!(
        "query($year: Int!, $provider: String, $country: String) {{
            parisIndicators(year: $year, provider: $provider, recipientCountry: $country) {{ {PARIS_FIELDS} }} }}"
    );
    app.ok(
        token,
        &query,
        json!({ "year": year, "provider": provider, "country": country }),
    )
    .await["parisIndicators"]
        .clone()
}

async fn summary(app: &TestApp, token: &str, filter: Value, currency: &str) -> Value {
    app.ok(token, SUMMARY, json!({ "f": filter, "c": currency }))
        .await["contributionSummary"]
        .clone()
}

/// The row codes of a matrix, in order.
fn row_codes(matrix: &Value) -> Vec<String> {
    pluck(&matrix["rows"], "code")
}

fn row<'a>(matrix: &'a Value, code: &str) -> &'a Value {
    matrix["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("no row {code} in {matrix:#}"))
}

fn cell<'a>(matrix: &'a Value, code: &str, column: &str) -> &'a Value {
    row(matrix, code)["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["column"] == column)
        .unwrap_or_else(|| panic!("no cell {code} × {column} in {matrix:#}"))
}

fn needs(unmet: i64, covered: i64, duplicated: i64) -> Value {
    json!({ "unmet": unmet, "covered": covered, "duplicated": duplicated,
            "total": unmet + covered + duplicated })
}

/// Checks a cell's activities, providers (sorted), converted budget, HHI (with fragmentation
/// = 1 − HHI, both to 3 decimals) and share basis.
fn assert_cell(
    cell: &Value,
    activities: i64,
    providers: &[&str],
    budget: &str,
    hhi: f64,
    basis: &str,
) {
    assert_eq!(cell["activities"], activities, "activities: {cell:#}");
    assert_eq!(
        cell["activeProviders"],
        providers.len(),
        "activeProviders: {cell:#}"
    );
    assert_eq!(sorted(&cell["providers"]), providers, "providers: {cell:#}");
    assert_eq!(cell["activeBudget"], budget, "activeBudget: {cell:#}");
    assert_eq!(r3(&cell["hhi"]), about(hhi), "hhi: {cell:#}");
    assert_eq!(
        r3(&cell["fragmentation"]),
        about(1.0 - hhi),
        "fragmentation: {cell:#}"
    );
    assert_eq!(cell["shareBasis"], basis, "shareBasis: {cell:#}");
}

/// OPEN overlap flags sharing `country`, with what the cell test needs of both activities.
async fn open_flags(app: &TestApp, token: &str, country: &str) -> Vec<Value> {
    let data = app
        .ok(
            token,
            "query($c: String) { overlapFlags(filter: { country: $c, status: [OPEN] }, first: 100) {
                edges { node { class
                    activityA { priorityAreas recipientCountries { code } }
                    activityB { priorityAreas recipientCountries { code } } } } } }",
            json!({ "c": country }),
        )
        .await;
    data["overlapFlags"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["node"].clone())
        .collect()
}

fn lists(activity: &Value, country: &str, area: &str) -> bool {
    activity["recipientCountries"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["code"] == country)
        && activity["priorityAreas"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a == area)
}

/// What `openFlags` must say for the cell `country` × `area`: the flags whose two
/// activities both list the country and the priority area, by class.
fn flag_counts(flags: &[Value], country: &str, area: &str) -> Value {
    let mut counts = [0_i64; 4];
    for flag in flags {
        if !(lists(&flag["activityA"], country, area) && lists(&flag["activityB"], country, area)) {
            continue;
        }
        let i = match flag["class"].as_str() {
            Some("DOUBLE_REPORTING") => 0,
            Some("COORDINATED") => 1,
            Some("LIKELY_DUPLICATION") => 2,
            _ => 3,
        };
        counts[i] += 1;
    }
    json!({
        "doubleReporting": counts[0],
        "coordinated": counts[1],
        "likelyDuplication": counts[2],
        "possibleOverlap": counts[3],
        "total": counts.iter().sum::<i64>(),
    })
}

fn significance_rows(rows: &Value) -> Vec<Significance<'_>> {
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["provider"]["ref"].as_str().unwrap_or_default(),
                r["amount"].as_str().unwrap_or_default(),
                r3(&r["share"]),
                r3(&r["globalShare"]),
                r["aboveGlobalShare"].as_bool(),
                r["withinNinetyPercent"].as_bool(),
                r["significant"].as_bool(),
            )
        })
        .collect()
}

/// Checks every indicator of a `parisIndicators` answer against `expected` and the targets.
fn assert_indicators(got: &Value, expected: &[Indicator; 10], scope: &str) {
    let rows = got.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 10, "{scope}: {got:#}");
    for ((row, want), (code, target)) in rows.iter().zip(expected).zip(TARGETS) {
        let (indicator, numerator, denominator, records, reported, value) = *want;
        assert_eq!(
            indicator, code,
            "the expected table follows the indicator order"
        );
        assert_eq!(row["indicator"], indicator, "{scope}: order {got:#}");
        assert_eq!(
            row["numerator"], numerator,
            "{scope} {indicator}: numerator {row}"
        );
        assert_eq!(
            row["denominator"], denominator,
            "{scope} {indicator}: denominator {row}"
        );
        assert_eq!(
            row["records"], records,
            "{scope} {indicator}: records {row}"
        );
        assert_eq!(
            row["reported"], reported,
            "{scope} {indicator}: reported {row}"
        );
        assert_eq!(
            r3(&row["value"]),
            value.and_then(about),
            "{scope} {indicator}: value {row}"
        );
        assert_eq!(
            row["target"].as_f64(),
            target,
            "{scope} {indicator}: target {row}"
        );
        let unit = if indicator == "6" { "COUNT" } else { "PERCENT" };
        assert_eq!(row["unit"], unit, "{scope} {indicator}: unit {row}");
        if indicator == "7" {
            assert_eq!(row["currency"], "USD", "{scope} 7: currency {row}");
        }
    }
}

/// Checks one `contributionSummary` row; `sums` are pledged, paid, general purpose, special
/// purpose and other.
fn assert_total(row: &Value, year: i64, donor: &str, sums: [&str; 5], share: Option<f64>) {
    assert_eq!(row["year"], year, "{row:#}");
    assert_eq!(row["donor"]["ref"], donor, "{row:#}");
    let keys = [
        "pledged",
        "paid",
        "generalPurpose",
        "specialPurpose",
        "other",
    ];
    for (key, want) in keys.into_iter().zip(sums) {
        assert_eq!(row[key], want, "{donor} {year} {key}: {row:#}");
    }
    assert_eq!(
        r3(&row["generalPurposeShare"]),
        share.and_then(about),
        "{donor} {year} generalPurposeShare: {row:#}"
    );
}

fn joint_work(
    title: &str,
    country: &str,
    orgs: &[&str],
    on_behalf_of: Option<&str>,
    start: &str,
) -> Value {
    let mut input =
        json!({ "title": title, "country": country, "organisations": orgs, "startDate": start });
    if let Some(org) = on_behalf_of {
        input["onBehalfOf"] = json!(org);
    }
    input
}

fn contribution(
    donor: &str,
    fund: &str,
    earmark: Option<&str>,
    amount: &str,
    currency: &str,
    year: i32,
    status: &str,
) -> Value {
    let mut input = json!({ "donor": donor, "fund": fund,
        "amount": { "amount": amount, "currency": currency }, "year": year, "status": status });
    if let Some(earmark) = earmark {
        input["earmark"] = json!(earmark);
    }
    input
}

fn evaluation(activity_ids: Value, title: &str, date: &str, independent: bool) -> Value {
    json!({ "activityIds": activity_ids, "title": title, "evaluator": "Particip GmbH",
            "date": date, "independent": independent })
}

async fn evaluation_count(app: &TestApp) -> Value {
    app.ok(
        &app.token(Role::Viewer, None, None),
        "{ evaluations { totalCount } }",
        json!({}),
    )
    .await["evaluations"]["totalCount"]
        .clone()
}

/// `totalCount` of a connection field written inline, read as a viewer.
async fn total(app: &TestApp, field: &str) -> Value {
    let query = format!("{{ x: {field} {{ totalCount }} }}");
    app.ok(&app.token(Role::Viewer, None, None), &query, json!({}))
        .await["x"]["totalCount"]
        .clone()
}

/// Whether a violation field names `csv` line `line` (any run of digits in it equals `line`).
fn names_line(field: &str, line: u32) -> bool {
    field.starts_with("csv")
        && field
            .split(|c: char| !c.is_ascii_digit())
            .any(|digits| digits.parse::<u32>().ok() == Some(line))
}

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

    // ---- coverageMatrix, 2026 ----
    let y2026 = matrix(&app, &viewer, "(filter: { year: 2026 })").await;
    assert_eq!(y2026["columns"], "PRIORITY_AREA");
    assert_eq!(y2026["currency"], "USD");
    assert_eq!(y2026["providerCeiling"], 5);
    assert_eq!(row_codes(&y2026), ["KE", "TZ"], "{y2026:#}");
    assert_eq!(row(&y2026, "KE")["name"], "Kenya");
    assert_eq!(row(&y2026, "KE")["kind"], "COUNTRY");
    assert_eq!(row(&y2026, "TZ")["kind"], "COUNTRY");
    // A6 is not active in 2026, so Kenya has no DATA_COLLECTION_CAPACITY cell.
    for code in ["KE", "TZ"] {
        assert_eq!(
            pluck(&row(&y2026, code)["cells"], "column"),
            [CJR, IC],
            "{code}"
        );
    }

    // KE × CRIMINAL_JUSTICE_RESPONSE: A3 100 × 0.6 × ½ = 30 (DE) + A4 20 (UNODC) = 50.
    // Shares 0.6 / 0.4: HHI = 0.36 + 0.16 = 0.52. Needs: N2 duplicated.
    let c = cell(&y2026, "KE", CJR);
    assert_cell(c, 2, &[DE, UNODC], "50.00", 0.52, "BUDGET");
    assert_eq!(c["needs"], needs(0, 0, 1), "{c:#}");
    assert_eq!(c["unconverted"], json!([]));
    assert_eq!(c["overCeiling"], false);
    // KE × INTERNATIONAL_COOPERATION: A1 1170 (UK) + A3 100 × 0.6 × ½ = 30 (DE) = 1200.
    // Shares 0.975 / 0.025: HHI = 0.950625 + 0.000625 = 0.95125. Needs: N1 covered, N3 unmet.
    let c = cell(&y2026, "KE", IC);
    assert_cell(c, 2, &[DE, UK], "1200.00", 0.95125, "BUDGET");
    assert_eq!(c["needs"], needs(1, 1, 0), "{c:#}");
    // TZ × CRIMINAL_JUSTICE_RESPONSE: A3 100 × 0.4 × ½ = 20 (DE) + A5 30 (UNODC) = 50.
    // Shares 0.4 / 0.6: HHI = 0.52. Tanzania published no needs: all zero.
    let c = cell(&y2026, "TZ", CJR);
    assert_cell(c, 2, &[DE, UNODC], "50.00", 0.52, "BUDGET");
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");
    // TZ × INTERNATIONAL_COOPERATION: A2 1180 (UK) + A3 100 × 0.4 × ½ = 20 (DE) = 1200.
    // HHI = (1180² + 20²) / 1200² = 1392800 / 1440000 = 0.96722.
    let c = cell(&y2026, "TZ", IC);
    assert_cell(
        c,
        2,
        &[DE, UK],
        "1200.00",
        1_392_800.0 / 1_440_000.0,
        "BUDGET",
    );
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");

    // ---- coverageMatrix without a year: active today, each budget at its start year's rate ----
    let today = matrix(&app, &viewer, "").await;
    assert_eq!(today["columns"], "PRIORITY_AREA");
    assert_eq!(today["currency"], "USD");
    assert_eq!(today["providerCeiling"], 5);
    assert_eq!(row_codes(&today), ["KE", "TZ"]);
    let mut ke_columns = pluck(&row(&today, "KE")["cells"], "column");
    ke_columns.sort();
    assert_eq!(ke_columns, [CJR, DCC, IC]);
    // A1–A5 are in implementation and start in 2026: their cells are the 2026 cells.
    for (code, column) in [("KE", CJR), ("KE", IC), ("TZ", CJR), ("TZ", IC)] {
        assert_eq!(
            cell(&today, code, column),
            cell(&y2026, code, column),
            "{code} × {column}"
        );
    }
    // KE × DATA_COLLECTION_CAPACITY: A6 alone; its 100 EUR has no 2027 rate, so nothing is
    // added and it is listed as unconverted; with no converted budget the shares are of
    // activities: one provider, HHI 1.
    let c = cell(&today, "KE", DCC);
    assert_cell(c, 1, &[DE], "0.00", 1.0, "ACTIVITIES");
    assert_eq!(money(&c["unconverted"]), [(Some(100.0), "EUR".to_owned())]);
    assert_eq!(c["needs"], needs(0, 0, 0), "{c:#}");

    // Open flags: the score has its own tests; every cell must count exactly the OPEN flags
    // whose two activities both sit in it.
    for m in [&y2026, &today] {
        for r in m["rows"].as_array().into_iter().flatten() {
            let country = r["code"].as_str().unwrap_or_default();
            let flags = open_flags(&app, &viewer, country).await;
            for c in r["cells"].as_array().into_iter().flatten() {
                let column = c["column"].as_str().unwrap_or_default();
                assert_eq!(
                    c["openFlags"],
                    flag_counts(&flags, country, column),
                    "{country} × {column}: {flags:#?}"
                );
            }
        }
    }
    // A3 and A4 share Kenya, UNTOC-18, TRAINING, PROSECUTION, the need N2 and their dates,
    // so they score well over 40: the check above is not vacuous.
    assert!(
        cell(&y2026, "KE", CJR)["openFlags"]["total"]
            .as_i64()
            .unwrap_or(0)
            >= 1,
        "{y2026:#}"
    );

    // A provider ceiling of 1: every cell above has two active providers.
    let ceiling = matrix(
        &app,
        &viewer,
        "(filter: { year: 2026 }, providerCeiling: 1)",
    )
    .await;
    assert_eq!(ceiling["providerCeiling"], 1);
    for (code, column) in [("KE", CJR), ("KE", IC), ("TZ", CJR), ("TZ", IC)] {
        assert_eq!(
            cell(&ceiling, code, column)["overCeiling"],
            true,
            "{code} × {column}"
        );
    }

    // Filters: one country and one priority area, in EUR: 50 USD × 0.80 = 40 EUR.
    let narrow = matrix(
        &app,
        &viewer,
        r#"(filter: { country: "KE", priorityArea: CRIMINAL_JUSTICE_RESPONSE, year: 2026 }, currency: "EUR")"#,
    )
    .await;
    assert_eq!(narrow["currency"], "EUR");
    assert_eq!(row_codes(&narrow), ["KE"]);
    assert_eq!(pluck(&row(&narrow, "KE")["cells"], "column"), [CJR]);
    assert_eq!(cell(&narrow, "KE", CJR)["activeBudget"], "40.00");
    // One provider's activities (Germany's A3: 30 in each Kenya cell, 20 in each Tanzania
    // cell); the recipient's needs stay.
    let german = matrix(
        &app,
        &viewer,
        r#"(filter: { provider: "DE-1", year: 2026 })"#,
    )
    .await;
    for (code, column, budget) in [
        ("KE", CJR, "30.00"),
        ("KE", IC, "30.00"),
        ("TZ", CJR, "20.00"),
        ("TZ", IC, "20.00"),
    ] {
        assert_cell(cell(&german, code, column), 1, &[DE], budget, 1.0, "BUDGET");
    }
    assert_eq!(cell(&german, "KE", CJR)["needs"], needs(0, 0, 1));
    assert_eq!(cell(&german, "KE", IC)["needs"], needs(1, 1, 0));

    // ---- coverageMatrix by DAC sector, 2026: needs have no sector ----
    let dac = matrix(
        &app,
        &viewer,
        "(filter: { year: 2026 }, columns: DAC_SECTOR)",
    )
    .await;
    assert_eq!(dac["columns"], "DAC_SECTOR");
    assert_eq!(row_codes(&dac), ["KE", "TZ"]);
    for code in ["KE", "TZ"] {
        assert_eq!(
            pluck(&row(&dac, code)["cells"], "column"),
            ["15130", "15210"]
        );
        for c in row(&dac, code)["cells"].as_array().into_iter().flatten() {
            assert!(c["needs"].is_null(), "{c:#}");
        }
    }
    // KE × 15130: A1 1170 + A3 100 × 0.6 × 0.5 = 30 + A4 20 = 1220;
    // HHI = (1170² + 30² + 20²) / 1220² = 1370200 / 1488400 = 0.92059.
    let c = cell(&dac, "KE", "15130");
    assert_eq!(c["columnName"], "Legal and judicial development");
    assert_cell(
        c,
        3,
        &[DE, UK, UNODC],
        "1220.00",
        1_370_200.0 / 1_488_400.0,
        "BUDGET",
    );
    // KE × 15210: A3 100 × 0.6 × 0.5 = 30.
    assert_cell(cell(&dac, "KE", "15210"), 1, &[DE], "30.00", 1.0, "BUDGET");
    // TZ × 15130: A2 1180 + A3 100 × 0.4 × 0.5 = 20 + A5 30 = 1230;
    // HHI = (1180² + 20² + 30²) / 1230² = 1393700 / 1512900 = 0.92121.
    assert_cell(
        cell(&dac, "TZ", "15130"),
        3,
        &[DE, UK, UNODC],
        "1230.00",
        1_393_700.0 / 1_512_900.0,
        "BUDGET",
    );
    // TZ × 15210: A3 100 × 0.4 × 0.5 = 20.
    assert_cell(cell(&dac, "TZ", "15210"), 1, &[DE], "20.00", 1.0, "BUDGET");

    // ---- providerSignificance in Kenya, 2026 ----
    // Kenya: UK 1170 (A1), DE 100 × 0.6 = 60 (A3), UNODC 20 (A4); total 1250:
    // shares 0.936, 0.048, 0.016.
    // Everywhere: UK 1170 + 1180 = 2350, DE 100, UNODC 20 + 30 = 50; total 2500:
    // global shares 0.94, 0.04, 0.02.
    // UK: 0.936 < 0.94, but first (nothing before it) → significant by the 90 % rule only.
    // DE: 0.048 ≥ 0.04 → significant by its share only (the UK before it holds 0.936 ≥ 0.9).
    // UNODC: 0.016 < 0.02 and 0.984 before it → not significant.
    let sig = significance(&app, &viewer, json!({ "country": "KE", "year": 2026 })).await;
    assert_eq!(
        significance_rows(&sig),
        vec![
            (
                UK,
                "1170.00",
                about(0.936),
                about(0.94),
                Some(false),
                Some(true),
                Some(true)
            ),
            (
                DE,
                "60.00",
                about(0.048),
                about(0.04),
                Some(true),
                Some(false),
                Some(true)
            ),
            (
                UNODC,
                "20.00",
                about(0.016),
                about(0.02),
                Some(false),
                Some(false),
                Some(false)
            ),
        ],
        "{sig:#}"
    );
    for r in sig.as_array().into_iter().flatten() {
        assert_eq!(r["country"], "KE");
        assert_eq!(r["shareBasis"], "BUDGET");
    }
    // Narrowed to the CRIMINAL_JUSTICE_RESPONSE cell: DE 30, UNODC 20 in Kenya (0.6, 0.4);
    // everywhere in that area: DE 100 × ½ = 50, UNODC 20 + 30 = 50 (0.5 each).
    // DE: 0.6 ≥ 0.5 and first; UNODC: 0.4 < 0.5, but only 0.6 before it → both significant.
    let sig = significance(
        &app,
        &viewer,
        json!({ "country": "KE", "year": 2026, "priorityArea": CJR }),
    )
    .await;
    assert_eq!(
        significance_rows(&sig),
        vec![
            (
                DE,
                "30.00",
                about(0.6),
                about(0.5),
                Some(true),
                Some(true),
                Some(true)
            ),
            (
                UNODC,
                "20.00",
                about(0.4),
                about(0.5),
                Some(false),
                Some(true),
                Some(true)
            ),
        ],
        "{sig:#}"
    );
    // The country is required.
    let body = app
        .gql(
            &viewer,
            &format!(
                "{{ providerSignificance(filter: {{ year: 2026 }}) {{ {SIGNIFICANCE_FIELDS} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

    // ---- parisIndicators, 2026: A1–A5 (A6 starts in 2027), missions M1–M4 and M6,
    // analytic work W1, W2, W5, W6 ----
    let all: [Indicator; 10] = [
        // 3: on budget A1, A2, A4 of the four that report it (A5 does not) → 3 / 4.
        ("3", "3", "4", 5, 4, Some(75.0)),
        // 4: A1, A3, A4 address a published need; A2 is co-funded with UNODC's A4; A5 is
        //    alone → 4 / 5.
        ("4", "4", "5", 5, 5, Some(80.0)),
        // 5a: A1 uses country PFM, A2 does not, the rest do not say → 1 / 2.
        ("5a", "1", "2", 5, 2, Some(50.0)),
        // 5b: only A1 reports, and does not use country procurement → 0 / 1.
        ("5b", "0", "1", 5, 1, Some(0.0)),
        // 6: A2 and A4 run a parallel PIU, A1 does not → the count 2, of 3 reporting.
        ("6", "2", "3", 5, 3, Some(2.0)),
        // 7: A1 and A2 schedule 2026 disbursements: S = (400 + 400) / 0.80 + 250 = 1250;
        //    D = 320 / 0.80 (A1's disbursement) + 100 (A2's expenditure) = 500 — not A1's
        //    commitment, not A2's 2027 disbursement, not A3 (no schedule);
        //    min / max = 500 / 1250 = 40 %.
        ("7", "500.00", "1250.00", 5, 2, Some(40.0)),
        // 8: untied (5) A1, A3; tied (4) A2; partially tied (3) A4 → 2 / 4.
        ("8", "2", "4", 5, 4, Some(50.0)),
        // 9: programme-based A1, A3, A4; not A2, A5 → 3 / 5.
        ("9", "3", "5", 5, 5, Some(60.0)),
        // 10a: M1, M2 joint; M3, M4, M6 not (M5 is 2025) → 2 / 5.
        ("10a", "2", "5", 5, 5, Some(40.0)),
        // 10b: W1, W5 joint; W2, W6 not (W4 is 2025) → 2 / 4.
        ("10b", "2", "4", 4, 4, Some(50.0)),
    ];
    assert_indicators(&paris(&app, &viewer, 2026, None, None).await, &all, "2026");

    // Narrowed to CRIMINAL_JUSTICE_RESPONSE: A3, A4, A5; missions and analytic work follow
    // country and provider only, so 10a and 10b stay as above.
    let cjr: [Indicator; 10] = [
        // 3: A3 not on budget, A4 on budget, A5 silent → 1 / 2.
        ("3", "1", "2", 3, 2, Some(50.0)),
        // 4: A3 and A4 address N2; A5 neither needs nor group → 2 / 3.
        ("4", "2", "3", 3, 3, Some(200.0 / 3.0)),
        ("5a", "0", "0", 3, 0, None),
        ("5b", "0", "0", 3, 0, None),
        // 6: only A4 reports, with a parallel PIU → the count 1.
        ("6", "1", "1", 3, 1, Some(1.0)),
        ("7", "0.00", "0.00", 3, 0, None),
        // 8: A3 untied, A4 partially tied → 1 / 2.
        ("8", "1", "2", 3, 2, Some(50.0)),
        // 9: A3, A4 programme-based, A5 not → 2 / 3.
        ("9", "2", "3", 3, 3, Some(200.0 / 3.0)),
        ("10a", "2", "5", 5, 5, Some(40.0)),
        ("10b", "2", "4", 4, 4, Some(50.0)),
    ];
    let narrowed = app
        .ok(
            &viewer,
            &format!(
                "{{ parisIndicators(year: 2026, filter: {{ priorityArea: CRIMINAL_JUSTICE_RESPONSE }}) {{ {PARIS_FIELDS} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_indicators(&narrowed["parisIndicators"], &cjr, "2026 CJR");
    let body = app
        .gql(
            &viewer,
            "{ parisIndicators(year: 2026, filter: { year: 2025 }) { indicator } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(violation_fields(&body), ["filter.year"], "{body}");

    // The UK's: A1 and A2; missions with the UK: M1, M3; analytic work: W1, W5.
    let uk: [Indicator; 10] = [
        ("3", "2", "2", 2, 2, Some(100.0)),
        ("4", "2", "2", 2, 2, Some(100.0)),
        // 5a: A1 yes, A2 no.
        ("5a", "1", "2", 2, 2, Some(50.0)),
        // 5b: A1 no; A2 does not say.
        ("5b", "0", "1", 2, 1, Some(0.0)),
        // 6: A2 yes, A1 no → count 1.
        ("6", "1", "2", 2, 2, Some(1.0)),
        // 7: both schedule: S = 1000 + 250 = 1250, D = 400 + 100 = 500.
        ("7", "500.00", "1250.00", 2, 2, Some(40.0)),
        // 8: A1 untied, A2 tied.
        ("8", "1", "2", 2, 2, Some(50.0)),
        // 9: A1 yes, A2 no.
        ("9", "1", "2", 2, 2, Some(50.0)),
        // 10a: M1 joint, M3 not.
        ("10a", "1", "2", 2, 2, Some(50.0)),
        // 10b: W1 and W5 both joint.
        ("10b", "2", "2", 2, 2, Some(100.0)),
    ];
    assert_indicators(
        &paris(&app, &viewer, 2026, Some(UK), None).await,
        &uk,
        "2026 UK",
    );

    // Kenya's: A1, A3, A4; missions M1–M4; analytic work W1, W2.
    let kenya: [Indicator; 10] = [
        // 3: A1 yes, A3 no, A4 yes → 2 / 3.
        ("3", "2", "3", 3, 3, Some(200.0 / 3.0)),
        // 4: all three address N1 or N2.
        ("4", "3", "3", 3, 3, Some(100.0)),
        // 5a: only A1 reports, and uses country PFM.
        ("5a", "1", "1", 3, 1, Some(100.0)),
        // 5b: only A1 reports, and does not.
        ("5b", "0", "1", 3, 1, Some(0.0)),
        // 6: A4 yes, A1 no; A3 does not say → count 1.
        ("6", "1", "2", 3, 2, Some(1.0)),
        // 7: only A1 schedules: S = 800 / 0.80 = 1000, D = 320 / 0.80 = 400.
        ("7", "400.00", "1000.00", 3, 1, Some(40.0)),
        // 8: A1 and A3 untied, A4 partially tied → 2 / 3.
        ("8", "2", "3", 3, 3, Some(200.0 / 3.0)),
        // 9: A1, A3, A4 all programme-based.
        ("9", "3", "3", 3, 3, Some(100.0)),
        // 10a: M1, M2 joint; M3, M4 not.
        ("10a", "2", "4", 4, 4, Some(50.0)),
        // 10b: W1 joint, W2 not.
        ("10b", "1", "2", 2, 2, Some(50.0)),
    ];
    assert_indicators(
        &paris(&app, &viewer, 2026, None, Some("KE")).await,
        &kenya,
        "2026 KE",
    );

    // 2025: no activity ran (value null where nothing reports); only M5 and W4, both joint.
    let earlier: [Indicator; 10] = [
        ("3", "0", "0", 0, 0, None),
        ("4", "0", "0", 0, 0, None),
        ("5a", "0", "0", 0, 0, None),
        ("5b", "0", "0", 0, 0, None),
        ("6", "0", "0", 0, 0, None),
        ("7", "0.00", "0.00", 0, 0, None),
        ("8", "0", "0", 0, 0, None),
        ("9", "0", "0", 0, 0, None),
        ("10a", "1", "1", 1, 1, Some(100.0)),
        ("10b", "1", "1", 1, 1, Some(100.0)),
    ];
    assert_indicators(
        &paris(&app, &viewer, 2025, None, None).await,
        &earlier,
        "2025",
    );

    // ---- contributionSummary: by year, then donor ref ----
    let rows = summary(&app, &viewer, Value::Null, "USD").await;
    let list = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(
        list.iter()
            .map(|r| (r["year"].as_i64().unwrap_or(0), id_of(&r["donor"]["ref"])))
            .collect::<Vec<_>>(),
        vec![
            (2025, DE.to_owned()),
            (2025, UK.to_owned()),
            (2026, DE.to_owned()),
            (2026, UK.to_owned()),
        ],
        "{rows:#}"
    );
    for r in &list {
        assert_eq!(r["currency"], "USD");
    }
    // Germany 2025: pledged 180 EUR / 0.90 = 200; nothing paid → share null.
    assert_total(
        &list[0],
        2025,
        DE,
        ["200.00", "0.00", "0.00", "0.00", "0.00"],
        None,
    );
    // UK 2025: paid 45 EUR / 0.90 = 50, special purpose → share 0 / 50 = 0.
    assert_total(
        &list[1],
        2025,
        UK,
        ["0.00", "50.00", "0.00", "50.00", "0.00"],
        Some(0.0),
    );
    // Germany 2026: paid 90 EUR / 0.80 = 112.50, general purpose → share 1.
    assert_total(
        &list[2],
        2026,
        DE,
        ["0.00", "112.50", "112.50", "0.00", "0.00"],
        Some(1.0),
    );
    // UK 2026: pledged 1000; paid 600 (general) + 100 EUR / 0.80 = 125 (special, TIP)
    // + 75 (other) = 800; the 50 GBP has no rate and is not added → share 600 / 800 = 0.75.
    assert_total(
        &list[3],
        2026,
        UK,
        ["1000.00", "800.00", "600.00", "125.00", "75.00"],
        Some(0.75),
    );
    assert_eq!(
        money(&list[3]["unconvertedPaid"]),
        [(Some(50.0), "GBP".to_owned())]
    );
    assert_eq!(list[3]["unconvertedPledged"], json!([]));
    for r in &list[..3] {
        assert_eq!(r["unconvertedPaid"], json!([]), "{r:#}");
        assert_eq!(r["unconvertedPledged"], json!([]), "{r:#}");
    }
    // The filter narrows to one row.
    let one = summary(&app, &viewer, json!({ "donor": UK, "year": 2026 }), "USD").await;
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one:#}");
    assert_total(
        &one[0],
        2026,
        UK,
        ["1000.00", "800.00", "600.00", "125.00", "75.00"],
        Some(0.75),
    );
    let in_2025 = summary(&app, &viewer, json!({ "year": 2025 }), "USD").await;
    assert_eq!(
        in_2025
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| id_of(&r["donor"]["ref"]))
            .collect::<Vec<_>>(),
        [DE, UK]
    );
    // In EUR: Germany's 90 EUR → 112.50 USD → × 0.80 = 90 EUR.
    let eur = summary(&app, &viewer, json!({ "donor": DE, "year": 2026 }), "EUR").await;
    assert_eq!(eur[0]["currency"], "EUR", "{eur:#}");
    assert_total(
        &eur[0],
        2026,
        DE,
        ["0.00", "90.00", "90.00", "0.00", "0.00"],
        Some(1.0),
    );
    app.cleanup().await;
}

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

async fn rates(app: &TestApp, args: &str) -> Value {
    let query = format!(
        "{{ exchangeRates{args} {{ totalCount edges {{ node {{ currency month unitsPerUsd }} }} }} }}"
    );
    app.ok(&app.admin(), &query, json!({})).await["exchangeRates"].clone()
}

/// EUR rates of 2026 as (month, units per USD), by month.
async fn eur_2026(app: &TestApp) -> Vec<(String, Option<f64>)> {
    let list = rates(app, r#"(currency: "EUR", year: 2026)"#).await;
    let mut out: Vec<(String, Option<f64>)> = list["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                id_of(&e["node"]["month"]),
                number(&e["node"]["unitsPerUsd"]),
            )
        })
        .collect();
    assert_eq!(list["totalCount"], out.len(), "{list:#}");
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn exchange_rates_load_only_for_admins_and_reject_bad_files_whole() {
    let app = registry().await;
    let good =
        "currency,month,units_per_usd\nEUR,2026-01,0.80\nEUR,2026-02,0.90\nGBP,2026-01,0.75\n";

    // Not for coordinators or providers.
    for token in [app.token(Role::Coordinator, None, None), app.provider(UK)] {
        let body = app.gql(&token, LOAD_RATES, json!({ "csv": good })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    assert_eq!(rates(&app, "").await["totalCount"], 0);

    // One good line (2) and four bad ones (3–6; the header is line 1): nothing is stored,
    // and each bad line is named.
    let bad = "currency,month,units_per_usd\n\
               EUR,2026-01,0.80\n\
               XXY,2026-01,1.50\n\
               EUR,2026-13,0.80\n\
               GBP,2026-01,-1\n\
               GBP,2026-02,abc\n";
    let body = app
        .gql(&app.admin(), LOAD_RATES, json!({ "csv": bad }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let fields = violation_fields(&body);
    assert!(!fields.is_empty(), "{body}");
    assert!(
        fields.iter().all(|f| f.starts_with("csv")),
        "fields name csv lines: {fields:?}"
    );
    for line in [3, 4, 5, 6] {
        assert!(
            fields.iter().any(|f| names_line(f, line)),
            "line {line} not named in {fields:?}"
        );
    }
    assert!(
        !fields.iter().any(|f| names_line(f, 2)),
        "the good line is not an error: {fields:?}"
    );
    assert_eq!(rates(&app, "").await["totalCount"], 0, "nothing stored");

    // A good file loads every line.
    let loaded = app
        .ok(&app.admin(), LOAD_RATES, json!({ "csv": good }))
        .await;
    assert_eq!(loaded["loadExchangeRates"]["loaded"], 3);
    assert_eq!(
        eur_2026(&app).await,
        [
            ("2026-01".to_owned(), Some(0.80)),
            ("2026-02".to_owned(), Some(0.90))
        ]
    );
    let listed = rates(&app, r#"(currency: "EUR", year: 2026)"#).await;
    assert!(
        listed["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["node"]["currency"] == "EUR"),
        "{listed:#}"
    );
    assert_eq!(rates(&app, "").await["totalCount"], 3);

    // The 2026 EUR rate is the mean of its months: (0.80 + 0.90) / 2 = 0.85, so 51 EUR = 60 USD.
    let coordinator = app.token(Role::Coordinator, None, None);
    app.ok(
        &coordinator,
        RECORD_CONTRIBUTION,
        json!({ "input": contribution(UK, "GENERAL_PURPOSE", None, "51.00", "EUR", 2026, "PAID") }),
    )
    .await;
    let paid = summary(
        &app,
        &coordinator,
        json!({ "donor": UK, "year": 2026 }),
        "USD",
    )
    .await;
    assert_eq!(paid[0]["paid"], "60.00", "{paid:#}");

    // Loading a month again replaces it: still three rates, February now 0.70.
    let loaded = app
        .ok(
            &app.admin(),
            LOAD_RATES,
            json!({ "csv": "currency,month,units_per_usd\nEUR,2026-02,0.70\n" }),
        )
        .await;
    assert_eq!(loaded["loadExchangeRates"]["loaded"], 1);
    assert_eq!(
        eur_2026(&app).await,
        [
            ("2026-01".to_owned(), Some(0.80)),
            ("2026-02".to_owned(), Some(0.70))
        ]
    );
    assert_eq!(rates(&app, "").await["totalCount"], 3);
    // And the analytics use it: (0.80 + 0.70) / 2 = 0.75, so 51 EUR = 68 USD.
    let paid = summary(
        &app,
        &coordinator,
        json!({ "donor": UK, "year": 2026 }),
        "USD",
    )
    .await;
    assert_eq!(paid[0]["paid"], "68.00", "{paid:#}");
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
    let db = app.store.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT entity, action, actor_role FROM audit_entries \
             WHERE entity <> 'activity' AND entity <> 'organisation' ORDER BY id",
        ))
        .await
        .unwrap_or_default();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "entity").unwrap_or_default(),
                r.try_get::<String>("", "action").unwrap_or_default(),
                r.try_get::<String>("", "actor_role").unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("evaluation", "create", "PROVIDER"),
        ("mission", "create", "COORDINATOR"),
        ("contribution", "create", "COORDINATOR"),
        ("coordination_mechanism", "create", "COORDINATOR"),
        ("coordination_mechanism", "link", "COORDINATOR"),
        ("exchange_rates", "load", "ADMIN"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
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
