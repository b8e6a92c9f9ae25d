//! The pairwise overlap score of DESIGN.md §4: candidate blocking, each component with its
//! reason, the gates, the score and the class.

use super::config::OverlapConfig;
use super::features::OverlapFeatures;
use super::text::TextVector;
use crate::activity::Window;
use crate::vocab::{ActivityStatus, AssistanceType, OverlapClass};
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use std::collections::BTreeSet;

/// One component of a score, with its reason sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// `geo`, `time`, `topic`, `need`, `type`, `text`, `beneficiary` or `implementer`.
    pub key: &'static str,
    /// The value in [0, 1] (for the gates, G and T).
    pub value: f64,
    /// Its weight; 0 for the gates, which multiply.
    pub weight: f64,
    /// Why, in a sentence.
    pub reason: String,
}

/// The score of a candidate pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    /// 0–100.
    pub score: u8,
    /// The class, before coordination groups are considered (never COORDINATED here).
    pub class: OverlapClass,
    /// The gates and every present component.
    pub components: Vec<Component>,
    /// The time overlap T (for double reporting and coverage).
    pub time_overlap: f64,
}

impl PairScore {
    /// Whether the pair is worth storing as a flag.
    pub fn is_flag(&self, config: &OverlapConfig) -> bool {
        self.class == OverlapClass::DoubleReporting || self.score >= config.possible_threshold
    }
}

/// Days in an inclusive window.
fn days(w: &Window) -> i64 {
    (w.end - w.start).num_days() + 1
}

/// Days two inclusive windows share (0 when apart).
pub fn overlap_days(a: &Window, b: &Window) -> i64 {
    ((a.end.min(b.end) - a.start.max(b.start)).num_days() + 1).max(0)
}

/// Whether an activity can be compared at all: not cancelled, with a window that did not end
/// more than `lookback_years` before `today`.
#[inline]
pub fn is_comparable(f: &OverlapFeatures, config: &OverlapConfig, today: NaiveDate) -> bool {
    let Some(w) = f.window else { return false };
    let horizon = today
        .checked_sub_months(Months::new(12 * config.lookback_years))
        .unwrap_or(NaiveDate::MIN);
    f.status != ActivityStatus::Cancelled && w.end >= horizon
}

/// Candidate blocking: different, both comparable, a shared country, overlapping windows.
#[inline]
pub fn is_candidate(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    config: &OverlapConfig,
    today: NaiveDate,
) -> bool {
    if a.identifier == b.identifier || (a.id != 0 && a.id == b.id) {
        return false;
    }
    if !is_comparable(a, config, today) || !is_comparable(b, config, today) {
        return false;
    }
    if a.countries.is_disjoint(&b.countries) {
        return false;
    }
    matches!((a.window, b.window), (Some(wa), Some(wb)) if overlap_days(&wa, &wb) > 0)
}

fn jaccard<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (k, item) in items.into_iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    out
}

/// Assistance types that count half a match with each other (DESIGN.md §4).
pub const COMPATIBLE_GROUPS: [&[AssistanceType]; 2] = [
    &[
        AssistanceType::LegalAdvice,
        AssistanceType::LegislativeDrafting,
        AssistanceType::ModelLegislationOrAgreements,
    ],
    &[
        AssistanceType::Training,
        AssistanceType::OnSiteExpert,
        AssistanceType::SecondmentExchangeStudyVisit,
    ],
];

/// The assistance-type component: `(e + ½m) / (|A ∪ B| − m)`, with `m` the compatible
/// matches (per group, the smaller of the A-only and B-only counts in it).
pub fn type_similarity(
    a: &BTreeSet<AssistanceType>,
    b: &BTreeSet<AssistanceType>,
) -> (f64, usize, usize) {
    let exact = a.intersection(b).count();
    let union = a.union(b).count();
    let mut compatible = 0;
    for group in COMPATIBLE_GROUPS {
        let a_only = group
            .iter()
            .filter(|t| a.contains(t) && !b.contains(t))
            .count();
        let b_only = group
            .iter()
            .filter(|t| b.contains(t) && !a.contains(t))
            .count();
        compatible += a_only.min(b_only);
    }
    let denominator = union - compatible;
    if denominator == 0 {
        return (0.0, exact, compatible);
    }
    (
        (exact as f64 + 0.5 * compatible as f64) / denominator as f64,
        exact,
        compatible,
    )
}

