//! The text-free bound of [`aidgraph_domain::overlap::score::score_bound`], and the quick score of
//! [`aidgraph_domain::overlap::score::quick_score`] given a text similarity, over a packed copy of the features:
//! countries as integers, closed vocabularies as bitsets, identifiers as sorted hashes and
//! sectors as sorted numeric codes. Scanning a country's candidate pairs spends its time here,
//! so this form avoids string comparisons, tree walks and allocations.
//!
//! The arithmetic is the score's own, in the same order, so the two agree exactly (a property
//! test checks it). Where packing could differ from the strings, it errs upwards: a hash
//! collision can only add shared elements, and an activity whose codes do not pack exactly
//! (a country that is not two letters, a DAC code that is not five digits) makes every
//! pair it is in pass the bound, leaving the decision to the exact score.

use aidgraph_domain::overlap::config::OverlapConfig;
use aidgraph_domain::overlap::features::OverlapFeatures;
use aidgraph_domain::overlap::score::{COMPATIBLE_GROUPS, raw_flags, raw_score, score_and_class};
use aidgraph_domain::vocab::OverlapClass;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use std::hash::{DefaultHasher, Hash, Hasher};

pub mod sketch;

/// What the bound reads of an activity, packed.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    /// Whether every field packed exactly; when not, the bound lets every pair through.
    exact: bool,
    /// Window as day numbers, inclusive.
    window: Option<(i32, i32)>,
    /// Priority areas, one bit each.
    areas: u64,
    /// Assistance types, one bit each.
    types: u64,
    /// Beneficiary institutions, one bit each.
    beneficiaries: u64,
    /// Hash of the IATI identifier.
    identifier: u64,
    /// Whether the activity has any words.
    has_text: bool,
    /// Budget, with its currency hashed.
    budget: Option<(Decimal, u64)>,
    /// The lists, one after another in one allocation (see [`List`]): scanning a country
    /// reads several of them for every pair, and one allocation is a cache line or two where
    /// a vector each would be a miss each.
    lists: Box<[u64]>,
    /// Where each list ends in `lists`, in [`List`] order.
    ends: [u32; LISTS],
}

/// The lists of [`Packed::lists`], in order.
#[derive(Clone, Copy)]
enum List {
    /// Recipient countries, sorted (two ASCII letters as one number keeps the string order).
    Countries,
    /// Hashes of the provisions, sorted and distinct.
    Provisions,
    /// DAC 5-digit codes in code order, each followed by the bits of its share.
    Sectors,
    /// DAC 3-digit categories in code order, each followed by the bits of its summed share.
    Categories,
    /// Needs addressed, sorted.
    Needs,
    /// Hashes of the implementing organisations' references, sorted and distinct.
    Implementers,
    /// Hashes of the external identifiers, sorted and distinct.
    ExternalIds,
    /// Hashes of the funding-chain identifiers, sorted and distinct.
    ChainIds,
}

const LISTS: usize = 8;

fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn hashes<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<u64> {
    let mut v: Vec<u64> = items.into_iter().map(|s| hash(s)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn bits<T: Copy>(items: impl IntoIterator<Item = T>, index: impl Fn(T) -> usize) -> u64 {
    items.into_iter().fold(0, |acc, t| acc | 1 << index(t))
}

fn country(code: &str) -> Option<u16> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            Some(u16::from(*a) << 8 | u16::from(*b))
        }
        _ => None,
    }
}

fn dac(code: &str) -> Option<u32> {
    (code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse().ok())
        .flatten()
}

impl Packed {
    /// Packs `f`.
    pub fn of(f: &OverlapFeatures) -> Self {
        let mut exact = true;
        let countries: Vec<u16> = f
            .countries
            .iter()
            .filter_map(|c| {
                let packed = country(c);
                exact &= packed.is_some();
                packed
            })
            .collect();
        let mut sectors = Vec::with_capacity(f.sectors.len());
        let mut categories: Vec<(u32, f64)> = Vec::new();
        // The same sums, in the same order, as the bound's own category table.
        for (code, share) in &f.sectors {
            let Some(n) = dac(code) else {
                exact = false;
                continue;
            };
            sectors.push((n, *share));
            let category = n / 100;
            match categories.iter_mut().find(|(c, _)| *c == category) {
                Some((_, sum)) => *sum += share,
                None => categories.push((category, 0.0 + share)),
            }
        }
        categories.sort_by_key(|(c, _)| *c);
        let shares = |list: &[(u32, f64)]| -> Vec<u64> {
            list.iter()
                .flat_map(|(code, share)| [u64::from(*code), share.to_bits()])
                .collect()
        };
        let mut needs: Vec<u64> = f.needs.keys().map(|n| *n as u64).collect();
        needs.sort_unstable();
        let parts: [Vec<u64>; LISTS] = [
            countries.iter().map(|c| u64::from(*c)).collect(),
            hashes(&f.provisions),
            shares(&sectors),
            shares(&categories),
            needs,
            hashes(f.implementers.keys()),
            hashes(&f.external_ids),
            hashes(&f.chain_ids),
        ];
        let mut ends = [0u32; LISTS];
        let mut lists = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for (end, part) in ends.iter_mut().zip(&parts) {
            lists.extend_from_slice(part);
            *end = u32::try_from(lists.len()).unwrap_or(u32::MAX);
        }
        Packed {
            exact,
            window: f.window.map(|w| (day(w.start), day(w.end))),
            areas: bits(f.priority_areas.iter().copied(), |a| a as usize),
            types: bits(f.assistance_types.iter().copied(), |t| t as usize),
            beneficiaries: bits(f.beneficiaries.iter().copied(), |b| b as usize),
            identifier: hash(&f.identifier),
            has_text: !f.terms.is_empty(),
            budget: f.budget.as_ref().map(|(amount, c)| (*amount, hash(c))),
            lists: lists.into_boxed_slice(),
            ends,
        }
    }

