//! The overlap engine's rules (DESIGN.md §4 and §5) as pure functions: features, text
//! similarity, the pairwise score, coordination groups and needs coverage.

pub mod config;
pub mod coverage;
pub mod features;
pub mod groups;
pub mod packed;
pub mod pair;
pub mod score;
pub mod text;

pub use config::OverlapConfig;
pub use features::OverlapFeatures;
pub use score::{Component, PairScore, is_candidate, score_pair};
pub use text::TextVector;

#[cfg(test)]
mod tests;