/// The DAC tier of topic: ½·(S5 + S3).
fn sector_overlap<'a>(
    a: &'a std::collections::BTreeMap<String, f64>,
    b: &'a std::collections::BTreeMap<String, f64>,
) -> (f64, f64) {
    let s5: f64 = a
        .iter()
        .filter_map(|(code, sa)| b.get(code).map(|sb| sa.min(*sb)))
        .sum();
    // The first three characters of each code.
    let categories = |m: &'a std::collections::BTreeMap<String, f64>| {
        let mut c: std::collections::BTreeMap<&'a str, f64> = std::collections::BTreeMap::new();
        for (code, share) in m {
            let end = code.char_indices().nth(3).map_or(code.len(), |(i, _)| i);
            *c.entry(&code[..end]).or_insert(0.0) += share;
        }
        c
    };
    let (ca, cb) = (categories(a), categories(b));
    let s3: f64 = ca
        .iter()
        .filter_map(|(code, sa)| cb.get(code).map(|sb| sa.min(*sb)))
        .sum();
    (s5.min(1.0), s3.min(1.0))
}

fn topic(a: &OverlapFeatures, b: &OverlapFeatures) -> Option<Component> {
    let both_areas = !a.priority_areas.is_empty() && !b.priority_areas.is_empty();
    let shared_areas = || {
        let s: Vec<_> = a.priority_areas.intersection(&b.priority_areas).collect();
        if s.is_empty() {
            "none".to_owned()
        } else {
            list(s)
        }
    };
    if !a.provisions.is_empty() && !b.provisions.is_empty() {
        let jp = jaccard(&a.provisions, &b.provisions);
        let shared: Vec<_> = a.provisions.intersection(&b.provisions).collect();
        let provisions = if shared.is_empty() {
            "No provision in common".to_owned()
        } else {
            format!("Provisions in common: {}", list(shared))
        };
        return Some(if both_areas {
            let value = 0.7 * jp + 0.3 * jaccard(&a.priority_areas, &b.priority_areas);
            Component {
                key: "topic",
                value,
                weight: 0.0,
                reason: format!("{provisions}; priority areas in common: {}", shared_areas()),
            }
        } else {
            Component {
                key: "topic",
                value: jp,
                weight: 0.0,
                reason: provisions,
            }
        });
    }
    if !a.sectors.is_empty() && !b.sectors.is_empty() {
        let (s5, s3) = sector_overlap(&a.sectors, &b.sectors);
        return Some(Component {
            key: "topic",
            value: 0.5 * (s5 + s3),
            weight: 0.0,
            reason: format!(
                "DAC sectors overlap {:.0}% at 5 digits and {:.0}% at 3 digits",
                s5 * 100.0,
                s3 * 100.0
            ),
        });
    }
    if both_areas {
        return Some(Component {
            key: "topic",
            value: 0.6 * jaccard(&a.priority_areas, &b.priority_areas),
            weight: 0.0,
            reason: format!("Priority areas in common: {}", shared_areas()),
        });
    }
    None
}

/// The topic value alone, by the same tiers as the topic component.
fn topic_value(a: &OverlapFeatures, b: &OverlapFeatures) -> Option<f64> {
    let both_areas = !a.priority_areas.is_empty() && !b.priority_areas.is_empty();
    if !a.provisions.is_empty() && !b.provisions.is_empty() {
        let jp = jaccard(&a.provisions, &b.provisions);
        return Some(if both_areas {
            0.7 * jp + 0.3 * jaccard(&a.priority_areas, &b.priority_areas)
        } else {
            jp
        });
    }
    if !a.sectors.is_empty() && !b.sectors.is_empty() {
        let (s5, s3) = sector_overlap(&a.sectors, &b.sectors);
        return Some(0.5 * (s5 + s3));
    }
    both_areas.then(|| 0.6 * jaccard(&a.priority_areas, &b.priority_areas))
}

