//! Coordination analytics (DESIGN.md §6) as pure functions: which activities are active, how an
//! activity's budget splits across countries and columns, provider shares, the
//! Herfindahl-Hirschman index, OECD-style significance, and the Paris Declaration indicators.
//! `docs/coordination.md` states every rule in words.

use crate::activity::ActivityData;
use crate::overlap::coverage::{Claim, covers};
use crate::rates::{Rates, Total, cents};
use crate::records::JointWorkData;
use crate::vocab::{ActivityStatus, PriorityArea};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

/// Whether an activity counts as active: in `year` (not cancelled, window meets the year), or
/// today (pipeline, implementation, finalisation, or closed within the last 12 months).
pub fn is_active(data: &ActivityData, year: Option<i32>, today: NaiveDate) -> bool {
    match year {
        Some(year) => {
            data.status != ActivityStatus::Cancelled
                && data
                    .window()
                    .is_some_and(|w| w.start.year() <= year && w.end.year() >= year)
        }
        None => covers(
            &Claim {
                id: 0,
                status: data.status,
                window: data.window(),
                in_country: true,
                group: 0,
            },
            today,
        ),
    }
}

/// The year an activity's budget converts at: the filter's year, else the year it starts,
/// else this year.
pub fn rate_year(data: &ActivityData, year: Option<i32>, today: NaiveDate) -> i32 {
    year.or_else(|| data.window().map(|w| w.start.year()))
        .unwrap_or_else(|| today.year())
}

fn hundredth(p: Decimal) -> Decimal {
    p / Decimal::ONE_HUNDRED
}

/// The share of an activity that goes to recipient country or region `code`: its percentage,
/// or an equal part of the countries and regions it lists.
pub fn location_share(data: &ActivityData, code: &str) -> Decimal {
    let places = data.recipient_countries.len() + data.recipient_regions.len();
    let given = data
        .recipient_countries
        .iter()
        .map(|c| (c.code.as_str(), c.percentage))
        .chain(
            data.recipient_regions
                .iter()
                .map(|r| (r.code.as_str(), r.percentage)),
        )
        .find(|(c, _)| *c == code);
    match given {
        None => Decimal::ZERO,
        Some((_, Some(p))) => hundredth(p),
        Some((_, None)) => Decimal::ONE / Decimal::from(places.max(1)),
    }
}

/// A matrix column: a priority area or a DAC 5-digit sector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// A priority area.
    PriorityArea(PriorityArea),
    /// A DAC 5-digit sector code (vocabulary 1).
    Sector(String),
}

/// DAC 5-digit sectors (vocabulary 1) an activity lists, with their percentages.
fn dac_sectors(data: &ActivityData) -> impl Iterator<Item = &crate::activity::SectorShare> {
    data.sectors.iter().filter(|s| s.vocabulary == "1")
}

/// The columns an activity sits in.
pub fn columns_of(data: &ActivityData, by_sector: bool) -> Vec<Column> {
    if by_sector {
        dac_sectors(data)
            .map(|s| Column::Sector(s.code.clone()))
            .collect()
    } else {
        data.priority_areas
            .iter()
            .copied()
            .map(Column::PriorityArea)
            .collect()
    }
}

/// The share of an activity that goes to `column`: an equal part of its priority areas, or the
/// sector's percentage (an equal part of its sectors without percentages).
pub fn column_share(data: &ActivityData, column: &Column) -> Decimal {
    match column {
        Column::PriorityArea(area) => {
            if data.priority_areas.contains(area) {
                Decimal::ONE / Decimal::from(data.priority_areas.len())
            } else {
                Decimal::ZERO
            }
        }
        Column::Sector(code) => {
            let count = dac_sectors(data).count();
            match dac_sectors(data).find(|s| &s.code == code) {
                None => Decimal::ZERO,
                Some(s) => s
                    .percentage
                    .map(hundredth)
                    .unwrap_or_else(|| Decimal::ONE / Decimal::from(count.max(1))),
            }
        }
    }
}

/// What provider shares are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareBasis {
    /// Converted budget.
    Budget,
    /// Activities, each counting one.
    Activities,
}

/// One provider's holding in a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderShare {
    /// The provider (organisation ref).
    pub provider: String,
    /// Its converted budget in the scope.
    pub amount: Decimal,
    /// How many of its activities are in the scope.
    pub activities: u32,
    /// Its share, 0–1.
    pub share: f64,
}

/// Per-provider totals of a scope, before shares are taken.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    by_provider: BTreeMap<String, (Decimal, u32)>,
}

