//! The screens and the pair pipeline against the rules they stand for: the packed and sketch
//! bounds never turn away a pair the exact score would flag, and the pipeline scores, classes
//! and lets coordination override as DESIGN.md §4 says.

use crate::packed::{self, Packed, sketch};
use crate::pair::{self, Side};
use aidgraph_domain::overlap::config::DEFAULT;
use aidgraph_domain::overlap::score;
use aidgraph_domain::overlap::testing::*;
use aidgraph_domain::overlap::text::{TextVector, term_counts};
use aidgraph_domain::vocab::{AssistanceType as A, OverlapClass};
use proptest::prelude::*;
use std::collections::BTreeSet;

#[test]
fn the_pair_rule_scores_classes_and_lets_coordination_override() {
    let (a, b) = training_pair();
    let (ta, tb) = vectors_with_cosine(0.3);
    let (pa, pb) = (Packed::of(&a), Packed::of(&b));
    let today = d("2026-06-01");
    assert!(pair::screen(&a, &b, &pa, &pb, false, &DEFAULT, today));
    assert!(sketch::may_flag(&pa.sketch(), &pb.sketch(), &DEFAULT));
    let side = |features, packed, text| Side {
        features,
        packed,
        text,
    };
    let judged = |coordinated: bool, reasons: bool| {
        pair::judge(
            side(&a, &pa, &ta),
            side(&b, &pb, &tb),
            || coordinated,
            reasons,
            &DEFAULT,
        )
    };
    // Reasons only when asked for.
    let alone = judged(false, false).map(|j| (j.score, j.class, j.full.is_some()));
    assert_eq!(alone, Some((74, OverlapClass::LikelyDuplication, false)));
    let grouped = judged(true, true).map(|j| (j.score, j.class, j.full.map(|f| f.score)));
    assert_eq!(grouped, Some((74, OverlapClass::Coordinated, Some(74))));

    // Another country: not a candidate, so never scored.
    let mut elsewhere = b.clone();
    elsewhere.countries = BTreeSet::from(["TZ".to_owned()]);
    let pe = Packed::of(&elsewhere);
    assert!(!pair::screen(
        &a, &elsewhere, &pa, &pe, false, &DEFAULT, today
    ));

    // Double reporting stays what it is inside a coordination group.
    let mut twin = a.clone();
    twin.id = 3;
    twin.identifier = "GB-1-TRAINING-COPY".into();
    twin.external_ids = BTreeSet::from(["GB-1-TRAINING".to_owned()]);
    let pt = Packed::of(&twin);
    let double = pair::judge(
        side(&a, &pa, &ta),
        side(&twin, &pt, &ta),
        || true,
        false,
        &DEFAULT,
    );
    assert_eq!(double.map(|j| j.class), Some(OverlapClass::DoubleReporting));
}

proptest! {
    #[test]
    fn packed_scores_are_the_scores(a in arb_rich_features(1), b in arb_rich_features(2)) {
        let (pa, pb) = (Packed::of(&a), Packed::of(&b));
        prop_assert_eq!(
            packed::score_bound(&pa, &pb, &DEFAULT),
            score::score_bound(&a, &b, &DEFAULT)
        );
        let ta = TextVector::new(&a.terms, 5, |_| 2);
        let tb = TextVector::new(&term_counts("training judges"), 5, |_| 1);
        let text = (!ta.is_empty() && !tb.is_empty()).then(|| ta.cosine(&tb));
        prop_assert_eq!(
            packed::quick_score(&pa, &pb, text, &DEFAULT),
            Some(score::quick_score(&a, &b, &ta, &tb, &DEFAULT))
        );
        prop_assert_eq!(
            packed::may_flag(&pa, &pb, &DEFAULT),
            score::may_flag(&a, &b, &DEFAULT)
        );
        // The sketch bound lets through every pair the packed bound does.
        if packed::may_flag(&pa, &pb, &DEFAULT) {
            prop_assert!(sketch::may_flag(&pa.sketch(), &pb.sketch(), &DEFAULT));
        }
        prop_assert_eq!(
            pa.overlaps(&pb),
            !a.countries.is_disjoint(&b.countries)
                && matches!((a.window, b.window), (Some(x), Some(y)) if score::overlap_days(&x, &y) > 0)
        );
    }
}

#[test]
fn the_sketch_bound_turns_away_a_pair_with_nothing_in_common() {
    // The two provisions' and implementers' hashes land on different signature bits (one
    // chance in 32 each that two would not); the property test covers every other case.
    let (mut a, mut b) = (base(1, "A"), base(2, "B"));
    a.provisions.insert("UNTOC-18".into());
    b.provisions.insert("FIREARMS-7".into());
    a.assistance_types.insert(A::Training);
    b.assistance_types.insert(A::EquipmentMaterial);
    a.implementers.insert("XM-A".into(), "A".into());
    b.implementers.insert("XM-B".into(), "B".into());
    let (pa, pb) = (Packed::of(&a), Packed::of(&b));
    assert!(!packed::may_flag(&pa, &pb, &DEFAULT));
    assert!(!sketch::may_flag(&pa.sketch(), &pb.sketch(), &DEFAULT));
    // Sharing the provision and the implementer over the same year could flag.
    b.provisions.insert("UNTOC-18".into());
    b.implementers.insert("XM-A".into(), "A".into());
    let pb = Packed::of(&b);
    assert!(packed::may_flag(&pa, &pb, &DEFAULT));
    assert!(sketch::may_flag(&pa.sketch(), &pb.sketch(), &DEFAULT));
}

#[test]
fn codes_that_do_not_pack_let_every_pair_through() {
    let (mut a, b) = (base(1, "A"), base(2, "B"));
    a.sectors.insert("151".into(), 1.0);
    let (pa, pb) = (Packed::of(&a), Packed::of(&b));
    assert!(score::score_bound(&a, &b, &DEFAULT).0 < DEFAULT.possible_threshold);
    assert!(packed::may_flag(&pa, &pb, &DEFAULT));
    assert!(pa.overlaps(&pb));
}