/// The score and class of a candidate pair without building reasons: the fast path for
/// scanning many pairs. Always equal to [`score_pair`]'s score and class.
pub fn quick_score<K: Ord>(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    text_a: &TextVector<K>,
    text_b: &TextVector<K>,
    config: &OverlapConfig,
) -> (u8, OverlapClass) {
    score_with(
        a,
        b,
        || (!text_a.is_empty() && !text_b.is_empty()).then(|| text_a.cosine(text_b)),
        config,
    )
}

/// An upper bound of [`quick_score`] that needs no text vectors: the text component, when
/// both sides have words, counts as a perfect match. The score rises with the text value
/// (`M = (S + w·t) / (W + w)`), a present text component at 1 never lowers `M`, and double
/// reporting needs text at or above a threshold; so a pair whose bound raises no flag raises
/// none with any text, and its vectors need not be built.
pub fn score_bound(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    config: &OverlapConfig,
) -> (u8, OverlapClass) {
    score_with(
        a,
        b,
        || (!a.terms.is_empty() && !b.terms.is_empty()).then_some(1.0),
        config,
    )
}

/// Whether a candidate pair could raise a flag at all, whatever its text similarity.
pub fn may_flag(a: &OverlapFeatures, b: &OverlapFeatures, config: &OverlapConfig) -> bool {
    let (score, class) = score_bound(a, b, config);
    flags(score, class, config)
}

fn score_with(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    text: impl FnOnce() -> Option<f64>,
    config: &OverlapConfig,
) -> (u8, OverlapClass) {
    let shared = a.countries.intersection(&b.countries).count();
    let smaller = a.countries.len().min(b.countries.len()).max(1);
    let mut g = shared as f64 / smaller as f64;
    if a.countries.len() > 1 || b.countries.len() > 1 {
        g *= config.multi_country_factor;
    }
    let t = match (a.window, b.window) {
        (Some(wa), Some(wb)) => {
            overlap_days(&wa, &wb) as f64 / days(&wa).min(days(&wb)).max(1) as f64
        }
        _ => 0.0,
    };
    let (mut sum, mut weights) = (0.0, 0.0);
    let mut add = |value: f64, weight: f64| {
        sum += value * weight;
        weights += weight;
    };
    if let Some(v) = topic_value(a, b) {
        add(v, config.topic_weight);
    }
    if !a.needs.is_empty() || !b.needs.is_empty() {
        let common = a.needs.keys().any(|k| b.needs.contains_key(k));
        add(if common { 1.0 } else { 0.0 }, config.need_weight);
    }
    if !a.assistance_types.is_empty() && !b.assistance_types.is_empty() {
        add(
            type_similarity(&a.assistance_types, &b.assistance_types).0,
            config.type_weight,
        );
    }
    let text = text();
    if let Some(v) = text {
        add(v, config.text_weight);
    }
    if !a.beneficiaries.is_empty() && !b.beneficiaries.is_empty() {
        add(
            jaccard(&a.beneficiaries, &b.beneficiaries),
            config.beneficiary_weight,
        );
    }
    let same_implementer = a
        .implementers
        .keys()
        .any(|r| b.implementers.contains_key(r));
    if !a.implementers.is_empty() && !b.implementers.is_empty() {
        add(
            if same_implementer { 1.0 } else { 0.0 },
            config.implementer_weight,
        );
    }
    let m = if weights > 0.0 { sum / weights } else { 0.0 };
    let double = is_double_reporting(a, b, text, t, same_implementer, config);
    score_and_class(g, t, m, double, config)
}

