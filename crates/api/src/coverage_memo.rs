//! Need coverage kept between requests by registry version and day. A need's coverage depends
//! only on the registry (its links, the covering activities, their coordination groups and
//! double-reporting flags, the analysis) and on the day, not on who asks; every committed
//! write raises the registry version (`WriteTxn::commit`), from any process or replica. So a
//! coverage computed after reading version `v` on day `d` stays right until either changes,
//! and the dry run's addressable needs, `Need.coverage` and the needs lists share it.

use aidgraph_persistence::coverage::NeedCoverage;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Mutex;

/// A need's id and whether its candidates were asked for.
pub type Key = (i64, bool);

/// Most coverages kept; past it the memo starts afresh (a registry has far fewer needs).
const MAX_ENTRIES: usize = 200_000;

/// Coverage by need id and whether candidates were asked for, for one registry version and
/// day.
#[derive(Debug, Default)]
pub struct CoverageMemo {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    version: i64,
    day: Option<NaiveDate>,
    entries: HashMap<Key, NeedCoverage>,
}

impl Kept {
    /// Forgets everything when the registry or the day moved on.
    fn at(&mut self, version: i64, day: NaiveDate) {
        if self.version != version || self.day != Some(day) {
            self.version = version;
            self.day = Some(day);
            self.entries.clear();
        }
    }
}

impl CoverageMemo {
    /// The coverages kept for `keys` at `version` and `day`, and the keys not kept.
    pub fn get_many(
        &self,
        keys: &[Key],
        version: i64,
        day: NaiveDate,
    ) -> (HashMap<Key, NeedCoverage>, Vec<Key>) {
        let Ok(mut kept) = self.kept.lock() else {
            return (HashMap::new(), keys.to_vec());
        };
        kept.at(version, day);
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for key in keys {
            match kept.entries.get(key) {
                Some(c) => {
                    found.insert(*key, c.clone());
                }
                None => missing.push(*key),
            }
        }
        (found, missing)
    }

    /// Keeps coverages computed after reading `version` on `day`. A newer version read in
    /// the meantime wins: these are then not kept.
    pub fn put_many(
        &self,
        computed: impl IntoIterator<Item = (Key, NeedCoverage)>,
        version: i64,
        day: NaiveDate,
    ) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.version > version {
            return;
        }
        kept.at(version, day);
        if kept.entries.len() > MAX_ENTRIES {
            kept.entries.clear();
        }
        kept.entries.extend(computed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aidgraph_domain::overlap::coverage::{Coverage, CoverageState};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default()
    }

    fn covered(candidates: Vec<i64>) -> NeedCoverage {
        NeedCoverage {
            coverage: Coverage {
                state: CoverageState::Unmet,
                covering: Vec::new(),
                groups: 0,
                pipeline_only: false,
                orphan: false,
                crowded: false,
            },
            candidates,
        }
    }

    #[test]
    fn a_coverage_is_kept_until_the_registry_or_the_day_moves_on() {
        let memo = CoverageMemo::default();
        memo.put_many([((1, false), covered(vec![7]))], 5, day(6));
        let (found, missing) = memo.get_many(&[(1, false), (2, false)], 5, day(6));
        assert_eq!(found[&(1, false)].candidates, [7]);
        assert_eq!(missing, [(2, false)]);
        // With candidates is another question.
        assert_eq!(memo.get_many(&[(1, true)], 5, day(6)).1, [(1, true)]);
        // A write, or midnight, forgets it.
        assert_eq!(memo.get_many(&[(1, false)], 6, day(6)).1, [(1, false)]);
        memo.put_many([((1, false), covered(vec![8]))], 6, day(6));
        assert_eq!(memo.get_many(&[(1, false)], 6, day(7)).1, [(1, false)]);
    }

    #[test]
    fn a_coverage_computed_before_a_newer_version_was_seen_is_not_kept() {
        let memo = CoverageMemo::default();
        let _ = memo.get_many(&[(1, false)], 9, day(6));
        memo.put_many([((1, false), covered(vec![3]))], 8, day(6));
        assert_eq!(memo.get_many(&[(1, false)], 9, day(6)).1, [(1, false)]);
    }
}
