//! The checks behind parsing: lengths, identifiers, narratives, percentages, codes and date order, each naming the offending field.

use super::*;

pub(super) fn pick_narrative<'a>(
    narratives: &'a [Narrative],
    lang: Option<&str>,
) -> Option<&'a str> {
    lang.and_then(|l| narratives.iter().find(|n| n.lang == l))
        .or_else(|| narratives.iter().find(|n| n.lang == "en"))
        .or_else(|| narratives.first())
        .map(|n| n.text.as_str())
}

pub(super) fn sorted_set<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    out.sort();
    out.dedup();
    out
}

pub(super) fn check_len(len: usize, field: &str, v: &mut Violations) {
    check_len_max(len, MAX_LIST_LEN, field, v);
}

pub(super) fn check_len_max(len: usize, max: usize, field: &str, v: &mut Violations) {
    if len > max {
        v.push(field, format!("must have at most {max} entries"));
    }
}

/// Most entries accepted in any one list of an imported IATI activity.
pub const MAX_IMPORTED_LIST_LEN: usize = 5_000;

/// Whether a new IATI identifier keeps the IATI Standard's rules: no whitespace (rule 1.3.1
/// asks for none around it; inside, it breaks links and is advised against), none of `/`, `&`,
/// `|` or `?` (rule 1.3.13), and no quotes. `None` when it does, else what it breaks.
///
/// Identifiers already published elsewhere are kept as they are (the European Commission's
/// use `/`, some NGOs' contain spaces), so the registry applies this to identifiers that
/// systems register through its API, not to imported files.
pub fn iati_identifier_breach(identifier: &str) -> Option<String> {
    let found = identifier
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '/' | '&' | '|' | '?' | '"' | '\''))?;
    Some(if found.is_whitespace() {
        "must not contain spaces or other whitespace (IATI rule 1.3.1)".to_owned()
    } else {
        format!(
            "must not contain `{found}`: an IATI identifier has none of / & | ? (IATI rule 1.3.13) and no quotes"
        )
    })
}

pub(super) fn check_identifier(value: &str, field: &str, v: &mut Violations) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        v.push(field, "must not be empty");
        None
    } else if let Some(c) = value.chars().find(|c| c.is_control()) {
        v.push(
            field,
            format!(
                "must not contain control characters (U+{:04X})",
                u32::from(c)
            ),
        );
        None
    } else if value.chars().count() > MAX_IDENTIFIER_LEN {
        v.push(
            field,
            format!("must have at most {MAX_IDENTIFIER_LEN} characters"),
        );
        None
    } else {
        Some(value.to_owned())
    }
}

pub(super) fn optional_identifier(
    value: Option<&str>,
    field: &str,
    v: &mut Violations,
) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(s) => check_identifier(s, field, v),
    }
}

pub(super) fn check_narratives(
    narratives: &[Narrative],
    field: &str,
    max_len: usize,
    v: &mut Violations,
) -> Vec<Narrative> {
    check_len(narratives.len(), field, v);
    let mut out: Vec<Narrative> = Vec::with_capacity(narratives.len());
    for (i, n) in narratives.iter().enumerate() {
        let lang = n.lang.trim().to_ascii_lowercase();
        if LANGUAGE.get(&lang).is_none() {
            v.push(
                format!("{field}[{i}].lang"),
                format!("unknown language code `{}` (ISO 639-1)", n.lang),
            );
        } else if out.iter().any(|o| o.lang == lang) {
            v.push(
                format!("{field}[{i}].lang"),
                format!("`{lang}` is given twice"),
            );
        }
        let text = n.text.trim();
        if text.is_empty() {
            v.push(format!("{field}[{i}].text"), "must not be empty");
        } else if text.chars().count() > max_len {
            v.push(
                format!("{field}[{i}].text"),
                format!("must have at most {max_len} characters"),
            );
        }
        out.push(Narrative {
            lang,
            text: text.to_owned(),
        });
    }
    out
}

pub(super) fn check_percentage(p: Option<Decimal>, field: &str, v: &mut Violations) {
    if let Some(p) = p
        && (p < Decimal::ZERO || p > Decimal::ONE_HUNDRED)
    {
        v.push(field, "must be between 0 and 100");
    }
}

