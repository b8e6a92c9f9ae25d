//! Exchange rates: monthly `units_per_usd` per currency, read from CSV, and conversion at the
//! mean rate of a year. Amounts whose rate is missing are never summed silently: conversion
//! says so and the caller keeps them apart.

use crate::codes::CURRENCY;
use crate::error::Violations;
use crate::money::Money;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// One month's rate of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyRate {
    /// ISO 4217 code.
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Units of the currency one US dollar buys.
    pub units_per_usd: Decimal,
}

/// Most lines one load may carry.
pub const MAX_LINES: usize = 50_000;

fn check_month(text: &str) -> Option<String> {
    let (year, month) = text.split_once('-')?;
    let year: i32 = (year.len() == 4).then(|| year.parse().ok())??;
    let month: u32 = (month.len() == 2).then(|| month.parse().ok())??;
    ((1900..=2100).contains(&year) && (1..=12).contains(&month))
        .then(|| format!("{year:04}-{month:02}"))
}

/// Reads `currency,month,units_per_usd` lines (a header line is skipped; blank lines too).
/// Every bad line is reported as `csv line N`; one bad line rejects the whole text.
pub fn parse_csv(text: &str) -> Result<Vec<MonthlyRate>, Violations> {
    let mut v = Violations::default();
    let mut out = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    for (index, record) in reader.records().enumerate() {
        let field = |record: &csv::StringRecord| {
            let line = record.position().map_or(index as u64 + 1, |p| p.line());
            format!("csv line {line}")
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                v.push(
                    format!("csv line {}", index + 1),
                    format!("unreadable: {e}"),
                );
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if index == 0
            && record
                .get(0)
                .is_some_and(|c| c.eq_ignore_ascii_case("currency"))
        {
            continue;
        }
        if out.len() >= MAX_LINES {
            v.push(
                field(&record),
                format!("a load holds at most {MAX_LINES} lines"),
            );
            break;
        }
        if record.len() != 3 {
            v.push(
                field(&record),
                format!(
                    "expected currency,month,units_per_usd; found {} fields",
                    record.len()
                ),
            );
            continue;
        }
        let currency = record[0].to_ascii_uppercase();
        let mut problems = Vec::new();
        if CURRENCY.get(&currency).is_none() {
            problems.push(format!("unknown currency `{}` (ISO 4217)", &record[0]));
        }
        let month = check_month(&record[1]);
        if month.is_none() {
            problems.push(format!("month `{}` is not YYYY-MM", &record[1]));
        }
        let rate = record[2]
            .parse::<Decimal>()
            .ok()
            .filter(|r| *r > Decimal::ZERO);
        if rate.is_none() {
            problems.push(format!("rate `{}` is not a positive decimal", &record[2]));
        }
        let line = record.position().map_or(index as u64 + 1, |p| p.line());
        if let Some(month) = &month
            && let Some(first) = seen.insert((currency.clone(), month.clone()), line)
        {
            problems.push(format!("repeats {currency} {month} of line {first}"));
        }
        match (month, rate) {
            (Some(month), Some(units_per_usd)) if problems.is_empty() => out.push(MonthlyRate {
                currency,
                month,
                units_per_usd,
            }),
            _ => v.push(field(&record), problems.join("; ")),
        }
    }
    if out.is_empty() && v.is_empty() {
        v.push("csv", "holds no rates");
    }
    v.into_result(out)
}

/// Mean yearly rates, for converting amounts.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    /// (currency, year) → mean units per USD.
    yearly: HashMap<(String, i32), Decimal>,
}

impl Rates {
    /// Builds yearly means from monthly rates.
    pub fn from_monthly<'a>(rates: impl IntoIterator<Item = &'a MonthlyRate>) -> Self {
        let mut sums: BTreeMap<(String, i32), (Decimal, u32)> = BTreeMap::new();
        for r in rates {
            let Some(year) = r.month.get(..4).and_then(|y| y.parse().ok()) else {
                continue;
            };
            let entry = sums
                .entry((r.currency.clone(), year))
                .or_insert((Decimal::ZERO, 0));
            entry.0 += r.units_per_usd;
            entry.1 += 1;
        }
        Rates {
            yearly: sums
                .into_iter()
                .map(|(k, (sum, n))| (k, sum / Decimal::from(n)))
                .collect(),
        }
    }

    /// Units of `currency` per US dollar in `year`: 1 for USD, the mean of the stored months
    /// otherwise.
    pub fn rate(&self, currency: &str, year: i32) -> Option<Decimal> {
        if currency == "USD" {
            return Some(Decimal::ONE);
        }
        self.yearly.get(&(currency.to_owned(), year)).copied()
    }

    /// Converts `amount` of `from` into `to` at `year`'s rates; `None` when a rate is missing.
    pub fn convert(&self, amount: Decimal, from: &str, to: &str, year: i32) -> Option<Decimal> {
        if from == to {
            return Some(amount);
        }
        let from_rate = self.rate(from, year)?;
        let to_rate = self.rate(to, year)?;
        amount.checked_div(from_rate)?.checked_mul(to_rate)
    }
}

