//! aidgraph's command layer. A command owns its write transaction: it authorises the caller,
//! writes through the storage crate's repositories (each taking the caller's connection, so
//! several compose in one transaction), refreshes the overlap engine's flags, records its
//! audit entry and events, and commits. Reads go to the repositories directly.
//!
//! [`Registry`] is what the commands run against: the store, the overlap engine's feature
//! cache and the event bus, each built once at start-up and handed in.

pub mod activities;
pub mod needs;
pub mod organisations;
pub mod overlap;
pub mod rates;
pub mod recompute;
pub mod records;

use aidgraph_engine::FeatureCache;
use aidgraph_persistence::events::EventBus;
use aidgraph_persistence::{Store, StoreError};
use sea_orm::DatabaseTransaction;

/// The store, the overlap engine's feature cache and the event bus, shared by every command
/// and resolver of a process.
#[derive(Debug, Clone)]
pub struct Registry {
    store: Store,
    engine: FeatureCache,
    events: EventBus,
}

impl Registry {
    /// The registry over `store` with the engine's cache `engine` (empty at start-up until
    /// [`overlap::warm_cache`] fills it) and `events`, the bus of the store's events.
    pub fn new(store: Store, engine: FeatureCache, events: EventBus) -> Self {
        Registry {
            store,
            engine,
            events,
        }
    }

    /// A registry over `store` with an empty cache and a bus of its own, not yet started.
    pub fn of(store: Store) -> Self {
        let events = EventBus::of(&store);
        Registry::new(store, FeatureCache::default(), events)
    }

    /// Runs `work` in one write transaction and commits it when it succeeds; when it fails
    /// nothing it wrote is kept.
    pub async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.store.begin_write().await?;
        let done = work(&txn).await?;
        txn.commit().await?;
        Ok(done)
    }

    /// The event bus subscribers listen on.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The overlap engine's feature cache.
    pub fn engine(&self) -> &FeatureCache {
        &self.engine
    }
}