    /// One of the lists.
    fn list(&self, list: List) -> &[u64] {
        let k = list as usize;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.lists[start..self.ends[k] as usize]
    }

    /// The window's first day, as a day number (for sorting by start).
    pub fn start(&self) -> Option<i32> {
        self.window.map(|w| w.0)
    }

    /// The window's last day, as a day number.
    pub fn end(&self) -> Option<i32> {
        self.window.map(|w| w.1)
    }

    /// Whether every field packed exactly (when not, the bound lets every pair through and
    /// countries must be read from the features).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// The first recipient country the two share, packed.
    pub fn first_shared_country(&self, other: &Packed) -> Option<u16> {
        first_common(self.list(List::Countries), other.list(List::Countries))
            .and_then(|c| u16::try_from(c).ok())
    }

    /// Whether it lists exactly one recipient country.
    pub fn has_one_country(&self) -> bool {
        self.list(List::Countries).len() == 1
    }

    /// `code` packed as [`Packed::first_shared_country`] returns it.
    pub fn country_code(code: &str) -> Option<u16> {
        country(code)
    }

    /// Whether the two share a country and their windows overlap (the blocking of
    /// [`super::is_candidate`] without identity and comparability, which callers check once
    /// per activity).
    pub fn overlaps(&self, other: &Packed) -> bool {
        if !self.exact || !other.exact {
            return true;
        }
        let shared_time = match (self.window, other.window) {
            (Some((s1, e1)), Some((s2, e2))) => s1.max(s2) <= e1.min(e2),
            _ => false,
        };
        shared_time
            && first_common(self.list(List::Countries), other.list(List::Countries)).is_some()
    }
}

fn day(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce()
}

fn first_common<T: Ord + Copy>(a: &[T], b: &[T]) -> Option<T> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return Some(a[i]),
        }
    }
    None
}

fn common<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let shared = common(a, b);
    let union = a.len() + b.len() - shared;
    if union == 0 {
        return 0.0;
    }
    shared as f64 / union as f64
}

fn jaccard_bits(a: u64, b: u64) -> f64 {
    let union = (a | b).count_ones();
    if union == 0 {
        return 0.0;
    }
    f64::from((a & b).count_ones()) / f64::from(union)
}

/// Sum of the smaller shares of the codes both lists hold (both in code order, each code
/// followed by the bits of its share).
fn shared_share(a: &[u64], b: &[u64]) -> f64 {
    let (mut j, mut sum) = (0, 0.0);
    for pair in a.chunks_exact(2) {
        let (code, sa) = (pair[0], f64::from_bits(pair[1]));
        while j + 1 < b.len() && b[j] < code {
            j += 2;
        }
        if j + 1 < b.len() && b[j] == code {
            sum += sa.min(f64::from_bits(b[j + 1]));
        }
    }
    sum
}

fn type_similarity(a: u64, b: u64) -> f64 {
    let exact = (a & b).count_ones();
    let union = (a | b).count_ones();
    let mut compatible = 0;
    for group in COMPATIBLE_GROUPS {
        let mask = bits(group.iter().copied(), |t| t as usize);
        let a_only = (mask & a & !b).count_ones();
        let b_only = (mask & b & !a).count_ones();
        compatible += a_only.min(b_only);
    }
    let denominator = union - compatible;
    if denominator == 0 {
        return 0.0;
    }
    (f64::from(exact) + 0.5 * f64::from(compatible)) / f64::from(denominator)
}

fn topic_value(a: &Packed, b: &Packed) -> Option<f64> {
    let both_areas = a.areas != 0 && b.areas != 0;
    let (pa, pb) = (a.list(List::Provisions), b.list(List::Provisions));
    if !pa.is_empty() && !pb.is_empty() {
        let jp = jaccard(pa, pb);
        return Some(if both_areas {
            0.7 * jp + 0.3 * jaccard_bits(a.areas, b.areas)
        } else {
            jp
        });
    }
    let (sa, sb) = (a.list(List::Sectors), b.list(List::Sectors));
    if !sa.is_empty() && !sb.is_empty() {
        let s5 = shared_share(sa, sb).min(1.0);
        let s3 = shared_share(a.list(List::Categories), b.list(List::Categories)).min(1.0);
        return Some(0.5 * (s5 + s3));
    }
    both_areas.then(|| 0.6 * jaccard_bits(a.areas, b.areas))
}