/// A running total in one currency, with what could not be converted kept per currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Total {
    /// The converted sum, unrounded.
    pub sum: Decimal,
    /// Amounts without a rate, per currency.
    pub unconverted: BTreeMap<String, Decimal>,
}

impl Total {
    /// Adds `amount` of `from`, converted to `to` at `year`; keeps it apart without a rate.
    /// Returns the converted amount when there was a rate.
    pub fn add(
        &mut self,
        rates: &Rates,
        amount: Decimal,
        from: &str,
        to: &str,
        year: i32,
    ) -> Option<Decimal> {
        match rates.convert(amount, from, to, year) {
            Some(converted) => {
                self.sum += converted;
                Some(converted)
            }
            None => {
                *self.unconverted.entry(from.to_owned()).or_default() += amount;
                None
            }
        }
    }

    /// Adds another total.
    pub fn merge(&mut self, other: &Total) {
        self.sum += other.sum;
        for (currency, amount) in &other.unconverted {
            *self.unconverted.entry(currency.clone()).or_default() += amount;
        }
    }

    /// The sum rounded to cents, always with two decimals.
    pub fn rounded(&self) -> Decimal {
        cents(self.sum)
    }

    /// What could not be converted, as money rounded to cents.
    pub fn unconverted_money(&self) -> Vec<Money> {
        self.unconverted
            .iter()
            .map(|(currency, amount)| Money {
                amount: cents(*amount),
                currency: currency.clone(),
            })
            .collect()
    }
}

/// Rounds half away from zero to cents and shows two decimals.
pub fn cents(amount: Decimal) -> Decimal {
    let mut rounded =
        amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn reads_rates_and_names_every_bad_line() {
        let good =
            parse_csv("currency,month,units_per_usd\nEUR,2026-01,0.80\n\neur , 2026-02 , 0.90\n");
        assert_eq!(good.as_ref().map(Vec::len), Ok(2));
        assert_eq!(
            good.ok().and_then(|r| r.last().cloned()),
            Some(MonthlyRate {
                currency: "EUR".into(),
                month: "2026-02".into(),
                units_per_usd: dec("0.90"),
            })
        );
        let bad =
            parse_csv("EUR,2026-01,0.8\nXXY,2026-13,-1\nGBP,2026-01\neur,2026-01,0.9\n").err();
        let fields: Vec<String> = bad
            .map(|v| v.0.into_iter().map(|x| x.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["csv line 2", "csv line 3", "csv line 4"]);
        assert!(parse_csv("currency,month,units_per_usd\n").is_err());
    }

    #[test]
    fn converts_at_the_mean_of_the_year_and_keeps_missing_rates_apart() {
        let monthly = [
            MonthlyRate {
                currency: "EUR".into(),
                month: "2026-01".into(),
                units_per_usd: dec("0.7"),
            },
            MonthlyRate {
                currency: "EUR".into(),
                month: "2026-02".into(),
                units_per_usd: dec("0.9"),
            },
            MonthlyRate {
                currency: "GBP".into(),
                month: "2026-01".into(),
                units_per_usd: dec("0.5"),
            },
        ];
        let rates = Rates::from_monthly(&monthly);
        // 100 EUR at 0.8 per USD is 125 USD; 125 USD at 0.5 GBP per USD is 62.5 GBP.
        assert_eq!(
            rates.convert(dec("100"), "EUR", "USD", 2026),
            Some(dec("125"))
        );
        assert_eq!(
            rates.convert(dec("100"), "EUR", "GBP", 2026),
            Some(dec("62.5"))
        );
        assert_eq!(rates.convert(dec("100"), "EUR", "USD", 2025), None);
        let mut total = Total::default();
        total.add(&rates, dec("100"), "EUR", "USD", 2026);
        total.add(&rates, dec("10"), "USD", "USD", 2026);
        total.add(&rates, dec("7"), "JPY", "USD", 2026);
        assert_eq!(total.rounded().to_string(), "135.00");
        assert_eq!(total.unconverted_money()[0].currency, "JPY");
    }
}