impl Holdings {
    /// Adds an activity of `provider` worth `amount` (converted; zero without a budget).
    pub fn add(&mut self, provider: &str, amount: Decimal) {
        let entry = self
            .by_provider
            .entry(provider.to_owned())
            .or_insert((Decimal::ZERO, 0));
        entry.0 += amount;
        entry.1 += 1;
    }

    /// Whether no activity was added.
    pub fn is_empty(&self) -> bool {
        self.by_provider.is_empty()
    }

    /// The providers holding a part, by ref.
    pub fn providers(&self) -> Vec<String> {
        self.by_provider.keys().cloned().collect()
    }

    /// The basis shares are taken on: budget when the converted total is positive.
    pub fn natural_basis(&self) -> ShareBasis {
        let total: Decimal = self.by_provider.values().map(|(a, _)| *a).sum();
        if total > Decimal::ZERO {
            ShareBasis::Budget
        } else {
            ShareBasis::Activities
        }
    }

    /// Each provider's share on `basis`, largest first (ties by ref).
    pub fn shares(&self, basis: ShareBasis) -> Vec<ProviderShare> {
        let total_amount: Decimal = self.by_provider.values().map(|(a, _)| *a).sum();
        let total_count: u32 = self.by_provider.values().map(|(_, n)| *n).sum();
        let mut out: Vec<ProviderShare> = self
            .by_provider
            .iter()
            .map(|(provider, (amount, count))| {
                let share = match basis {
                    ShareBasis::Budget if total_amount > Decimal::ZERO => {
                        (amount / total_amount).to_f64().unwrap_or(0.0)
                    }
                    ShareBasis::Budget => 0.0,
                    ShareBasis::Activities if total_count > 0 => {
                        f64::from(*count) / f64::from(total_count)
                    }
                    ShareBasis::Activities => 0.0,
                };
                ProviderShare {
                    provider: provider.clone(),
                    amount: cents(*amount),
                    activities: *count,
                    share,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.provider.cmp(&b.provider))
        });
        out
    }
}

/// The Herfindahl-Hirschman index Σ sᵢ²; fragmentation is `1 − hhi`.
pub fn hhi(shares: &[ProviderShare]) -> f64 {
    shares.iter().map(|s| s.share * s.share).sum()
}

/// Whether a provider's relationship with a country (or cell) is significant.
#[derive(Debug, Clone, PartialEq)]
pub struct Significance {
    /// The provider and its share of the scope.
    pub holding: ProviderShare,
    /// Its share of the same activities in every country.
    pub global_share: f64,
    /// `share ≥ global_share`.
    pub above_global_share: bool,
    /// Among the largest providers that together reach 90 % of the scope.
    pub within_ninety_percent: bool,
}

impl Significance {
    /// Either test holds.
    pub fn significant(&self) -> bool {
        self.above_global_share || self.within_ninety_percent
    }
}

/// OECD-style significance of each provider of `scope`, with `global` holding the same
/// providers' activities in every country. Largest share first.
pub fn significance(scope: &Holdings, global: &Holdings) -> (ShareBasis, Vec<Significance>) {
    let basis = scope.natural_basis();
    let global_shares: BTreeMap<String, f64> = global
        .shares(basis)
        .into_iter()
        .map(|s| (s.provider, s.share))
        .collect();
    let mut before = 0.0;
    let out = scope
        .shares(basis)
        .into_iter()
        .map(|holding| {
            let global_share = global_shares.get(&holding.provider).copied().unwrap_or(0.0);
            let within_ninety_percent = before < 0.9 - 1e-12;
            before += holding.share;
            Significance {
                above_global_share: holding.share + 1e-12 >= global_share,
                within_ninety_percent,
                global_share,
                holding,
            }
        })
        .collect();
    (basis, out)
}

/// The unit of an indicator's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicatorUnit {
    /// A percentage, 0–100.
    Percent,
    /// A count.
    Count,
}

/// One Paris Declaration indicator for one year and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// "3", "4", "5a", … "10b".
    pub key: &'static str,
    /// What it measures.
    pub name: &'static str,
    /// Percent or count.
    pub unit: IndicatorUnit,
    /// The numerator: a count, or money for indicator 7.
    pub numerator: Decimal,
    /// The denominator.
    pub denominator: Decimal,
    /// Records in scope.
    pub records: u32,
    /// Records that reported the underlying flag.
    pub reported: u32,
    /// The 2010 target, where one is set as a single global figure.
    pub target: Option<f64>,
    /// The target in words.
    pub target_description: &'static str,
    /// Money the indicator left out for want of a rate (indicator 7).
    pub unconverted: Total,
    /// Whether the figures are money in the requested currency.
    pub is_money: bool,
}

