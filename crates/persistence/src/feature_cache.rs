//! A process-wide cache of overlap features, keyed by activity id and version. Scoring a new
//! activity reads every candidate in its countries; parsing their stored documents again on
//! every write would dominate the time. A changed activity has a new version, so a stale entry
//! is never used, whichever replica made the change.

use aidgraph_domain::overlap::OverlapFeatures;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Most entries kept; past this the cache starts over (a full registry is re-read lazily).
const CAPACITY: usize = 500_000;

/// Features by activity id, with the version they were built from.
type Entries = HashMap<i64, (i32, Arc<OverlapFeatures>)>;

/// Features by activity id, with the version they were built from.
#[derive(Debug, Clone, Default)]
pub struct FeatureCache {
    entries: Arc<RwLock<Entries>>,
}

impl FeatureCache {
    /// The cached features of each `(id, version)` asked for, and the ids that missed.
    pub fn get_many(&self, keys: &[(i64, i32)]) -> (Vec<Arc<OverlapFeatures>>, Vec<i64>) {
        let mut hits = Vec::with_capacity(keys.len());
        let mut misses = Vec::new();
        match self.entries.read() {
            Ok(entries) => {
                for (id, version) in keys {
                    match entries.get(id) {
                        Some((v, f)) if v == version => hits.push(f.clone()),
                        _ => misses.push(*id),
                    }
                }
            }
            Err(_) => misses.extend(keys.iter().map(|(id, _)| *id)),
        }
        (hits, misses)
    }

    /// Stores features built from version `version` of activity `id`.
    pub fn put(&self, id: i64, version: i32, features: Arc<OverlapFeatures>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(id, (version, features));
        }
    }
}
