//! The one rule for a pair of activities, followed by every path that raises flags (a write,
//! a dry run, a full recompute): a pair that passes the screen is scored; a pair whose score
//! raises a flag gets its class, COORDINATED overriding any class but DOUBLE_REPORTING when
//! the two share a coordination group.
//!
//! The sketch screen ([`crate::packed::sketch::may_flag`]) may turn pairs away before this
//! one: it accepts every pair that [`screen`] accepts (a property test holds it).

use crate::packed::{self, Packed};
use aidgraph_domain::overlap::score::{flags, is_candidate, quick_score};
use aidgraph_domain::overlap::{OverlapConfig, OverlapFeatures, PairScore, TextVector, score_pair};
use aidgraph_domain::vocab::OverlapClass;
use chrono::NaiveDate;

/// One side of a pair: its features, packed, and its text vector over the registry.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a, K> {
    /// The features.
    pub features: &'a OverlapFeatures,
    /// The same, packed.
    pub packed: &'a Packed,
    /// Its TF-IDF vector.
    pub text: &'a TextVector<K>,
}

/// A pair that raises a flag.
#[derive(Debug, Clone)]
pub struct Judged {
    /// 0–100.
    pub score: u8,
    /// The class, the coordination groups considered.
    pub class: OverlapClass,
    /// The score with its components and reasons, when they were asked for.
    pub full: Option<PairScore>,
}

/// Whether a pair is worth scoring: its packed features could raise a flag whatever the
/// text, and it is a candidate (different, comparable, sharing a country, windows that
/// overlap). `known_candidate` skips the last test where the caller built the pair as one.
pub fn screen(
    a: &OverlapFeatures,
    b: &OverlapFeatures,
    pa: &Packed,
    pb: &Packed,
    known_candidate: bool,
    config: &OverlapConfig,
    today: NaiveDate,
) -> bool {
    packed::may_flag(pa, pb, config) && (known_candidate || is_candidate(a, b, config, today))
}

/// The score and class of a screened pair, or `None` when it raises no flag. `coordinated`
/// says whether the two share a coordination group; it is asked only of pairs that flag.
/// With `reasons`, the full score with its components is built too (the quick score is the
/// full one without its reasons: a property test holds them equal).
pub fn judge<K: Ord>(
    a: Side<'_, K>,
    b: Side<'_, K>,
    coordinated: impl FnOnce() -> bool,
    reasons: bool,
    config: &OverlapConfig,
) -> Option<Judged> {
    let text = (!a.text.is_empty() && !b.text.is_empty()).then(|| a.text.cosine(b.text));
    let (score, quick_class) = packed::quick_score(a.packed, b.packed, text, config)
        .unwrap_or_else(|| quick_score(a.features, b.features, a.text, b.text, config));
    if !flags(score, quick_class, config) {
        return None;
    }
    let class = if quick_class != OverlapClass::DoubleReporting && coordinated() {
        OverlapClass::Coordinated
    } else {
        quick_class
    };
    let full = reasons.then(|| score_pair(a.features, b.features, a.text, b.text, config));
    Some(Judged { score, class, full })
}
