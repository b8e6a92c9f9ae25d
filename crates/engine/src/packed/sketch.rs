//! A sketch of a packed activity in 80 bytes, and a bound over two sketches that is never
//! below the packed bound ([`super::may_flag`]). Scanning a crowded country reads thousands
//! of candidates and keeps a tenth: reading a sketch each, laid out one after another, and
//! the packed lists only of those the sketch bound lets through, avoids a cache miss per
//! candidate on lists that sit elsewhere in memory.
//!
//! The sketch keeps exactly the window, the bitsets and which components are present, so the
//! gates, the presence of each component and the weights are the packed bound's own; it
//! counts countries and provisions up to 255 (an activity with more provisions is not exact,
//! and every pair it is in passes). Of each list of identifiers it keeps a 32-bit signature,
//! one bit per element: two lists whose signatures share no bit share no element, and when
//! they do share one, the bound counts as shared as many elements as could be. Over
//! non-negative operands every operation of the packed arithmetic is monotonic in IEEE
//! arithmetic, so larger component values give a raw score at least as large, and the same
//! rounding decides.

use super::{List, Packed, jaccard_bits, time_share, type_similarity};
use aidgraph_domain::overlap::config::OverlapConfig;
use aidgraph_domain::overlap::score::{raw_flags, raw_score};
use rust_decimal::prelude::ToPrimitive;

/// What [`may_flag`] reads of an activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sketch {
    window: (i32, i32),
    areas: u64,
    types: u64,
    beneficiaries: u64,
    /// The absolute budget amount, approximately (see [`budgets_may_be_close`]).
    budget: f64,
    provisions: u32,
    sectors: u32,
    categories: u32,
    needs: u32,
    implementers: u32,
    external_ids: u32,
    chain_ids: u32,
    /// The signature bit of the IATI identifier's hash.
    identifier: u32,
    /// The low bits of the budget currency's hash.
    currency: u32,
    provisions_len: u8,
    countries_len: u8,
    /// [`EXACT`], [`WINDOW`] and the other flags below.
    flags: u8,
}

const EXACT: u8 = 1;
const WINDOW: u8 = 2;
const TEXT: u8 = 4;
const BUDGET: u8 = 8;
const SECTORS: u8 = 16;
const NEEDS: u8 = 32;
const IMPLEMENTERS: u8 = 64;

/// One bit of 32 for a hash or number, from its high bits after mixing.
fn bit(x: u64) -> u32 {
    1 << (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 59)
}

fn signature(items: impl IntoIterator<Item = u64>) -> u32 {
    items.into_iter().fold(0, |acc, x| acc | bit(x))
}

/// The codes of a list of codes each followed by the bits of its share.
fn codes(list: &[u64]) -> impl Iterator<Item = u64> + '_ {
    list.chunks_exact(2).map(|pair| pair[0])
}

impl Packed {
    /// The sketch of this activity.
    pub fn sketch(&self) -> Sketch {
        let mut flags = 0;
        let mut set = |flag: u8, on: bool| {
            if on {
                flags |= flag;
            }
        };
        set(EXACT, self.exact);
        set(WINDOW, self.window.is_some());
        set(TEXT, self.has_text);
        set(BUDGET, self.budget.is_some());
        set(SECTORS, !self.list(List::Sectors).is_empty());
        set(NEEDS, !self.list(List::Needs).is_empty());
        set(IMPLEMENTERS, !self.list(List::Implementers).is_empty());
        let count = |list: List| u8::try_from(self.list(list).len()).unwrap_or(u8::MAX);
        let (budget, currency) = self.budget.map_or((0.0, 0), |(amount, currency)| {
            (amount.abs().to_f64().unwrap_or(f64::NAN), currency as u32)
        });
        Sketch {
            window: self.window.unwrap_or_default(),
            areas: self.areas,
            types: self.types,
            beneficiaries: self.beneficiaries,
            budget,
            provisions: signature(self.list(List::Provisions).iter().copied()),
            sectors: signature(codes(self.list(List::Sectors))),
            categories: signature(codes(self.list(List::Categories))),
            needs: signature(self.list(List::Needs).iter().copied()),
            implementers: signature(self.list(List::Implementers).iter().copied()),
            external_ids: signature(self.list(List::ExternalIds).iter().copied()),
            chain_ids: signature(self.list(List::ChainIds).iter().copied()),
            identifier: bit(self.identifier),
            currency,
            // A list of more than 255 provisions counts as 255: only ever used as an upper
            // bound on the shared ones, with an exact sketch only when it is the length.
            provisions_len: count(List::Provisions),
            countries_len: count(List::Countries),
            flags: if self.list(List::Provisions).len() > usize::from(u8::MAX) {
                flags & !EXACT
            } else {
                flags
            },
        }
    }
}

