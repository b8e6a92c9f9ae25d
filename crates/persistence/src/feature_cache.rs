//! Process-wide caches of what is derived from activity documents, keyed by activity id and
//! version: overlap features (scoring a new activity reads every candidate in its countries;
//! parsing their stored documents again on every write would dominate the time) and the slim
//! records analytics sum over. A changed activity has a new version, so a stale entry is never
//! used, whichever replica made the change.

use aidgraph_domain::overlap::OverlapFeatures;
use aidgraph_domain::overlap::packed::Packed;
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

/// Overlap features by activity.
pub type FeatureCache = VersionedCache<Prepared>;

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
