//! The overlap rule's numbers: each component, the worked example of DESIGN.md §4 (score 74),
//! the classes, and properties that must hold for any pair.

use super::config::DEFAULT;
use super::score::{is_candidate, score_pair, type_similarity};
use super::testing::*;
use super::text::{TextVector, term_counts};
use crate::activity::Window;
use crate::vocab::{
    ActivityStatus, AssistanceType as A, InstitutionType as I, OverlapClass, PriorityArea,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

fn component(score: &super::PairScore, key: &str) -> Option<f64> {
    score
        .components
        .iter()
        .find(|c| c.key == key)
        .map(|c| c.value)
}

#[test]
fn worked_example_scores_74_likely_duplication() {
    let (a, b) = training_pair();
    let (ta, tb) = vectors_with_cosine(0.3);
    assert!((ta.cosine(&tb) - 0.3).abs() < 1e-3);
    let s = score_pair(&a, &b, &ta, &tb, &DEFAULT);
    assert_eq!(s.score, 74, "{s:#?}");
    assert_eq!(s.class, OverlapClass::LikelyDuplication);
    assert_eq!(
        component(&s, "need"),
        None,
        "no need links: the need component is absent"
    );
    assert_eq!(component(&s, "topic"), Some(1.0));
    assert_eq!(component(&s, "implementer"), Some(0.0));
    let reasons: Vec<&str> = s.components.iter().map(|c| c.reason.as_str()).collect();
    assert!(reasons.contains(&"Both in KE"), "{reasons:?}");
    assert!(reasons.contains(&"Overlap 365 of 365 days"), "{reasons:?}");
    assert!(reasons.contains(&"Text similarity 0.30"), "{reasons:?}");
    assert!(reasons.contains(&"Different implementers"), "{reasons:?}");
}

#[test]
fn geography_counts_shared_countries_and_discounts_multi_country_once() {
    let (mut a, mut b) = training_pair();
    a.countries = BTreeSet::from(["KE".to_owned(), "TZ".to_owned()]);
    b.countries = BTreeSet::from(["KE".to_owned(), "UG".to_owned(), "TZ".to_owned()]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert!((component(&s, "geo").unwrap_or_default() - 0.8).abs() < 1e-12);
    b.countries = BTreeSet::from(["KE".to_owned(), "UG".to_owned()]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert!((component(&s, "geo").unwrap_or_default() - 0.4).abs() < 1e-12);
}

#[test]
fn windows_are_inclusive_days() {
    let (mut a, mut b) = training_pair();
    a.window = Some(Window {
        start: d("2026-01-01"),
        end: d("2026-01-10"),
    });
    b.window = Some(Window {
        start: d("2026-01-10"),
        end: d("2026-03-01"),
    });
    assert!(
        is_candidate(&a, &b, &DEFAULT, d("2026-06-01")),
        "touching on one day overlaps"
    );
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert!((component(&s, "time").unwrap_or_default() - 0.1).abs() < 1e-12);
    b.window = Some(Window {
        start: d("2026-01-11"),
        end: d("2026-03-01"),
    });
    assert!(!is_candidate(&a, &b, &DEFAULT, d("2026-06-01")));
}

#[test]
fn blocking_leaves_out_cancelled_foreign_and_long_ended_activities() {
    let today = d("2026-06-01");
    let (a, mut b) = training_pair();
    assert!(is_candidate(&a, &b, &DEFAULT, today));
    b.status = ActivityStatus::Cancelled;
    assert!(!is_candidate(&a, &b, &DEFAULT, today));
    let (a, mut b) = training_pair();
    b.countries = BTreeSet::from(["TZ".to_owned()]);
    assert!(!is_candidate(&a, &b, &DEFAULT, today));
    let (mut a, mut b) = training_pair();
    for f in [&mut a, &mut b] {
        f.window = Some(Window {
            start: d("2019-01-01"),
            end: d("2021-05-31"),
        });
    }
    assert!(
        !is_candidate(&a, &b, &DEFAULT, today),
        "ended more than 5 years ago"
    );
    let (a, mut b) = training_pair();
    b.window = None;
    assert!(!is_candidate(&a, &b, &DEFAULT, today));
}

#[test]
fn topic_tier_follows_the_data_both_sides_have() {
    let (mut a, mut b) = training_pair();
    // Provisions tier without priority areas on one side: J(provisions).
    b.priority_areas.clear();
    b.provisions.insert("UNTOC-16".into());
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert!((component(&s, "topic").unwrap_or_default() - 0.5).abs() < 1e-12);
    // DAC tier: ½(S5 + S3).
    a.provisions.clear();
    a.sectors = BTreeMap::from([("15130".into(), 0.6), ("15210".into(), 0.4)]);
    b.sectors = BTreeMap::from([("15130".into(), 0.5), ("15110".into(), 0.5)]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    // S5 = min(.6,.5) = .5; S3: 151 → .6 vs 1.0 → .6, 152 → .4 vs 0 → 0; topic = (.5+.6)/2.
    assert!((component(&s, "topic").unwrap_or_default() - 0.55).abs() < 1e-12);
    // Priority-area tier.
    a.sectors.clear();
    b.priority_areas = BTreeSet::from([PriorityArea::InternationalCooperation]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert!((component(&s, "topic").unwrap_or_default() - 0.6).abs() < 1e-12);
    a.priority_areas.clear();
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert_eq!(component(&s, "topic"), None);
}

#[test]
fn compatible_assistance_types_count_half() {
    let t = |v: &[A]| v.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(
        type_similarity(&t(&[A::Training]), &t(&[A::OnSiteExpert])).0,
        0.5
    );
    assert_eq!(
        type_similarity(&t(&[A::Training]), &t(&[A::Training])).0,
        1.0
    );
    assert_eq!(
        type_similarity(&t(&[A::Training]), &t(&[A::LegalAdvice])).0,
        0.0
    );
    // {TRAINING, LEGAL_ADVICE} vs {ON_SITE_EXPERT, LEGAL_ADVICE}: e=1, m=1, |A∪B|=3 → 1.5/2.
    let v = type_similarity(
        &t(&[A::Training, A::LegalAdvice]),
        &t(&[A::OnSiteExpert, A::LegalAdvice]),
    )
    .0;
    assert!((v - 0.75).abs() < 1e-12);
}

#[test]
fn need_component_is_present_when_either_addresses_a_need() {
    let (mut a, mut b) = training_pair();
    a.needs = BTreeMap::from([(7, "MLA capacity".to_owned())]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert_eq!(component(&s, "need"), Some(0.0));
    b.needs = BTreeMap::from([(7, "MLA capacity".to_owned())]);
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert_eq!(component(&s, "need"), Some(1.0));
    assert!(
        s.components
            .iter()
            .any(|c| c.reason == "Both address need “MLA capacity”")
    );
}

#[test]
fn double_reporting_by_external_id_funding_chain_or_near_identical_twin() {
    let (mut a, mut b) = training_pair();
    b.external_ids.insert(a.identifier.clone());
    let s = score_pair(
        &a,
        &b,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert_eq!(s.class, OverlapClass::DoubleReporting);

    let (a2, mut b2) = training_pair();
    b2.chain_ids.insert(a2.identifier.clone());
    let s = score_pair(
        &a2,
        &b2,
        &TextVector::<String>::default(),
        &TextVector::<String>::default(),
        &DEFAULT,
    );
    assert_eq!(s.class, OverlapClass::DoubleReporting);

    a.external_ids = BTreeSet::from([a.identifier.clone()]);
    b.external_ids = BTreeSet::from([b.identifier.clone()]);
    b.implementers = a.implementers.clone();
    a.budget = Some((Decimal::new(100_000, 0), "USD".into()));
    b.budget = Some((Decimal::new(90_000, 0), "USD".into()));
    let text = TextVector::new(&term_counts("prosecutors training"), 5, |_| 1);
    let s = score_pair(&a, &b, &text, &text, &DEFAULT);
    assert_eq!(s.class, OverlapClass::DoubleReporting);
    b.budget = Some((Decimal::new(80_000, 0), "USD".into()));
    let s = score_pair(&a, &b, &text, &text, &DEFAULT);
    assert_ne!(s.class, OverlapClass::DoubleReporting, "budgets 20% apart");
    b.budget = Some((Decimal::new(100_000, 0), "EUR".into()));
    let s = score_pair(&a, &b, &text, &text, &DEFAULT);
    assert_ne!(
        s.class,
        OverlapClass::DoubleReporting,
        "different currencies"
    );
}

proptest! {
    #[test]
    fn quick_score_agrees_with_the_full_score(a in arb_features(1), b in arb_features(2)) {
        let ta = TextVector::new(&term_counts("training prosecutors mutual assistance"), 5, |_| 1);
        let tb = TextVector::new(&term_counts("training judges assistance"), 5, |_| 2);
        let full = score_pair(&a, &b, &ta, &tb, &DEFAULT);
        let quick = super::score::quick_score(&a, &b, &ta, &tb, &DEFAULT);
        prop_assert_eq!((full.score, full.class), quick);
    }

    #[test]
    fn the_text_free_bound_never_misses_a_flag(
        mut a in arb_features(1),
        mut b in arb_features(2),
        text_a in prop::sample::subsequence(vec!["training", "prosecutors", "judges", "assistance", "border"], 0..=5),
        text_b in prop::sample::subsequence(vec!["training", "prosecutors", "judges", "assistance", "border"], 0..=5),
        same_implementer in any::<bool>(),
        df in 1u64..5,
    ) {
        a.terms = term_counts(&text_a.join(" "));
        b.terms = term_counts(&text_b.join(" "));
        if same_implementer {
            a.implementers = BTreeMap::from([("XM-IMPL".to_owned(), "Implementer".to_owned())]);
            b.implementers = a.implementers.clone();
            a.budget = Some((Decimal::new(100_000, 0), "USD".into()));
            b.budget = Some((Decimal::new(95_000, 0), "USD".into()));
        }
        let ta = TextVector::new(&a.terms, 5, |_| df);
        let tb = TextVector::new(&b.terms, 5, |_| 1);
        let (score, class) = super::score::quick_score(&a, &b, &ta, &tb, &DEFAULT);
        let (bound, bound_class) = super::score::score_bound(&a, &b, &DEFAULT);
        prop_assert!(bound >= score, "bound {} < score {}", bound, score);
        if class == OverlapClass::DoubleReporting {
            prop_assert_eq!(bound_class, OverlapClass::DoubleReporting);
        }
        if super::score::flags(score, class, &DEFAULT) {
            prop_assert!(super::score::may_flag(&a, &b, &DEFAULT));
        }
    }

    #[test]
    fn score_is_symmetric_and_bounded(a in arb_features(1), b in arb_features(2)) {
        let e = TextVector::<String>::default();
        let ab = score_pair(&a, &b, &e, &e, &DEFAULT);
        let ba = score_pair(&b, &a, &e, &e, &DEFAULT);
        prop_assert_eq!(ab.score, ba.score);
        prop_assert_eq!(ab.class, ba.class);
        prop_assert!(ab.score <= 100);
    }

    #[test]
    fn adding_a_shared_element_never_lowers_the_score(
        a in arb_features(1),
        b in arb_features(2),
        shared in prop::sample::select(vec![I::Forensics, I::Corrections]),
    ) {
        let e = TextVector::<String>::default();
        // Beneficiaries on both sides already: add the same new institution to both.
        prop_assume!(!a.beneficiaries.is_empty() && !b.beneficiaries.is_empty());
        let before = score_pair(&a, &b, &e, &e, &DEFAULT).score;
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.beneficiaries.insert(shared);
        b2.beneficiaries.insert(shared);
        prop_assert!(score_pair(&a2, &b2, &e, &e, &DEFAULT).score >= before);
    }

    #[test]
    fn adding_a_shared_provision_never_lowers_the_score(a in arb_features(1), b in arb_features(2)) {
        let e = TextVector::<String>::default();
        prop_assume!(!a.provisions.is_empty() && !b.provisions.is_empty());
        let before = score_pair(&a, &b, &e, &e, &DEFAULT).score;
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.provisions.insert("SOM-6".into());
        b2.provisions.insert("SOM-6".into());
        prop_assert!(score_pair(&a2, &b2, &e, &e, &DEFAULT).score >= before);
    }
}

#[test]
fn the_bound_rounds_only_just_below_the_threshold() {
    use super::score::raw_flags;
    // 40 is the stored threshold; rounding half up decides only within the point below it.
    for (raw, flags) in [
        (38.9, false),
        (39.0, false),
        (39.49, false),
        (39.499_999_999_9, true),
        (39.5, true),
        (40.0, true),
        (87.0, true),
    ] {
        assert_eq!(raw_flags(raw, false, &DEFAULT), flags, "raw score {raw}");
    }
    assert!(
        raw_flags(0.0, true, &DEFAULT),
        "double reporting is always stored"
    );
}
