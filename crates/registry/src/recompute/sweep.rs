//! The sweep: candidate pairs per country, in windows sorted by start, through the pair rule.

use super::*;

/// Scores the candidate pairs whose earlier-starting side is at `rows` of `country`'s sorted
/// list; a pair sharing several countries is scored only in the first of them.
pub(super) fn score_rows(
    registry: &SweepState,
    country: &Country,
    rows: std::ops::Range<usize>,
    config: &OverlapConfig,
    today: NaiveDate,
) -> (Vec<Computed>, Counts) {
    let SweepState {
        all,
        vectors,
        groups,
        fingerprints,
        providers,
        ..
    } = registry;
    let fingerprint = |i: usize| {
        fingerprints[i].get_or_init(|| {
            let print = all[i].1.fingerprint();
            let started = input_hash_start(&print);
            (print, started)
        })
    };
    let sorted = &country.sorted;
    let mut out = Vec::new();
    let mut counts = Counts::default();
    for k in rows {
        let i = sorted[k];
        let (pa, sa) = (&country.packed[k], &country.sketches[k]);
        let Some(end) = sa.end() else { continue };
        let later = sorted[k + 1..]
            .iter()
            .zip(&country.sketches[k + 1..])
            .zip(&country.packed[k + 1..]);
        for ((&j, sb), pb) in later {
            let Some(start) = sb.start() else { continue };
            if start > end {
                break;
            }
            let (a, b) = (&all[i].1, &all[j].1);
            let exact = sa.is_exact() && sb.is_exact();
            let first_here = match country.packed_code {
                // Both are in this country, so one with a single country shares only it.
                Some(code) if exact => {
                    sa.has_one_country()
                        || sb.has_one_country()
                        || pa.first_shared_country(pb) == Some(code)
                }
                _ => a.countries.intersection(&b.countries).next() == Some(&country.code),
            };
            if !first_here {
                continue;
            }
            counts.scored += 1;
            // Exactly packed, the pair is a candidate by construction: both comparable, in
            // this country, and the sweep keeps only windows that overlap.
            if !sketch::may_flag(sa, sb, config)
                || !pair::screen(a, b, pa, pb, exact, config, today)
            {
                continue;
            }
            counts.past_bound += 1;
            let side = |features, packed, text| Side {
                features,
                packed,
                text,
            };
            let Some(Judged {
                score,
                class,
                full: Some(full),
            }) = pair::judge(
                side(a, pa, &vectors[i]),
                side(b, pb, &vectors[j]),
                || groups[i] == groups[j],
                true,
                config,
            )
            else {
                continue;
            };
            let (x, y) = if a.id < b.id { (i, j) } else { (j, i) };
            let countries: Vec<&String> = a.countries.intersection(&b.countries).collect();
            out.push(Computed::new(
                (all[x].0.id, all[y].0.id),
                score,
                class,
                components_json(&full),
                input_hash_after(fingerprint(x).1.clone(), &fingerprint(y).0),
                &countries,
                [&providers[x], &providers[y]],
            ));
        }
    }
    (out, counts)
}

/// Rows of a country's sorted list scored as one unit of work.
pub(super) const ROWS_PER_UNIT: usize = 256;

/// Pairs scored, and pairs whose text was compared.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) scored: u64,
    pub(super) past_bound: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.scored += other.scored;
        self.past_bound += other.past_bound;
    }
}