impl Indicator {
    /// The value: a percentage of numerator over denominator, or the count for indicator 6;
    /// `None` when the denominator is zero or money could not be converted (the ratio of what
    /// converted would mislead).
    pub fn value(&self) -> Option<f64> {
        if self.denominator.is_zero() || !self.unconverted.unconverted.is_empty() {
            return None;
        }
        match self.unit {
            IndicatorUnit::Count => self.numerator.to_f64(),
            IndicatorUnit::Percent => {
                (self.numerator * Decimal::ONE_HUNDRED / self.denominator).to_f64()
            }
        }
    }

    /// Reported records over records in scope.
    pub fn reported_share(&self) -> Option<f64> {
        (self.records > 0).then(|| f64::from(self.reported) / f64::from(self.records))
    }
}

/// An activity in the scope of the Paris indicators, with what the registry derived for it.
#[derive(Debug, Clone, Copy)]
pub struct ParisRecord<'a> {
    /// Its content.
    pub data: &'a ActivityData,
    /// Indicator 4: addresses a recipient's published need, or shares a coordination group with
    /// another provider's activity.
    pub coordinated: bool,
}

struct Spec {
    key: &'static str,
    name: &'static str,
    target: Option<f64>,
    target_description: &'static str,
}

const SPECS: [Spec; 10] = [
    Spec {
        key: "3",
        name: "Aid flows are aligned on national priorities (on budget)",
        target: Some(85.0),
        target_description: "85 % of aid recorded in the recipient's budget (halve the gap)",
    },
    Spec {
        key: "4",
        name: "Strengthen capacity by co-ordinated support (coordinated technical cooperation)",
        target: Some(50.0),
        target_description: "50 % of technical cooperation implemented through co-ordinated programmes",
    },
    Spec {
        key: "5a",
        name: "Use of country public financial management systems",
        target: None,
        target_description: "reduce the gap by two-thirds or one-third, depending on the country's PFM score",
    },
    Spec {
        key: "5b",
        name: "Use of country procurement systems",
        target: None,
        target_description: "reduce the gap by two-thirds or one-third, depending on the country's procurement score",
    },
    Spec {
        key: "6",
        name: "Avoid parallel implementation structures (parallel PIUs)",
        target: None,
        target_description: "reduce the stock of parallel PIUs by two-thirds",
    },
    Spec {
        key: "7",
        name: "Aid is more predictable (disbursed as scheduled)",
        target: None,
        target_description: "halve the gap between aid scheduled and aid disbursed",
    },
    Spec {
        key: "8",
        name: "Aid is untied",
        target: None,
        target_description: "continued progress over time",
    },
    Spec {
        key: "9",
        name: "Use of common arrangements or procedures (programme-based approaches)",
        target: Some(66.0),
        target_description: "66 % of aid provided in the context of programme-based approaches",
    },
    Spec {
        key: "10a",
        name: "Joint missions",
        target: Some(40.0),
        target_description: "40 % of donor missions to the field are joint",
    },
    Spec {
        key: "10b",
        name: "Joint country analytic work",
        target: Some(66.0),
        target_description: "66 % of country analytic work is joint",
    },
];

