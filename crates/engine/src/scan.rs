//! One activity against its candidates: the write path's and the dry run's use of the pair
//! rule. The caller lists the candidates (those sharing a country, from the cache and the
//! registry), weighs their words over the corpus, and says which share the activity's
//! coordination group; this screens, scores and classes every pair, on two threads in a
//! crowded country.

use crate::cache::{FeatureCache, Prepared};
use crate::packed::{Packed, sketch};
use crate::pair::{self, Side};
use crate::parallel::in_halves;
use crate::words::TextSpace;
use aidgraph_domain::overlap::{OverlapConfig, OverlapFeatures, PairScore};
use aidgraph_domain::vocab::OverlapClass;
use chrono::NaiveDate;
use std::sync::Arc;

/// Candidates from which [`score_candidates`] scores on two threads (see [`in_halves`]):
/// about a millisecond of work.
pub const SCORE_SPLIT: usize = 1024;

/// An activity about to be scored against its candidates, with its packed form.
#[derive(Debug)]
pub struct Subject<'a> {
    /// Its features.
    pub features: &'a OverlapFeatures,
    /// The same, packed.
    pub packed: Packed,
    /// Its sketch.
    pub sketch: sketch::Sketch,
}

impl<'a> Subject<'a> {
    /// Packs `features`.
    pub fn new(features: &'a OverlapFeatures) -> Self {
        let packed = Packed::of(features);
        let sketch = packed.sketch();
        Subject {
            features,
            packed,
            sketch,
        }
    }

    /// The cached candidates of `keys` (activity id and version) that pass the screens, and
    /// the ids the cache missed (the caller reads those and [`Subject::screen`]s them).
    pub fn screened(
        &self,
        cache: &FeatureCache,
        keys: &[(i64, i32)],
        config: &OverlapConfig,
        today: NaiveDate,
    ) -> (Vec<Arc<Prepared>>, Vec<i64>) {
        cache.get_many_where(
            keys,
            |b| sketch::may_flag(&self.sketch, b, config),
            |b| self.screen(b, config, today),
        )
    }

    /// Whether the pair with `b` passes the screen of the pair rule ([`pair::screen`]).
    pub fn screen(&self, b: &Prepared, config: &OverlapConfig, today: NaiveDate) -> bool {
        pair::screen(
            self.features,
            &b.features,
            &self.packed,
            &b.packed,
            false,
            config,
            today,
        )
    }
}

/// A candidate that raises a flag with the activity scored: its features, score and class
/// (coordination groups considered), and its full score with reasons when they were asked
/// for.
#[derive(Debug)]
pub struct Scored {
    /// The candidate.
    pub features: Arc<Prepared>,
    /// 0–100.
    pub score: u8,
    /// The class.
    pub class: OverlapClass,
    /// The score's components and reasons, when asked for.
    pub full: Option<PairScore>,
}

/// Scores `a` against the screened `candidates` through the pair rule, their words weighed in
/// `space`; `coordinated` says whether a candidate shares `a`'s coordination group. The
/// candidates that raise a flag, in the order given.
pub fn score_candidates(
    a: &Subject<'_>,
    candidates: &[Arc<Prepared>],
    space: &TextSpace,
    coordinated: impl Fn(&Prepared) -> bool + Sync,
    reasons: bool,
    config: &OverlapConfig,
) -> Vec<Scored> {
    let va = space.own_vector(&a.features.terms);
    let score = |b: &Arc<Prepared>| {
        let vb = space.vector(&b.terms, &b.numbers);
        let judged = pair::judge(
            Side {
                features: a.features,
                packed: &a.packed,
                text: &va,
            },
            Side {
                features: &b.features,
                packed: &b.packed,
                text: &vb,
            },
            || coordinated(b),
            reasons,
            config,
        )?;
        Some(Scored {
            features: b.clone(),
            score: judged.score,
            class: judged.class,
            full: judged.full,
        })
    };
    // Halves kept in order.
    in_halves(
        candidates,
        SCORE_SPLIT,
        |part| part.iter().filter_map(score).collect::<Vec<_>>(),
        |mut first, second| {
            first.extend(second);
            first
        },
    )
}
