//! The project's own IATI files (`tests/fixtures`, one per version from 1.01 to 2.03, written
//! for these tests) read, map and survive the writer: what each version says in its own forms
//! lands in the registry's terms, with the warnings an importer reports.

use aidgraph_domain::vocab::{ActivityStatus, OrgRole, RelatedActivityType};
use aidgraph_iati::map::{MappedActivity, Reason};
use aidgraph_iati::reader::IatiReader;
use aidgraph_iati::{Element, map_activity, upgrade, writer};
use chrono::NaiveDate;
use rust_decimal::Decimal;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each activity of `xml` as read, in 2.03 terms (1.0x ones upgraded, as the importer does).
async fn elements(xml: &str) -> (String, Vec<Element>) {
    let mut reader = IatiReader::new(xml.as_bytes());
    let mut out = Vec::new();
    while let Some(raw) = reader
        .next_activity()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        out.push(upgrade::upgrade_if_legacy(raw.element, &reader.version));
    }
    (reader.version.clone(), out)
}

async fn read(xml: &str) -> (String, Vec<MappedActivity>) {
    let (version, all) = elements(xml).await;
    let mapped = all
        .iter()
        .map(|e| map_activity(e).unwrap_or_else(|e| panic!("{e:?}")))
        .collect();
    (version, mapped)
}

async fn one(name: &str) -> MappedActivity {
    let (_, mut all) = read(&fixture(name)).await;
    assert_eq!(all.len(), 1, "{name}");
    all.remove(0)
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn reasons(m: &MappedActivity) -> Vec<Reason> {
    m.warnings.iter().map(|w| w.reason).collect()
}

fn pct(n: i64) -> Option<Decimal> {
    Some(Decimal::from(n))
}

const ALL: [&str; 8] = [
    "v101.xml", "v102.xml", "v103.xml", "v104.xml", "v105.xml", "v201.xml", "v202.xml", "v203.xml",
];

#[tokio::test]
async fn each_version_reads_in_its_own_forms() {
    for (name, version) in ALL.iter().zip([
        "1.01", "1.02", "1.03", "1.04", "1.05", "2.01", "2.02", "2.03",
    ]) {
        let (read_version, all) = read(&fixture(name)).await;
        assert_eq!(read_version, version, "{name}");
        assert!(!all.is_empty(), "{name}");
    }

    let a = one("v101.xml").await.data;
    assert_eq!(a.titles[0].text, "Witness protection training");
    assert_eq!(
        a.descriptions[0].text,
        "Courses for witness protection units."
    );
    let roles: Vec<OrgRole> = a.participating_orgs.iter().map(|p| p.role).collect();
    assert_eq!(roles, [OrgRole::Funding, OrgRole::Implementing]);
    assert_eq!(
        (a.planned_start, a.planned_end),
        (date("2025-01-01"), date("2026-12-31"))
    );
    assert_eq!(
        (a.sectors[0].code.as_str(), a.sectors[0].vocabulary.as_str()),
        ("15130", "1")
    );
    assert_eq!(a.transactions[0].kind, "3", "letter D is a disbursement");
    assert_eq!(a.transactions[0].value.currency, "EUR");

    let b = one("v102.xml").await;
    assert_eq!(
        (b.data.actual_start, b.data.planned_end),
        (date("2025-02-01"), date("2027-01-31")),
        "START-ACTUAL and END-PLANNED in capitals are dates too"
    );
    assert_eq!(b.data.status, ActivityStatus::Implementation);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);

    let c = one("v103.xml").await;
    assert_eq!(c.data.iati_identifier, "XI-TEST-103-1");
    assert_eq!(c.data.participating_orgs.len(), 1);
    let named = &c.data.iati.named_participants;
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].names[0].text, "Lakeside Legal Aid Society");
    assert_eq!(
        (named[0].role, named[0].org_type.as_deref()),
        (OrgRole::Implementing, Some("22"))
    );
    assert_eq!(reasons(&c), [Reason::NamedWithoutReference]);
    assert_eq!(
        c.data.related_activities[0].kind,
        RelatedActivityType::Sibling
    );
    assert_eq!(
        (c.data.actual_start, c.data.actual_end),
        (date("2024-06-01"), date("2025-05-31"))
    );

    let d = one("v104.xml").await.data;
    assert_eq!(d.iati.default_flow_type.as_deref(), Some("10"));
    assert_eq!(d.iati.default_finance_type.as_deref(), Some("110"));
    assert_eq!(d.paris.tied_status.as_deref(), Some("5"));
    let kinds: Vec<&str> = d.transactions.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["2", "1"], "C is a commitment, IF incoming funds");

    let (_, v105) = read(&fixture("v105.xml")).await;
    let e = v105[0].data.clone();
    assert_eq!(
        e.descriptions[0].text,
        "Formation des magistrats du parquet."
    );
    assert_eq!(e.descriptions[0].lang, "fr");
    let kinds: Vec<&str> = e
        .iati
        .other_descriptions
        .iter()
        .map(|d| d.kind.as_str())
        .collect();
    assert_eq!(kinds, ["2", "3"]);

    // 1.0x translations are repeated elements: one title and one description, each in two
    // languages; word codes and text-only elements read as their 2.03 forms.
    let f = &v105[1];
    let texts = |list: &[aidgraph_domain::activity::Narrative]| -> Vec<(String, String)> {
        list.iter()
            .map(|n| (n.lang.clone(), n.text.clone()))
            .collect()
    };
    assert_eq!(
        texts(&f.data.titles),
        [
            ("en".into(), "Border management training".into()),
            ("fr".into(), "Formation à la gestion des frontières".into())
        ]
    );
    assert_eq!(f.data.descriptions.len(), 2);
    assert!(f.data.iati.other_descriptions.is_empty());
    assert_eq!(f.data.external_ids, ["BA-77"]);
    assert_eq!(f.data.transactions[0].kind, "2");
    assert_eq!(
        f.data.iati.document_links.len(),
        2,
        "the activity website is a document link"
    );
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
}

