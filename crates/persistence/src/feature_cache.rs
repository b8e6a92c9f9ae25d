//! Process-wide caches of what is derived from activity documents, keyed by activity id and
//! version: overlap features (scoring a new activity reads every candidate in its countries;
//! parsing their stored documents again on every write would dominate the time) and the slim
//! records analytics sum over. A changed activity has a new version, so a stale entry is never
//! used, whichever replica made the change.

use aidgraph_domain::overlap::OverlapFeatures;
use aidgraph_domain::overlap::packed::Packed;
use aidgraph_domain::overlap::packed::sketch::Sketch;
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
    fingerprint: OnceLock<String>,
}

impl Prepared {
    /// Packs `features`.
    pub fn new(features: OverlapFeatures) -> Self {
        let packed = Packed::of(&features);
        Prepared {
            features,
            packed,
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
}

impl FeatureCache {
    /// The features of each `(id, version)` asked for that `keep` accepts, and the ids that
    /// missed. Where the cache holds an activity's sketch, `keep` is asked only when `rough`
    /// accepts the sketch, so `rough` must accept every activity that `keep` accepts: it is
    /// a quicker test that turns most of the others away.
    pub fn get_many_where(
        &self,
        keys: &[(i64, i32)],
        mut rough: impl FnMut(&Sketch) -> bool,
        mut keep: impl FnMut(&Prepared) -> bool,
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
        self.features.get_many_where(&passed, &mut keep)
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

    fn prepared(id: i64) -> Arc<Prepared> {
        Arc::new(Prepared::new(OverlapFeatures {
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
        }))
    }

    #[test]
    fn the_rough_test_turns_away_only_what_it_sees_and_stale_versions_miss() {
        let cache = FeatureCache::default();
        cache.put(1, 1, prepared(1));
        cache.put(2, 3, prepared(2));
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
}
