//! Needs coverage (DESIGN.md §5): which activities cover a need, in how many coordination
//! groups, and whether those groups run at the same time.

use crate::activity::Window;
use crate::overlap::score::overlap_days;
use crate::vocab::ActivityStatus;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The coverage state of a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoverageState {
    /// No covering activity.
    Unmet,
    /// One group, or several one after another.
    Covered,
    /// Two or more groups at the same time.
    Duplicated,
}

impl CoverageState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageState::Unmet => "UNMET",
            CoverageState::Covered => "COVERED",
            CoverageState::Duplicated => "DUPLICATED",
        }
    }
}

/// An activity that explicitly addresses the need.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Activity id.
    pub id: i64,
    /// Status.
    pub status: ActivityStatus,
    /// Effective window.
    pub window: Option<Window>,
    /// Whether it lists the need's country.
    pub in_country: bool,
    /// Its coordination group (double-reporting pairs already merged).
    pub group: usize,
}

/// Coverage of one need.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// The state.
    pub state: CoverageState,
    /// Ids of the covering activities.
    pub covering: Vec<i64>,
    /// How many coordination groups cover it.
    pub groups: usize,
    /// Every covering activity is still in the pipeline.
    pub pipeline_only: bool,
    /// Unmet for over 12 months.
    pub orphan: bool,
    /// Three groups or more.
    pub crowded: bool,
}

/// Whether a claim covers: active (pipeline, implementation, finalisation, or closed within the
/// last 12 months), in the need's country, with a window.
pub fn covers(claim: &Claim, today: NaiveDate) -> bool {
    if !claim.in_country {
        return false;
    }
    match claim.status {
        ActivityStatus::Pipeline
        | ActivityStatus::Implementation
        | ActivityStatus::Finalisation => true,
        ActivityStatus::Closed => {
            let year_ago = today
                .checked_sub_months(Months::new(12))
                .unwrap_or(NaiveDate::MIN);
            claim.window.is_some_and(|w| w.end >= year_ago)
        }
        ActivityStatus::Cancelled | ActivityStatus::Suspended => false,
    }
}

/// Computes the coverage of a need published at `published` from the claims on it.
pub fn coverage(claims: &[Claim], published: Option<NaiveDate>, today: NaiveDate) -> Coverage {
    let covering: Vec<&Claim> = claims.iter().filter(|c| covers(c, today)).collect();
    let mut groups: BTreeMap<usize, Vec<Window>> = BTreeMap::new();
    for c in &covering {
        let windows = groups.entry(c.group).or_default();
        windows.extend(c.window);
    }
    let group_windows: Vec<&Vec<Window>> = groups.values().collect();
    // Two groups at the same time: the first such pair settles it.
    let concurrent = group_windows.iter().enumerate().any(|(i, a)| {
        group_windows[i + 1..].iter().any(|b| {
            a.iter()
                .any(|wa| b.iter().any(|wb| overlap_days(wa, wb) > 0))
        })
    });
    let state = match groups.len() {
        0 => CoverageState::Unmet,
        1 => CoverageState::Covered,
        _ if concurrent => CoverageState::Duplicated,
        _ => CoverageState::Covered,
    };
    let year_ago = today
        .checked_sub_months(Months::new(12))
        .unwrap_or(NaiveDate::MIN);
    Coverage {
        state,
        covering: covering.iter().map(|c| c.id).collect(),
        groups: groups.len(),
        pipeline_only: !covering.is_empty()
            && covering
                .iter()
                .all(|c| c.status == ActivityStatus::Pipeline),
        orphan: state == CoverageState::Unmet && published.is_some_and(|p| p < year_ago),
        crowded: groups.len() >= 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn claim(id: i64, group: usize, start: &str, end: &str) -> Claim {
        Claim {
            id,
            status: ActivityStatus::Implementation,
            window: Some(Window {
                start: d(start),
                end: d(end),
            }),
            in_country: true,
            group,
        }
    }

    #[test]
    fn states_follow_groups_and_time() {
        let today = d("2026-06-01");
        assert_eq!(coverage(&[], None, today).state, CoverageState::Unmet);
        let one = [claim(1, 1, "2026-01-01", "2026-12-31")];
        assert_eq!(coverage(&one, None, today).state, CoverageState::Covered);
        let two = [
            claim(1, 1, "2026-01-01", "2026-12-31"),
            claim(2, 2, "2026-03-01", "2027-12-31"),
        ];
        assert_eq!(coverage(&two, None, today).state, CoverageState::Duplicated);
        let coordinated = [
            claim(1, 1, "2026-01-01", "2026-12-31"),
            claim(2, 1, "2026-03-01", "2027-12-31"),
        ];
        assert_eq!(
            coverage(&coordinated, None, today).state,
            CoverageState::Covered
        );
        let sequential = [
            claim(1, 1, "2026-01-01", "2026-06-30"),
            claim(2, 2, "2026-07-01", "2027-12-31"),
        ];
        assert_eq!(
            coverage(&sequential, None, today).state,
            CoverageState::Covered
        );
    }

    #[test]
    fn suspended_and_long_closed_activities_do_not_cover() {
        let today = d("2026-06-01");
        let mut suspended = claim(1, 1, "2026-01-01", "2026-12-31");
        suspended.status = ActivityStatus::Suspended;
        let mut closed = claim(2, 2, "2023-01-01", "2024-12-31");
        closed.status = ActivityStatus::Closed;
        let c = coverage(&[suspended, closed], Some(d("2025-01-01")), today);
        assert_eq!(c.state, CoverageState::Unmet);
        assert!(c.orphan);
    }
}