/// [`aidgraph_domain::overlap::score::score_bound`] over packed features: the same score and class.
pub fn score_bound(a: &Packed, b: &Packed, config: &OverlapConfig) -> (u8, OverlapClass) {
    if !a.exact || !b.exact {
        return (100, OverlapClass::DoubleReporting);
    }
    score_with(a, b, (a.has_text && b.has_text).then_some(1.0), config)
}

/// [`aidgraph_domain::overlap::score::quick_score`] over packed features, given the text similarity the quick
/// score would use (`None` when either text vector is empty); `None` when either side did
/// not pack exactly.
pub fn quick_score(
    a: &Packed,
    b: &Packed,
    text: Option<f64>,
    config: &OverlapConfig,
) -> Option<(u8, OverlapClass)> {
    (a.exact && b.exact).then(|| score_with(a, b, text, config))
}

fn score_with(
    a: &Packed,
    b: &Packed,
    text: Option<f64>,
    config: &OverlapConfig,
) -> (u8, OverlapClass) {
    let (g, t, m, double) = parts(a, b, text, config);
    score_and_class(g, t, m, double, config)
}

/// The geography and time gates, the weighted mean `M` and whether the pair double reports.
#[inline(always)]
fn parts(
    a: &Packed,
    b: &Packed,
    text: Option<f64>,
    config: &OverlapConfig,
) -> (f64, f64, f64, bool) {
    let (ca, cb) = (a.list(List::Countries), b.list(List::Countries));
    let shared = common(ca, cb);
    let smaller = ca.len().min(cb.len()).max(1);
    let mut g = shared as f64 / smaller as f64;
    if ca.len() > 1 || cb.len() > 1 {
        g *= config.multi_country_factor;
    }
    let t = time_share(a.window, b.window);
    let (mut sum, mut weights) = (0.0, 0.0);
    let mut add = |value: f64, weight: f64| {
        sum += value * weight;
        weights += weight;
    };
    if let Some(v) = topic_value(a, b) {
        add(v, config.topic_weight);
    }
    let (na, nb) = (a.list(List::Needs), b.list(List::Needs));
    if !na.is_empty() || !nb.is_empty() {
        let shared = first_common(na, nb).is_some();
        add(if shared { 1.0 } else { 0.0 }, config.need_weight);
    }
    if a.types != 0 && b.types != 0 {
        add(type_similarity(a.types, b.types), config.type_weight);
    }
    if let Some(v) = text {
        add(v, config.text_weight);
    }
    if a.beneficiaries != 0 && b.beneficiaries != 0 {
        add(
            jaccard_bits(a.beneficiaries, b.beneficiaries),
            config.beneficiary_weight,
        );
    }
    let (ia, ib) = (a.list(List::Implementers), b.list(List::Implementers));
    let same_implementer = first_common(ia, ib).is_some();
    if !ia.is_empty() && !ib.is_empty() {
        add(
            if same_implementer { 1.0 } else { 0.0 },
            config.implementer_weight,
        );
    }
    let m = if weights > 0.0 { sum / weights } else { 0.0 };
    let double = first_common(a.list(List::ExternalIds), b.list(List::ExternalIds)).is_some()
        || a.list(List::ChainIds).binary_search(&b.identifier).is_ok()
        || b.list(List::ChainIds).binary_search(&a.identifier).is_ok()
        || (same_implementer
            && text.is_some_and(|s| s >= config.double_text)
            && t >= config.double_time
            && budgets_close(a, b, config));
    (g, t, m, double)
}

/// The time component: overlap days over the shorter window's days (0 without both windows).
#[inline(always)]
fn time_share(a: Option<(i32, i32)>, b: Option<(i32, i32)>) -> f64 {
    match (a, b) {
        (Some(wa), Some(wb)) => {
            let overlap = i64::from((wa.1.min(wb.1) - wa.0.max(wb.0) + 1).max(0));
            let days = |w: (i32, i32)| i64::from(w.1 - w.0 + 1);
            overlap as f64 / days(wa).min(days(wb)).max(1) as f64
        }
        _ => 0.0,
    }
}

fn budgets_close(a: &Packed, b: &Packed, config: &OverlapConfig) -> bool {
    match (a.budget, b.budget) {
        (Some((x, cx)), Some((y, cy))) if cx == cy => {
            let (x, y) = (x.abs(), y.abs());
            let tolerance = Decimal::from_f64(config.double_budget).unwrap_or_default();
            (x - y).abs() <= x.max(y) * tolerance
        }
        _ => false,
    }
}

/// Whether a pair of packed candidates could raise a flag at all, whatever their text.
pub fn may_flag(a: &Packed, b: &Packed, config: &OverlapConfig) -> bool {
    if !a.exact || !b.exact {
        return true;
    }
    let (g, t, m, double) = parts(a, b, (a.has_text && b.has_text).then_some(1.0), config);
    raw_flags(raw_score(g, t, m), double, config)
}
