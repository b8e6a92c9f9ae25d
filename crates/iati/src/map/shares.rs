//! Countries, regions and sectors with their shares, from the activity or, failing that, from its transactions.

use super::*;

/// Which coded list a `recipient-country`, `recipient-region` or `sector` element feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Geography {
    Country,
    Region,
    Sector,
}

impl Geography {
    pub(super) fn element(self) -> &'static str {
        match self {
            Geography::Country => "recipient-country",
            Geography::Region => "recipient-region",
            Geography::Sector => "sector",
        }
    }
}

/// One code with its vocabulary and share.
#[derive(Debug, Clone)]
pub(super) struct Share {
    pub(super) vocabulary: String,
    pub(super) code: String,
    pub(super) percentage: Option<Decimal>,
    pub(super) times: u32,
}

/// Codes in the order first listed; a code listed again is merged into its first place with
/// the percentages summed.
#[derive(Debug, Default)]
pub(super) struct Shares {
    pub(super) items: Vec<Share>,
}

impl Shares {
    /// The shares in the order first listed, as the registry's `T`.
    pub(super) fn into_list<T>(self, make: impl Fn(Share) -> T) -> Vec<T> {
        self.items.into_iter().map(make).collect()
    }

    pub(super) fn add(&mut self, vocabulary: String, code: String, percentage: Option<Decimal>) {
        match self
            .items
            .iter_mut()
            .find(|x| x.vocabulary == vocabulary && x.code == code)
        {
            Some(x) => {
                x.percentage = match (x.percentage, percentage) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                x.times += 1;
            }
            None => self.items.push(Share {
                vocabulary,
                code,
                percentage,
                times: 1,
            }),
        }
    }

    pub(super) fn report(&self, element: &str, warnings: &mut Warnings) {
        for x in self.items.iter().filter(|x| x.times > 1) {
            warnings.push(
                Reason::RepeatedCode,
                format!(
                    "{element} `{}` listed {} times; merged{}",
                    x.code,
                    x.times,
                    x.percentage
                        .map(|p| format!(", percentages summed to {}", p.normalize()))
                        .unwrap_or_default()
                ),
            );
        }
    }
}

/// The vocabulary and code of a `recipient-country`, `recipient-region` or `sector` element,
/// when its code list knows the code; a warning when it does not.
pub(super) fn coded(
    e: &Element,
    kind: Geography,
    warnings: &mut Warnings,
) -> Option<(String, String)> {
    let raw = code(e)?;
    match kind {
        Geography::Country => {
            let code = raw.to_ascii_uppercase();
            if COUNTRY.get(&code).is_some() {
                return Some((String::new(), code));
            }
            warnings.push(
                Reason::UnknownCode,
                format!("unknown recipient-country `{code}` left out"),
            );
        }
        Geography::Region => {
            let vocabulary = e.attr("vocabulary").unwrap_or("1");
            if vocabulary == "1" && REGION.get(raw).is_some() {
                return Some((vocabulary.to_owned(), raw.to_owned()));
            }
            warnings.push(
                Reason::UnknownCode,
                format!("recipient-region {raw} in vocabulary {vocabulary} left out"),
            );
        }
        Geography::Sector => {
            let vocabulary = sector_vocabulary(e.attr("vocabulary"));
            let known = match vocabulary.as_str() {
                "1" => SECTOR.get(raw).is_some(),
                "2" => SECTOR_CATEGORY.get(raw).is_some(),
                other => SECTOR_VOCABULARY.get(other).is_some(),
            };
            if known {
                return Some((vocabulary, raw.to_owned()));
            }
            warnings.push(
                Reason::UnknownCode,
                format!(
                    "sector `{raw}` (vocabulary {vocabulary}) is not in its code list; left out"
                ),
            );
        }
    }
    None
}

pub(super) fn shares_of(e: &Element, kind: Geography, into: &mut Shares, warnings: &mut Warnings) {
    if let Some((vocabulary, code)) = coded(e, kind, warnings) {
        into.add(vocabulary, code, percentage(e));
    }
}

/// The activity's countries, regions or sectors from its transactions': each transaction
/// weighs its absolute value (or one, when the transactions are in several currencies or
/// all zero), shared equally among the codes it gives in a vocabulary; percentages per
/// vocabulary, to two decimals, summing to 100.
pub(super) fn from_transactions(e: &Element, kind: Geography, warnings: &mut Warnings) -> Shares {
    let mut given: Vec<(Decimal, Vec<(String, String)>)> = Vec::new();
    let mut currencies: Vec<String> = Vec::new();
    let default_currency = e.attr("default-currency").map(str::to_ascii_uppercase);
    for t in e.children("transaction") {
        let codes: Vec<(String, String)> = t
            .children(kind.element())
            .filter_map(|c| coded(c, kind, warnings))
            .collect();
        if codes.is_empty() {
            continue;
        }
        let value = t.child("value");
        let amount = value
            .and_then(Element::text)
            .and_then(parse_amount)
            .map(|a| a.abs())
            .unwrap_or_default();
        if let Some(c) = value
            .and_then(|v| v.attr("currency").map(str::to_ascii_uppercase))
            .or_else(|| default_currency.clone())
            && !currencies.contains(&c)
        {
            currencies.push(c);
        }
        given.push((amount, codes));
    }
    let mut out = Shares::default();
    if given.is_empty() {
        return out;
    }
    let by_value = currencies.len() <= 1 && given.iter().any(|(a, _)| !a.is_zero());
    let mut weights: Vec<(String, String, Decimal)> = Vec::new();
    for (amount, codes) in &given {
        let weight = if by_value { *amount } else { Decimal::ONE };
        for (vocabulary, code) in codes {
            let peers = codes.iter().filter(|(v, _)| v == vocabulary).count();
            let part = weight / Decimal::from(peers);
            match weights
                .iter_mut()
                .find(|(v, c, _)| v == vocabulary && c == code)
            {
                Some(w) => w.2 += part,
                None => weights.push((vocabulary.clone(), code.clone(), part)),
            }
        }
    }
    let mut vocabularies: Vec<String> = weights.iter().map(|(v, _, _)| v.clone()).collect();
    vocabularies.sort();
    vocabularies.dedup();
    for vocabulary in vocabularies {
        let these: Vec<&(String, String, Decimal)> = weights
            .iter()
            .filter(|(v, _, _)| *v == vocabulary)
            .collect();
        let total: Decimal = these.iter().map(|(_, _, w)| *w).sum();
        let mut left = Decimal::ONE_HUNDRED;
        for (i, (_, code, weight)) in these.iter().enumerate() {
            let percentage = if i + 1 == these.len() {
                left
            } else {
                (*weight * Decimal::ONE_HUNDRED / total).round_dp(2)
            };
            left -= percentage;
            out.add(vocabulary.clone(), code.clone(), Some(percentage));
        }
    }
    warnings.push(
        Reason::FromTransactions,
        format!(
            "no activity-level {}: taken from {} transactions, weighted by {}",
            kind.element(),
            given.len(),
            if by_value { "value" } else { "count" }
        ),
    );
    out
}
