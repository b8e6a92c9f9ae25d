//! The overlap rule's weights and thresholds, in one versioned place. Every flag records the
//! version it was computed with.

/// Weights, thresholds and windows of the overlap rule (DESIGN.md §4).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlapConfig {
    /// Recorded on every flag.
    pub version: &'static str,
    /// Weight of the topic component.
    pub topic_weight: f64,
    /// Weight of the need component.
    pub need_weight: f64,
    /// Weight of the assistance-type component.
    pub type_weight: f64,
    /// Weight of the text component.
    pub text_weight: f64,
    /// Weight of the beneficiary component.
    pub beneficiary_weight: f64,
    /// Weight of the implementer component.
    pub implementer_weight: f64,
    /// Geography factor when either side lists more than one country.
    pub multi_country_factor: f64,
    /// Score from which a pair is LIKELY_DUPLICATION.
    pub likely_threshold: u8,
    /// Score from which a pair is POSSIBLE_OVERLAP and stored.
    pub possible_threshold: u8,
    /// Activities that ended more than this many years ago are left out.
    pub lookback_years: u32,
    /// DOUBLE_REPORTING: text similarity at least this, with the same implementer…
    pub double_text: f64,
    /// …time overlap at least this…
    pub double_time: f64,
    /// …and budgets within this fraction of the larger one.
    pub double_budget: f64,
}

/// The rule as DESIGN.md §4 sets it.
pub const DEFAULT: OverlapConfig = OverlapConfig {
    version: "overlap-2026.1",
    topic_weight: 0.30,
    need_weight: 0.20,
    type_weight: 0.15,
    text_weight: 0.15,
    beneficiary_weight: 0.10,
    implementer_weight: 0.10,
    multi_country_factor: 0.8,
    likely_threshold: 60,
    possible_threshold: 40,
    lookback_years: 5,
    double_text: 0.85,
    double_time: 0.8,
    double_budget: 0.15,
};

impl Default for OverlapConfig {
    fn default() -> Self {
        DEFAULT
    }
}
