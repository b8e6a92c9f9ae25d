//! Process-wide caches of what is derived from activity documents, keyed by activity id and
//! version: overlap features (scoring a new activity reads every candidate in its countries;
//! parsing their stored documents again on every write would dominate the time) and the slim
//! records analytics sum over. A changed activity has a new version, so a stale entry is never
//! used, whichever replica made the change.

use crate::packed::Packed;
use crate::packed::sketch::Sketch;
use crate::parallel::in_halves;
use crate::words::WordNumbers;
use aidgraph_domain::overlap::OverlapFeatures;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, RwLock};

/// Most entries kept; past this the cache starts over (a full registry is re-read lazily).
const CAPACITY: usize = 500_000;

/// Values by activity id, with the version they were built from.
type Entries<T> = HashMap<i64, (i32, Arc<T>)>;

/// Values derived from activities, by activity id, with the version they were built from.
#[derive(Debug)]
pub struct VersionedCache<T> {
    entries: Arc<RwLock<Entries<T>>>,
}

impl<T> Clone for VersionedCache<T> {
    fn clone(&self) -> Self {
        VersionedCache {
            entries: self.entries.clone(),
        }
    }
}

impl<T> Default for VersionedCache<T> {
    fn default() -> Self {
        VersionedCache {
            entries: Arc::new(RwLock::new(HashMap::new())),
        }
    }
}

/// An activity's overlap features with their packed form, which scanning candidates reads.
#[derive(Debug)]
pub struct Prepared {
    /// The features.
    pub features: OverlapFeatures,
    /// The same, packed for the text-free bound.
    pub packed: Packed,
    /// The numbers of the words of its terms, in their order.
    pub numbers: Vec<u32>,
    fingerprint: OnceLock<String>,
}

impl Prepared {
    /// Packs `features` and numbers their words in `words` (through
    /// [`FeatureCache::prepare`], so that every number comes from the cache's one numbering).
    fn new(features: OverlapFeatures, words: &WordNumbers) -> Self {
        let packed = Packed::of(&features);
        let numbers = words.number(&features.terms);
        Prepared {
            features,
            packed,
            numbers,
            fingerprint: OnceLock::new(),
        }
    }

    /// [`OverlapFeatures::fingerprint`], made once.
    pub fn fingerprint(&self) -> &str {
        self.fingerprint.get_or_init(|| self.features.fingerprint())
    }
}

impl Deref for Prepared {
    type Target = OverlapFeatures;

    fn deref(&self) -> &OverlapFeatures {
        &self.features
    }
}

/// Sketches by activity id, with the version each was built from.
type Sketches = Vec<Option<(i32, Sketch)>>;

/// Keys from which [`FeatureCache::get_many_where`] scans on two threads: about a millisecond
/// of work, against some tens of microseconds to start a thread.
const SCAN_SPLIT: usize = 4096;

/// Highest activity id whose sketch is indexed by position (ids are dense from 1). Sketches
/// are kept when the features are dropped at [`CAPACITY`]: a slot is 96 bytes, so the vector
/// holds at most about 190 MB (twice that in capacity while it grows).
const INDEXED_IDS: usize = 4 * CAPACITY;

/// Overlap features by activity, with each one's [`Sketch`] in a vector indexed by activity
/// id. A write or dry run in a crowded country bounds thousands of candidates and keeps a
/// tenth; bounding each through [`Prepared`] costs a miss on the table, one on the shared
/// pointer and one on the packed lists, where the sketches of a country's candidates, read
/// in id order, cost about one each.
#[derive(Debug, Clone, Default)]
pub struct FeatureCache {
    features: VersionedCache<Prepared>,
    sketches: Arc<RwLock<Sketches>>,
    words: Arc<WordNumbers>,
}

impl FeatureCache {
    /// Prepares `features` for the cache, numbering their words in its word numbers.
    pub fn prepare(&self, features: OverlapFeatures) -> Arc<Prepared> {
        Arc::new(Prepared::new(features, &self.words))
    }

    /// The words of cached activities, numbered.
    pub fn word_numbers(&self) -> &WordNumbers {
        &self.words
    }

    /// The features of each `(id, version)` asked for that `keep` accepts, and the ids that
    /// missed. Where the cache holds an activity's sketch, `keep` is asked only when `rough`
    /// accepts the sketch, so `rough` must accept every activity that `keep` accepts: it is
    /// a quicker test that turns most of the others away.
    ///
    /// From [`SCAN_SPLIT`] keys on, half of them are scanned on a second thread (see
    /// [`in_halves`]).
    pub fn get_many_where(
        &self,
        keys: &[(i64, i32)],
        rough: impl Fn(&Sketch) -> bool + Sync,
        keep: impl Fn(&Prepared) -> bool + Sync,
    ) -> (Vec<Arc<Prepared>>, Vec<i64>) {
        in_halves(
            keys,
            SCAN_SPLIT,
            |part| self.scan(part, &rough, &keep),
            |(mut hits, mut misses), (more_hits, more_misses)| {
                hits.extend(more_hits);
                misses.extend(more_misses);
                (hits, misses)
            },
        )
    }

    fn scan(
        &self,
        keys: &[(i64, i32)],
        rough: &impl Fn(&Sketch) -> bool,
        keep: &impl Fn(&Prepared) -> bool,
    ) -> (Vec<Arc<Prepared>>, Vec<i64>) {
        let mut passed = Vec::new();
        let mut unindexed = Vec::new();
        match self.sketches.read() {
            Ok(sketches) => {
                for &(id, version) in keys {
                    match usize::try_from(id).ok().and_then(|i| sketches.get(i)) {
                        Some(Some((v, sketch))) if *v == version => {
                            if rough(sketch) {
                                passed.push((id, version));
                            }
                        }
                        _ => unindexed.push((id, version)),
                    }
                }
            }
            Err(_) => unindexed.extend_from_slice(keys),
        }
        passed.extend_from_slice(&unindexed);
        self.features.get_many_where(&passed, keep)
    }