#[tokio::test]
async fn a_1_0x_activity_is_written_back_whole_in_2_03_terms() {
    let (_, all) = elements(&fixture("v105.xml")).await;
    let source = &all[1];
    let mapped = map_activity(source).unwrap_or_else(|e| panic!("{e:?}"));
    let mut xml = Vec::new();
    writer::activity_from_source(&mut xml, &mapped.data, &Default::default(), source)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(xml).unwrap_or_default();
    for part in [
        r#"<location><name><narrative>Rosso</narrative><narrative xml:lang="fr">Rosso (poste frontière)</narrative></name>"#,
        r#"<point srsName="http://www.opengis.net/def/crs/EPSG/0/4326"><pos>16.5 -15.8</pos></point><exactness code="1"/><feature-designation code="PPL"/>"#,
        r#"<contact-info type="1"><organisation><narrative>Test Ministry</narrative></organisation>"#,
        r#"<policy-marker vocabulary="1" code="1" significance="1"><narrative>Gender equality</narrative></policy-marker>"#,
        r#"<result type="1" aggregation-status="false"><title><narrative>Officers trained</narrative><narrative xml:lang="fr">Agents formés</narrative></title>"#,
        r#"<baseline year="2024" value="0"><comment><narrative>None before</narrative></comment></baseline>"#,
        r#"<conditions attached="1"><condition type="1"><narrative>Training curriculum approved</narrative></condition></conditions>"#,
        r#"<provider-org ref="XI-TEST"><narrative>Test Ministry</narrative></provider-org>"#,
        r#"<crs-add><other-flags code="1" significance="1"/></crs-add>"#,
        r#"<planned-disbursement><period-start iso-date="2025-04-01"/>"#,
    ] {
        assert!(text.contains(part), "{part}\nnot in\n{text}");
    }
    assert!(!text.contains("updated="), "{text}");
}

#[tokio::test]
async fn sectors_and_countries_on_transactions_become_the_activitys() {
    let m = one("v201.xml").await;
    let sectors: Vec<(&str, Option<Decimal>)> = m
        .data
        .sectors
        .iter()
        .map(|s| (s.code.as_str(), s.percentage))
        .collect();
    assert_eq!(sectors, [("15130", pct(75)), ("15210", pct(25))]);
    let countries: Vec<(&str, Option<Decimal>)> = m
        .data
        .recipient_countries
        .iter()
        .map(|c| (c.code.as_str(), c.percentage))
        .collect();
    assert_eq!(countries, [("KE", pct(75)), ("UG", pct(25))]);
    assert_eq!(
        reasons(&m),
        [Reason::FromTransactions, Reason::FromTransactions]
    );
}

#[tokio::test]
async fn repeated_codes_merge_and_placeholders_are_no_organisation() {
    let (_, all) = read(&fixture("v202.xml")).await;
    let m = &all[0];
    assert_eq!(m.data.sectors.len(), 1);
    assert_eq!(m.data.sectors[0].percentage, pct(100), "30 % + 70 %");
    let refs: Vec<&str> = m
        .data
        .participating_orgs
        .iter()
        .map(|p| p.org_ref.as_str())
        .collect();
    assert_eq!(refs, ["XI-TEST"], "N/A is not an organisation");
    assert!(m.organisations.iter().all(|o| o.org_ref != "N/A"));
    let named = &m.data.iati.named_participants;
    assert_eq!(named.len(), 2);
    assert_eq!(named[0].names[0].text, "Harbour Rights Foundation");
    assert_eq!(named[0].org_type.as_deref(), Some("21"));
    assert_eq!(named[1].names.len(), 2, "both languages kept");
    let mut r = reasons(m);
    r.sort();
    assert_eq!(
        r,
        [
            Reason::PlaceholderReference,
            Reason::NamedWithoutReference,
            Reason::RepeatedCode
        ]
    );
    // An `N/A` implementer stored before placeholders were refused matches nothing.
    // It is read back from its stored document, as the registry reads it.
    let mut document = serde_json::to_value(&all[0].data).unwrap_or_default();
    if let Some(orgs) = document["participating_orgs"].as_array_mut() {
        let placeholder = aidgraph_domain::activity::Participation {
            org_ref: "N/A".into(),
            role: OrgRole::Implementing,
            activity_id: None,
        };
        orgs.push(serde_json::to_value(placeholder).unwrap_or_default());
    }
    let stored: aidgraph_domain::activity::ActivityData =
        serde_json::from_value(document).unwrap_or_else(|e| panic!("{e}"));
    let features = aidgraph_domain::overlap::OverlapFeatures::of(
        1,
        &stored,
        Default::default(),
        &Default::default(),
    );
    assert!(features.implementers.is_empty());
}

#[tokio::test]
async fn what_the_registry_models_survives_the_writer() {
    for name in ALL {
        let (_, all) = read(&fixture(name)).await;
        let mut xml = Vec::new();
        writer::begin(&mut xml, "2026-01-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        for m in &all {
            writer::activity(&mut xml, &m.data, &Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        writer::end(&mut xml).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(xml).unwrap_or_default();
        let (version, again) = read(&text).await;
        assert_eq!(version, "2.03");
        assert_eq!(again.len(), all.len(), "{name}");
        for (a, b) in all.iter().zip(&again) {
            assert_eq!(a.data, b.data, "{name}: {text}");
        }
    }
}
