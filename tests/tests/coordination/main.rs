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

mod contributions;
mod drafts;
mod evaluations;
mod hand_worked;
mod matrix;
mod mechanisms;
mod paris;
mod rates;
mod records;
mod significance;