fn ratio<'a>(
    spec: &Spec,
    records: &[ParisRecord<'a>],
    flag: impl Fn(&ParisRecord<'a>) -> Option<bool>,
    unit: IndicatorUnit,
) -> Indicator {
    let reported: Vec<bool> = records.iter().filter_map(flag).collect();
    let yes = reported.iter().filter(|b| **b).count() as u32;
    Indicator {
        key: spec.key,
        name: spec.name,
        unit,
        numerator: Decimal::from(yes),
        denominator: Decimal::from(reported.len() as u32),
        records: records.len() as u32,
        reported: reported.len() as u32,
        target: spec.target,
        target_description: spec.target_description,
        unconverted: Total::default(),
        is_money: false,
    }
}

fn joint_ratio(spec: &Spec, works: &[&JointWorkData]) -> Indicator {
    let joint = works.iter().filter(|w| w.joint()).count() as u32;
    Indicator {
        key: spec.key,
        name: spec.name,
        unit: IndicatorUnit::Percent,
        numerator: Decimal::from(joint),
        denominator: Decimal::from(works.len() as u32),
        records: works.len() as u32,
        reported: works.len() as u32,
        target: spec.target,
        target_description: spec.target_description,
        unconverted: Total::default(),
        is_money: false,
    }
}

fn predictability(
    spec: &Spec,
    records: &[ParisRecord<'_>],
    year: i32,
    currency: &str,
    rates: &Rates,
) -> Indicator {
    let mut scheduled = Total::default();
    let mut disbursed = Total::default();
    let mut reported = 0;
    for r in records {
        let planned: Vec<_> = r
            .data
            .iati
            .planned_disbursements
            .iter()
            .filter(|p| p.period_start.year() == year)
            .collect();
        if planned.is_empty() {
            continue;
        }
        reported += 1;
        for p in planned {
            scheduled.add(rates, p.value.amount, &p.value.currency, currency, year);
        }
        for t in &r.data.transactions {
            if (t.kind == "3" || t.kind == "4") && t.date.year() == year {
                disbursed.add(rates, t.value.amount, &t.value.currency, currency, year);
            }
        }
    }
    let (d, s) = (disbursed.rounded(), scheduled.rounded());
    // Only what could not be converted, from either side.
    let mut unconverted = Total::default();
    unconverted.merge(&scheduled);
    unconverted.merge(&disbursed);
    unconverted.sum = Decimal::ZERO;
    Indicator {
        key: spec.key,
        name: spec.name,
        unit: IndicatorUnit::Percent,
        numerator: d.min(s),
        denominator: d.max(s),
        records: records.len() as u32,
        reported,
        target: spec.target,
        target_description: spec.target_description,
        unconverted,
        is_money: true,
    }
}

/// Computes indicators 3 to 10b for `year` over the activities and joint work in scope, in
/// order. Money (indicator 7) converts into `currency` at `year`'s rates.
pub fn paris_indicators(
    year: i32,
    records: &[ParisRecord<'_>],
    missions: &[&JointWorkData],
    analytic_work: &[&JointWorkData],
    currency: &str,
    rates: &Rates,
) -> Vec<Indicator> {
    let [s3, s4, s5a, s5b, s6, s7, s8, s9, s10a, s10b] = &SPECS;
    use IndicatorUnit::{Count, Percent};
    vec![
        ratio(s3, records, |r| r.data.paris.on_budget, Percent),
        ratio(s4, records, |r| Some(r.coordinated), Percent),
        ratio(s5a, records, |r| r.data.paris.uses_country_pfm, Percent),
        ratio(
            s5b,
            records,
            |r| r.data.paris.uses_country_procurement,
            Percent,
        ),
        ratio(s6, records, |r| r.data.paris.parallel_piu, Count),
        predictability(s7, records, year, currency, rates),
        ratio(
            s8,
            records,
            |r| r.data.paris.tied_status.as_deref().map(|t| t == "5"),
            Percent,
        ),
        ratio(s9, records, |r| r.data.paris.programme_based, Percent),
        joint_ratio(s10a, missions),
        joint_ratio(s10b, analytic_work),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn hhi_and_significance_follow_the_oecd_rules() {
        // Scope: A 600, B 300, C 100 → shares .6 .3 .1, HHI .36 + .09 + .01 = .46.
        let mut scope = Holdings::default();
        scope.add("A", dec(600));
        scope.add("B", dec(300));
        scope.add("C", dec(100));
        let shares = scope.shares(scope.natural_basis());
        assert!((hhi(&shares) - 0.46).abs() < 1e-9);
        // Globally: A 600 + 5400 elsewhere, B 300, C 100 + 0 → totals 6000, 300, 100 of 6400.
        let mut global = Holdings::default();
        global.add("A", dec(6000));
        global.add("B", dec(300));
        global.add("C", dec(100));
        let (basis, sig) = significance(&scope, &global);
        assert_eq!(basis, ShareBasis::Budget);
        let by = |p: &str| sig.iter().find(|s| s.holding.provider == p).cloned();
        // A: .6 < 6000/6400 = .9375, but first in line (0 before it) → significant by 90 %.
        let a = by("A");
        assert_eq!(
            a.as_ref()
                .map(|s| (s.above_global_share, s.within_ninety_percent)),
            Some((false, true))
        );
        // B: .6 before it < .9 → within; C: .9 before it → not within, but .1 ≥ 100/6400.
        let c = by("C");
        assert_eq!(
            c.as_ref()
                .map(|s| (s.above_global_share, s.within_ninety_percent)),
            Some((true, false))
        );
        assert!(sig.iter().all(Significance::significant));
    }

    #[test]
    fn without_budgets_shares_count_activities() {
        let mut scope = Holdings::default();
        scope.add("A", Decimal::ZERO);
        scope.add("A", Decimal::ZERO);
        scope.add("B", Decimal::ZERO);
        assert_eq!(scope.natural_basis(), ShareBasis::Activities);
        let shares = scope.shares(ShareBasis::Activities);
        // 2/3 and 1/3: HHI 4/9 + 1/9 = 5/9.
        assert!((hhi(&shares) - 5.0 / 9.0).abs() < 1e-9);
    }
}