impl Sketch {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn window(&self) -> Option<(i32, i32)> {
        self.has(WINDOW).then_some(self.window)
    }

    /// Whether every field packed exactly (see [`Packed::is_exact`]) and it lists at most 255
    /// provisions; when not, every pair it is in passes [`may_flag`].
    pub fn is_exact(&self) -> bool {
        self.has(EXACT)
    }

    /// Whether it lists exactly one recipient country.
    pub fn has_one_country(&self) -> bool {
        self.countries_len == 1
    }

    /// The window's first day, as a day number.
    pub fn start(&self) -> Option<i32> {
        self.window().map(|w| w.0)
    }

    /// The window's last day, as a day number.
    pub fn end(&self) -> Option<i32> {
        self.window().map(|w| w.1)
    }
}

/// Whether the two budgets could be within the double-reporting tolerance: the same currency
/// (as far as the low bits of its hash tell) and amounts within the tolerance, with room for
/// the conversion of each amount to a float.
fn budgets_may_be_close(a: &Sketch, b: &Sketch, config: &OverlapConfig) -> bool {
    if !a.has(BUDGET) || !b.has(BUDGET) || a.currency != b.currency {
        return false;
    }
    let (x, y) = (a.budget, b.budget);
    x.is_nan() || y.is_nan() || (x - y).abs() <= x.max(y) * (config.double_budget + 1e-9) + 1e-9
}

/// Whether a pair could raise a flag, whatever their text: true whenever
/// [`super::may_flag`] is for their packed forms (a property test holds it), and for pairs
/// that do not pack exactly.
pub fn may_flag(a: &Sketch, b: &Sketch, config: &OverlapConfig) -> bool {
    if !a.has(EXACT) || !b.has(EXACT) {
        return true;
    }
    let mut g = 1.0;
    if a.countries_len > 1 || b.countries_len > 1 {
        g *= config.multi_country_factor;
    }
    let t = time_share(a.window(), b.window());
    let (mut sum, mut weights) = (0.0, 0.0);
    let mut add = |value: f64, weight: f64| {
        sum += value * weight;
        weights += weight;
    };
    let both_areas = a.areas != 0 && b.areas != 0;
    let topic = if a.provisions_len > 0 && b.provisions_len > 0 {
        let jp = if a.provisions & b.provisions != 0 {
            // As many shared as the shorter list holds.
            let (na, nb) = (usize::from(a.provisions_len), usize::from(b.provisions_len));
            let shared = na.min(nb);
            shared as f64 / (na + nb - shared) as f64
        } else {
            0.0
        };
        Some(if both_areas {
            0.7 * jp + 0.3 * jaccard_bits(a.areas, b.areas)
        } else {
            jp
        })
    } else if a.has(SECTORS) && b.has(SECTORS) {
        let s5 = if a.sectors & b.sectors != 0 { 1.0 } else { 0.0 };
        let s3 = if a.categories & b.categories != 0 {
            1.0
        } else {
            0.0
        };
        Some(0.5 * (s5 + s3))
    } else {
        both_areas.then(|| 0.6 * jaccard_bits(a.areas, b.areas))
    };
    if let Some(v) = topic {
        add(v, config.topic_weight);
    }
    if a.has(NEEDS) || b.has(NEEDS) {
        add(
            if a.needs & b.needs != 0 { 1.0 } else { 0.0 },
            config.need_weight,
        );
    }
    if a.types != 0 && b.types != 0 {
        add(type_similarity(a.types, b.types), config.type_weight);
    }
    let text = a.has(TEXT) && b.has(TEXT);
    if text {
        add(1.0, config.text_weight);
    }
    if a.beneficiaries != 0 && b.beneficiaries != 0 {
        add(
            jaccard_bits(a.beneficiaries, b.beneficiaries),
            config.beneficiary_weight,
        );
    }
    let maybe_same_implementer = a.implementers & b.implementers != 0;
    if a.has(IMPLEMENTERS) && b.has(IMPLEMENTERS) {
        add(
            if maybe_same_implementer { 1.0 } else { 0.0 },
            config.implementer_weight,
        );
    }
    let m = if weights > 0.0 { sum / weights } else { 0.0 };
    let double = a.external_ids & b.external_ids != 0
        || a.chain_ids & b.identifier != 0
        || b.chain_ids & a.identifier != 0
        || (maybe_same_implementer
            && text
            && t >= config.double_time
            && budgets_may_be_close(a, b, config));
    raw_flags(raw_score(g, t, m), double, config)
}