/// The score `100·G·(0.5 + 0.5·T)·M`, rounded half up, and its class.
#[inline]
pub fn score_and_class(
    g: f64,
    t: f64,
    m: f64,
    double_reporting: bool,
    config: &OverlapConfig,
) -> (u8, OverlapClass) {
    let score = rounded(raw_score(g, t, m));
    let class = if double_reporting {
        OverlapClass::DoubleReporting
    } else if score >= config.likely_threshold {
        OverlapClass::LikelyDuplication
    } else if score >= config.possible_threshold {
        OverlapClass::PossibleOverlap
    } else {
        OverlapClass::None
    };
    (score, class)
}

/// The score `100·G·(0.5 + 0.5·T)·M` before rounding.
#[inline]
pub fn raw_score(g: f64, t: f64, m: f64) -> f64 {
    100.0 * g * (0.5 + 0.5 * t) * m
}

/// A raw score rounded half up to 0–100.
#[inline]
fn rounded(raw: f64) -> u8 {
    round_half_up(raw).clamp(0.0, 100.0) as u8
}

/// Whether a raw score, rounded, reaches the stored threshold (or the pair double reports):
/// [`flags`] of [`score_and_class`], rounding only a score within a point below the
/// threshold (rounding is monotonic, and far below or at the threshold it cannot decide).
#[inline]
pub fn raw_flags(raw: f64, double_reporting: bool, config: &OverlapConfig) -> bool {
    let threshold = f64::from(config.possible_threshold);
    double_reporting
        || raw >= threshold
        || (raw >= threshold - 1.0 && rounded(raw) >= config.possible_threshold)
}

/// Whether a quick score is worth a stored flag.
#[inline]
pub fn flags(score: u8, class: OverlapClass, config: &OverlapConfig) -> bool {
    class == OverlapClass::DoubleReporting || score >= config.possible_threshold
}

/// Rounds half up, guarding against binary noise just below the half.
#[inline]
fn round_half_up(x: f64) -> f64 {
    ((x * 1e9).round() / 1e9 + 0.5).floor()
}