/// Percentages within one vocabulary: all given or none, summing to 100 ± 0.5.
pub(super) fn check_percentage_sum(shares: &[Option<Decimal>], field: &str, v: &mut Violations) {
    let given: Vec<Decimal> = shares.iter().flatten().copied().collect();
    if given.is_empty() {
        return;
    }
    if given.len() != shares.len() {
        v.push(field, "give a percentage for every entry or for none");
        return;
    }
    let sum: Decimal = given.iter().sum();
    if (sum - Decimal::ONE_HUNDRED).abs() > PERCENT_TOLERANCE {
        v.push(
            field,
            format!("percentages must sum to 100, not {}", sum.normalize()),
        );
    }
}

pub(super) fn check_countries(
    input: &[CountryShare],
    lenient: bool,
    v: &mut Violations,
) -> Vec<CountryShare> {
    check_len(input.len(), "recipientCountries", v);
    let mut out: Vec<CountryShare> = Vec::with_capacity(input.len());
    for (i, c) in input.iter().enumerate() {
        let field = format!("recipientCountries[{i}]");
        check_percentage(c.percentage, &format!("{field}.percentage"), v);
        if let Some(code) = check_country(&c.code, &format!("{field}.code"), v) {
            if out.iter().any(|o| o.code == code) {
                if !lenient {
                    v.push(format!("{field}.code"), format!("`{code}` is listed twice"));
                }
                continue;
            }
            out.push(CountryShare {
                code,
                percentage: c.percentage,
            });
        }
    }
    if !lenient {
        let shares: Vec<Option<Decimal>> = input.iter().map(|c| c.percentage).collect();
        check_percentage_sum(&shares, "recipientCountries", v);
    }
    out
}

pub(super) fn check_regions(input: &[RegionShare], v: &mut Violations) -> Vec<RegionShare> {
    check_len(input.len(), "recipientRegions", v);
    let mut out = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let field = format!("recipientRegions[{i}]");
        check_percentage(r.percentage, &format!("{field}.percentage"), v);
        let code = r.code.trim();
        if REGION.get(code).is_none() {
            v.push(
                format!("{field}.code"),
                format!("unknown region code `{code}` (IATI Region, OECD DAC)"),
            );
        } else {
            out.push(RegionShare {
                code: code.to_owned(),
                percentage: r.percentage,
            });
        }
    }
    out
}

pub(super) fn check_sectors(
    input: &[SectorShare],
    lenient: bool,
    v: &mut Violations,
) -> Vec<SectorShare> {
    check_len(input.len(), "sectors", v);
    let mut out: Vec<SectorShare> = Vec::with_capacity(input.len());
    for (i, s) in input.iter().enumerate() {
        let field = format!("sectors[{i}]");
        check_percentage(s.percentage, &format!("{field}.percentage"), v);
        let vocabulary = s.vocabulary.trim().to_owned();
        let code = s.code.trim().to_owned();
        let known = match vocabulary.as_str() {
            "1" => SECTOR.get(&code).is_some(),
            "2" => SECTOR_CATEGORY.get(&code).is_some(),
            _ => crate::codes::SECTOR_VOCABULARY.get(&vocabulary).is_some() && !code.is_empty(),
        };
        if crate::codes::SECTOR_VOCABULARY.get(&vocabulary).is_none() {
            v.push(
                format!("{field}.vocabulary"),
                format!("unknown IATI sector vocabulary `{vocabulary}`"),
            );
        } else if !known {
            let list = if vocabulary == "2" {
                "DAC 3-digit sector category"
            } else {
                "DAC 5-digit sector"
            };
            v.push(
                format!("{field}.code"),
                format!("unknown {list} code `{code}`"),
            );
        } else if out
            .iter()
            .any(|o| o.code == code && o.vocabulary == vocabulary)
        {
            if !lenient {
                v.push(format!("{field}.code"), format!("`{code}` is listed twice"));
            }
        } else {
            out.push(SectorShare {
                code,
                vocabulary,
                percentage: s.percentage,
            });
        }
    }
    let mut vocabularies: Vec<&str> = input.iter().map(|s| s.vocabulary.trim()).collect();
    vocabularies.sort_unstable();
    vocabularies.dedup();
    for vocabulary in vocabularies {
        let shares: Vec<Option<Decimal>> = input
            .iter()
            .filter(|s| s.vocabulary.trim() == vocabulary)
            .map(|s| s.percentage)
            .collect();
        if !lenient {
            check_percentage_sum(&shares, "sectors", v);
        }
    }
    out
}

pub(super) fn check_order(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    end_field: &str,
    start_field: &str,
    v: &mut Violations,
) {
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        v.push(end_field, format!("{end} is before {start_field} {start}"));
    }
}
