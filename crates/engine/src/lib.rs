//! aidgraph's overlap engine: what applies the overlap rules of `aidgraph_domain::overlap` to a
//! registry, fast, without touching storage.
//!
//! - [`packed`]: features packed for the text-free bound, and their 80-byte [`packed::sketch`];
//! - [`pair`]: the one rule for a pair (screen → score → class → coordinated override), which
//!   the write path, the dry run and the recomputation all follow;
//! - [`scan`]: one activity against its candidates, through the pair rule;
//! - [`cache`]: prepared features by activity and version, and their sketches;
//! - [`words`]: the words of stored texts, numbered once per process, and the TF-IDF space of
//!   one scoring;
//! - [`parallel`]: work split over two threads.
//!
//! Callers read the registry themselves and hand the engine what it reads: features, the
//! corpus' document frequencies and the coordination groups.

pub mod cache;
pub mod packed;
pub mod pair;
pub mod parallel;
pub mod scan;
pub mod words;

pub use cache::{FeatureCache, Prepared, VersionedCache};
pub use words::{TextSpace, WordNumbers};

#[cfg(test)]
mod tests;