    /// Stores the features built from version `version` of activity `id`.
    pub fn put(&self, id: i64, version: i32, features: Arc<Prepared>) {
        if let (Ok(mut sketches), Ok(i)) = (self.sketches.write(), usize::try_from(id))
            && i <= INDEXED_IDS
        {
            if sketches.len() <= i {
                sketches.resize(i + 1, None);
            }
            sketches[i] = Some((version, features.packed.sketch()));
        }
        self.features.put(id, version, features);
    }
}

impl<T> VersionedCache<T> {
    /// The cached values of each `(id, version)` asked for, and the ids that missed.
    pub fn get_many(&self, keys: &[(i64, i32)]) -> (Vec<Arc<T>>, Vec<i64>) {
        self.get_many_where(keys, |_| true)
    }

    /// Like [`VersionedCache::get_many`], but keeps only the hits that `keep` accepts. Scans
    /// of thousands of candidates that keep few take no reference to the others.
    pub fn get_many_where(
        &self,
        keys: &[(i64, i32)],
        mut keep: impl FnMut(&T) -> bool,
    ) -> (Vec<Arc<T>>, Vec<i64>) {
        let mut hits = Vec::new();
        let mut misses = Vec::new();
        match self.entries.read() {
            Ok(entries) => {
                for (id, version) in keys {
                    match entries.get(id) {
                        Some((v, f)) if v == version => {
                            if keep(f) {
                                hits.push(f.clone());
                            }
                        }
                        _ => misses.push(*id),
                    }
                }
            }
            Err(_) => misses.extend(keys.iter().map(|(id, _)| *id)),
        }
        (hits, misses)
    }

    /// Stores the value built from version `version` of activity `id`.
    pub fn put(&self, id: i64, version: i32, features: Arc<T>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(id, (version, features));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FeatureCache, Prepared};
    use aidgraph_domain::overlap::OverlapFeatures;
    use aidgraph_domain::vocab::ActivityStatus;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    fn prepared(cache: &FeatureCache, id: i64) -> Arc<Prepared> {
        cache.prepare(OverlapFeatures {
            id,
            identifier: format!("XM-TEST-{id}"),
            reporting_org: "XM-TEST".into(),
            status: ActivityStatus::Implementation,
            countries: BTreeSet::from(["KE".to_owned()]),
            window: None,
            provisions: BTreeSet::new(),
            priority_areas: BTreeSet::new(),
            sectors: BTreeMap::new(),
            needs: BTreeMap::new(),
            assistance_types: BTreeSet::new(),
            beneficiaries: BTreeSet::new(),
            implementers: BTreeMap::new(),
            external_ids: BTreeSet::new(),
            chain_ids: BTreeSet::new(),
            coordination_links: BTreeSet::new(),
            budget: None,
            terms: Vec::new(),
        })
    }

    #[test]
    fn the_rough_test_turns_away_only_what_it_sees_and_stale_versions_miss() {
        let cache = FeatureCache::default();
        cache.put(1, 1, prepared(&cache, 1));
        cache.put(2, 3, prepared(&cache, 2));
        let ids = |found: &[Arc<Prepared>]| found.iter().map(|f| f.id).collect::<Vec<_>>();

        let (found, missed) = cache.get_many_where(&[(1, 1), (2, 3), (7, 1)], |_| true, |_| true);
        assert_eq!((ids(&found), missed), (vec![1, 2], vec![7]));

        // The rough test turns every sketch away; `keep` is never asked.
        let (found, missed) = cache.get_many_where(
            &[(1, 1), (2, 3)],
            |_| false,
            |_| panic!("keep asked of a turned-away sketch"),
        );
        assert_eq!((ids(&found), missed), (vec![], vec![]));

        // `keep` decides for what the rough test lets through.
        let (found, _) = cache.get_many_where(&[(1, 1), (2, 3)], |_| true, |f| f.id == 2);
        assert_eq!(ids(&found), vec![2]);

        // A version the cache does not hold is a miss, whatever the tests say.
        let (found, missed) = cache.get_many_where(&[(2, 4)], |_| true, |_| true);
        assert_eq!((ids(&found), missed), (vec![], vec![2]));
    }

    #[test]
    fn a_long_scan_on_two_threads_finds_what_one_would() {
        let cache = FeatureCache::default();
        let n = i64::try_from(super::SCAN_SPLIT).unwrap_or(4096) * 2 + 1;
        for id in 1..=n {
            cache.put(id, 1, prepared(&cache, id));
        }
        // Every id asked for, with a stale version for each tenth and ten never cached.
        let keys: Vec<(i64, i32)> = (1..=n + 10)
            .map(|id| (id, if id % 10 == 0 { 2 } else { 1 }))
            .collect();
        let (found, mut missed) = cache.get_many_where(&keys, |_| true, |f| f.id % 3 == 0);
        let mut found: Vec<i64> = found.iter().map(|f| f.id).collect();
        found.sort_unstable();
        missed.sort_unstable();
        let expected: Vec<i64> = (1..=n).filter(|id| id % 3 == 0 && id % 10 != 0).collect();
        let expected_missed: Vec<i64> = (1..=n + 10).filter(|id| id % 10 == 0 || *id > n).collect();
        assert_eq!(found, expected);
        assert_eq!(missed, expected_missed);
    }
}
