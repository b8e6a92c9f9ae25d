//! The overlap rules (DESIGN.md §4 and §5) as pure functions: features, text similarity, the
//! pairwise score, coordination groups and needs coverage. The engine that applies them to a
//! registry (screens, caches, the pair pipeline) is the `aidgraph-engine` crate.

pub mod config;
pub mod coverage;
pub mod features;
pub mod groups;
pub mod score;
pub mod text;

pub use config::OverlapConfig;
pub use features::OverlapFeatures;
pub use score::{Component, PairScore, is_candidate, score_pair};
pub use text::TextVector;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;