/// Scores a candidate pair; `text_a` and `text_b` are their TF-IDF vectors over the
/// registry. Call only for pairs that pass [`is_candidate`].
pub fn score_pair<K: Ord>(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    text_a: &TextVector<K>,
    text_b: &TextVector<K>,
    config: &OverlapConfig,
) -> PairScore {
    let mut components = Vec::new();

    // Geography gate.
    let shared: Vec<&String> = a.countries.intersection(&b.countries).collect();
    let smaller = a.countries.len().min(b.countries.len()).max(1);
    let multi = a.countries.len() > 1 || b.countries.len() > 1;
    let mut g = shared.len() as f64 / smaller as f64;
    if multi {
        g *= config.multi_country_factor;
    }
    let geo_reason = if shared.len() == 1 && !multi {
        format!("Both in {}", shared[0])
    } else {
        format!(
            "Share {} of {} countries: {}{}",
            shared.len(),
            smaller,
            list(&shared),
            if multi { " (multi-country, ×0.8)" } else { "" }
        )
    };
    components.push(Component {
        key: "geo",
        value: g,
        weight: 0.0,
        reason: geo_reason,
    });

    // Time gate.
    let (t, overlap, shorter) = match (a.window, b.window) {
        (Some(wa), Some(wb)) => {
            let overlap = overlap_days(&wa, &wb);
            let shorter = days(&wa).min(days(&wb)).max(1);
            (overlap as f64 / shorter as f64, overlap, shorter)
        }
        _ => (0.0, 0, 0),
    };
    components.push(Component {
        key: "time",
        value: t,
        weight: 0.0,
        reason: format!("Overlap {overlap} of {shorter} days"),
    });

    let mut weighted = Vec::new();
    if let Some(mut c) = topic(a, b) {
        c.weight = config.topic_weight;
        weighted.push(c);
    }
    if !a.needs.is_empty() || !b.needs.is_empty() {
        let common: Vec<&String> = a
            .needs
            .iter()
            .filter(|(id, _)| b.needs.contains_key(id))
            .map(|(_, title)| title)
            .collect();
        weighted.push(Component {
            key: "need",
            value: if common.is_empty() { 0.0 } else { 1.0 },
            weight: config.need_weight,
            reason: if common.is_empty() {
                "They address different needs".to_owned()
            } else {
                format!("Both address need “{}”", list(common))
            },
        });
    }
    if !a.assistance_types.is_empty() && !b.assistance_types.is_empty() {
        let (value, exact, compatible) = type_similarity(&a.assistance_types, &b.assistance_types);
        let shared: Vec<_> = a
            .assistance_types
            .intersection(&b.assistance_types)
            .collect();
        let reason = match (exact, compatible) {
            (0, 0) => "No assistance type in common".to_owned(),
            (0, _) => "Compatible assistance types".to_owned(),
            (_, 0) => format!("Assistance types in common: {}", list(shared)),
            _ => format!(
                "Assistance types in common: {}, and compatible ones",
                list(shared)
            ),
        };
        weighted.push(Component {
            key: "type",
            value,
            weight: config.type_weight,
            reason,
        });
    }
    let text = (!text_a.is_empty() && !text_b.is_empty()).then(|| text_a.cosine(text_b));
    if let Some(value) = text {
        weighted.push(Component {
            key: "text",
            value,
            weight: config.text_weight,
            reason: format!("Text similarity {value:.2}"),
        });
    }
    if !a.beneficiaries.is_empty() && !b.beneficiaries.is_empty() {
        let shared: Vec<_> = a.beneficiaries.intersection(&b.beneficiaries).collect();
        weighted.push(Component {
            key: "beneficiary",
            value: jaccard(&a.beneficiaries, &b.beneficiaries),
            weight: config.beneficiary_weight,
            reason: if shared.is_empty() {
                "No beneficiary institution in common".to_owned()
            } else {
                format!("Both benefit {}", list(shared))
            },
        });
    }
    let same_implementer: Option<&String> = a
        .implementers
        .iter()
        .find(|(r, _)| b.implementers.contains_key(*r))
        .map(|(_, name)| name);
    if !a.implementers.is_empty() && !b.implementers.is_empty() {
        weighted.push(Component {
            key: "implementer",
            value: if same_implementer.is_some() { 1.0 } else { 0.0 },
            weight: config.implementer_weight,
            reason: match same_implementer {
                Some(name) => format!("Same implementer: {name}"),
                None => "Different implementers".to_owned(),
            },
        });
    }
    let total_weight: f64 = weighted.iter().map(|c| c.weight).sum();
    let m = if total_weight > 0.0 {
        weighted.iter().map(|c| c.weight * c.value).sum::<f64>() / total_weight
    } else {
        0.0
    };
    components.extend(weighted);
    let double = is_double_reporting(a, b, text, t, same_implementer.is_some(), config);
    let (score, class) = score_and_class(g, t, m, double, config);
    PairScore {
        score,
        class,
        components,
        time_overlap: t,
    }
}

fn is_double_reporting(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    text: Option<f64>,
    t: f64,
    same_implementer: bool,
    config: &OverlapConfig,
) -> bool {
    if !a.external_ids.is_disjoint(&b.external_ids) {
        return true;
    }
    if a.chain_ids.contains(&b.identifier) || b.chain_ids.contains(&a.identifier) {
        return true;
    }
    let budgets_close = match (&a.budget, &b.budget) {
        (Some((x, cx)), Some((y, cy))) if cx == cy => {
            let (x, y) = (x.abs(), y.abs());
            let tolerance = Decimal::from_f64(config.double_budget).unwrap_or_default();
            (x - y).abs() <= x.max(y) * tolerance
        }
        _ => false,
    };
    same_implementer
        && text.is_some_and(|s| s >= config.double_text)
        && t >= config.double_time
        && budgets_close
}
