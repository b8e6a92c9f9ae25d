//! Features and strategies for tests of the overlap rules, here and in the engine (with the
//! `test-support` feature).

use super::features::OverlapFeatures;
use super::text::{TextVector, term_counts};
use crate::activity::Window;
use crate::vocab::{ActivityStatus, AssistanceType as A, InstitutionType as I, PriorityArea};
use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// The date written `s` (`YYYY-MM-DD`).
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// An activity in Kenya over 2026 with nothing else: each test adds what it is about.
pub fn base(id: i64, identifier: &str) -> OverlapFeatures {
    OverlapFeatures {
        id,
        identifier: identifier.into(),
        reporting_org: format!("ORG-{id}"),
        status: ActivityStatus::Implementation,
        countries: BTreeSet::from(["KE".to_owned()]),
        window: Some(Window {
            start: d("2026-01-01"),
            end: d("2026-12-31"),
        }),
        provisions: BTreeSet::new(),
        priority_areas: BTreeSet::new(),
        sectors: BTreeMap::new(),
        needs: BTreeMap::new(),
        assistance_types: BTreeSet::new(),
        beneficiaries: BTreeSet::new(),
        implementers: BTreeMap::new(),
        external_ids: BTreeSet::from([identifier.to_owned()]),
        chain_ids: BTreeSet::new(),
        coordination_links: BTreeSet::new(),
        budget: None,
        terms: Vec::new(),
    }
}

/// Two vectors whose cosine is exactly `target`: a shared unit axis and private ones.
pub fn vectors_with_cosine(target: f64) -> (TextVector, TextVector) {
    // Terms x (shared), y (A only), z (B only), all with IDF 1 (df = n).
    let weight = |t: f64| ((1.0 - t) / t).sqrt();
    let w = weight(target);
    let scale = 1000.0;
    let a = vec![
        ("x".to_owned(), scale as u32),
        ("y".to_owned(), (w * scale).round() as u32),
    ];
    let b = vec![
        ("x".to_owned(), scale as u32),
        ("z".to_owned(), (w * scale).round() as u32),
    ];
    let n = 10;
    (TextVector::new(&a, n, |_| n), TextVector::new(&b, n, |_| n))
}

/// Two training activities with the same provision, area, type and beneficiary, by different
/// implementers: the worked example of DESIGN.md §4.
pub fn training_pair() -> (OverlapFeatures, OverlapFeatures) {
    let mut a = base(1, "GB-1-TRAINING");
    let mut b = base(2, "DE-1-TRAINING");
    for f in [&mut a, &mut b] {
        f.provisions = BTreeSet::from(["UNTOC-18".to_owned()]);
        f.priority_areas = BTreeSet::from([PriorityArea::InternationalCooperation]);
        f.assistance_types = BTreeSet::from([A::Training]);
        f.beneficiaries = BTreeSet::from([I::Prosecution]);
    }
    a.implementers = BTreeMap::from([("XM-DAC-41128".to_owned(), "UNODC".to_owned())]);
    b.implementers = BTreeMap::from([("XM-DEMO-NGO".to_owned(), "An NGO".to_owned())]);
    (a, b)
}

/// Features drawn from small pools of countries, provisions, types, beneficiaries and windows.
pub fn arb_features(id: i64) -> impl Strategy<Value = OverlapFeatures> {
    let countries = prop::sample::subsequence(vec!["KE", "TZ", "UG"], 1..=3);
    let provisions = prop::sample::subsequence(vec!["UNTOC-18", "UNTOC-16", "TIP-6"], 0..=3);
    let types = prop::sample::subsequence(
        vec![
            A::Training,
            A::OnSiteExpert,
            A::LegalAdvice,
            A::LegislativeDrafting,
            A::Other,
        ],
        0..=4,
    );
    let beneficiaries =
        prop::sample::subsequence(vec![I::Prosecution, I::Police, I::Judiciary], 0..=3);
    let start = 0i64..400;
    let len = 1i64..800;
    (countries, provisions, types, beneficiaries, start, len).prop_map(
        move |(countries, provisions, types, beneficiaries, start, len)| {
            let mut f = base(id, &format!("ID-{id}"));
            f.countries = countries.into_iter().map(str::to_owned).collect();
            f.provisions = provisions.into_iter().map(str::to_owned).collect();
            f.assistance_types = types.into_iter().collect();
            f.beneficiaries = beneficiaries.into_iter().collect();
            let s = d("2026-01-01") + chrono::Days::new(start as u64);
            f.window = Some(Window {
                start: s,
                end: s + chrono::Days::new(len as u64),
            });
            f
        },
    )
}

/// Features with every field the bound reads drawn from small pools, so pairs share some.
pub fn arb_rich_features(id: i64) -> impl Strategy<Value = OverlapFeatures> {
    let sectors = prop::sample::subsequence(vec!["15130", "15110", "15210", "16010"], 0..=3);
    let areas = prop::sample::subsequence(
        vec![
            PriorityArea::CriminalJusticeResponse,
            PriorityArea::InternationalCooperation,
            PriorityArea::ProtocolsImplementation,
        ],
        0..=2,
    );
    let needs = prop::sample::subsequence(vec![1i64, 2, 3], 0..=2);
    let implementers = prop::sample::subsequence(vec!["XM-A", "XM-B", "XM-C"], 0..=2);
    let chain = prop::sample::subsequence(vec!["ID-1", "ID-2", "ID-9"], 0..=1);
    let external = prop::sample::subsequence(vec!["EXT-1", "EXT-2"], 0..=1);
    let budget = prop::option::of((90_000i64..110_000, prop::sample::select(vec!["USD", "EUR"])));
    let text = any::<bool>();
    let given_shares = any::<bool>();
    (
        arb_features(id),
        (sectors, given_shares, areas, needs),
        (implementers, chain, external, budget, text),
    )
        .prop_map(
            move |(
                mut f,
                (sectors, given, areas, needs),
                (implementers, chain, external, budget, text),
            )| {
                let n = sectors.len();
                for (k, code) in sectors.iter().enumerate() {
                    let share = if given {
                        [0.6, 0.3, 0.1][k]
                    } else {
                        1.0 / n as f64
                    };
                    f.sectors.insert((*code).to_owned(), share);
                }
                f.priority_areas = areas.into_iter().collect();
                f.needs = needs
                    .into_iter()
                    .map(|n| (n, format!("Need {n}")))
                    .collect();
                f.implementers = implementers
                    .into_iter()
                    .map(|r| (r.to_owned(), r.to_owned()))
                    .collect();
                f.chain_ids = chain.into_iter().map(str::to_owned).collect();
                f.external_ids
                    .extend(external.into_iter().map(str::to_owned));
                f.budget = budget.map(|(amount, c)| (Decimal::new(amount, 0), c.to_owned()));
                if text {
                    f.terms = term_counts("training prosecutors");
                }
                f
            },
        )
}
