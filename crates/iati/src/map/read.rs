//! Reading IATI elements: narratives, codes, dates, amounts, percentages, and the word codes of earlier versions.

use super::*;

pub(super) fn lang_of(e: &Element, default: &str) -> String {
    e.attr("xml:lang")
        .map(str::to_ascii_lowercase)
        .filter(|l| LANGUAGE.get(l).is_some())
        .unwrap_or_else(|| default.to_owned())
}

/// Narratives of an element: 2.0x `<narrative>` children, or the element's own text (1.0x).
pub(super) fn narratives(e: &Element, default_lang: &str) -> Vec<Narrative> {
    let children: Vec<&Element> = e.children("narrative").collect();
    let mut out: Vec<Narrative> = Vec::new();
    let items: Vec<(String, &str)> = if children.is_empty() {
        e.text()
            .map(|t| vec![(lang_of(e, default_lang), t)])
            .unwrap_or_default()
    } else {
        children
            .iter()
            .filter_map(|n| n.text().map(|t| (lang_of(n, default_lang), t)))
            .collect()
    };
    for (lang, text) in items {
        if !out.iter().any(|n| n.lang == lang) {
            out.push(Narrative {
                lang,
                text: text.to_owned(),
            });
        }
    }
    out
}

pub(super) fn first_name(e: &Element, default_lang: &str) -> String {
    narratives(e, default_lang)
        .into_iter()
        .next()
        .map(|n| n.text)
        .unwrap_or_default()
}

/// `code`, or `ref` in draft 1.0 files.
pub(super) fn code(e: &Element) -> Option<&str> {
    e.attr("code").or_else(|| e.attr("ref"))
}

pub(super) fn date_attr(e: &Element) -> Option<&str> {
    e.attr("iso-date").or_else(|| e.attr("iso_date"))
}

pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
    let day = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

pub(super) fn parse_amount(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    Decimal::from_str(&cleaned)
        .or_else(|_| Decimal::from_scientific(&cleaned))
        .ok()
}

pub(super) fn percentage(e: &Element) -> Option<Decimal> {
    e.attr("percentage").and_then(parse_amount)
}

pub(crate) fn role_of(text: &str) -> Option<OrgRole> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "funding" | "donor" => Some(OrgRole::Funding),
        "2" | "accountable" => Some(OrgRole::Accountable),
        "3" | "extending" => Some(OrgRole::Extending),
        "4" | "implementing" => Some(OrgRole::Implementing),
        _ => None,
    }
}

/// IATI 2.03 ActivityDateType for the 2.0x codes and the 1.0x words in any case
/// (`start-planned`, `START-ACTUAL`, and the drafts' `start` and `end`).
pub(crate) fn date_type(text: &str) -> Option<u8> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "start-planned" | "start" => Some(1),
        "2" | "start-actual" => Some(2),
        "3" | "end-planned" | "end" => Some(3),
        "4" | "end-actual" => Some(4),
        _ => None,
    }
}

pub(crate) fn status_of(text: &str) -> Option<ActivityStatus> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "pipeline" | "pipeline/identification" => Some(ActivityStatus::Pipeline),
        "2" | "implementation" | "ongoing" => Some(ActivityStatus::Implementation),
        "3" | "finalisation" | "completion" => Some(ActivityStatus::Finalisation),
        "4" | "closed" | "post-completion" | "completed" => Some(ActivityStatus::Closed),
        "5" | "cancelled" => Some(ActivityStatus::Cancelled),
        "6" | "suspended" => Some(ActivityStatus::Suspended),
        _ => None,
    }
}

/// IATI 2.03 TransactionType for any version's code.
pub(crate) fn transaction_type(text: &str) -> Option<&'static str> {
    Some(match text.to_ascii_uppercase().as_str() {
        "1" | "IF" | "INCOMING FUNDS" => "1",
        "2" | "C" | "COMMITMENT" => "2",
        "3" | "D" | "DISBURSEMENT" => "3",
        "4" | "E" | "EXPENDITURE" => "4",
        "5" | "IR" | "INTEREST REPAYMENT" => "5",
        "6" | "LR" | "LOAN REPAYMENT" => "6",
        "7" | "R" | "REIMBURSEMENT" => "7",
        "8" | "QP" | "PURCHASE OF EQUITY" => "8",
        "9" | "QS" | "SALE OF EQUITY" => "9",
        "10" | "CG" | "CREDIT GUARANTEE" => "10",
        "11" => "11",
        "12" => "12",
        "13" => "13",
        _ => return None,
    })
}

pub(crate) fn related_type(text: &str) -> Option<RelatedActivityType> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "parent" => Some(RelatedActivityType::Parent),
        "2" | "child" => Some(RelatedActivityType::Child),
        "3" | "sibling" => Some(RelatedActivityType::Sibling),
        "4" | "co-funded" | "cofunded" => Some(RelatedActivityType::CoFunded),
        "5" | "third party" | "third-party" => Some(RelatedActivityType::ThirdParty),
        _ => None,
    }
}

pub(super) fn sector_vocabulary(text: Option<&str>) -> String {
    match text.map(str::to_ascii_uppercase).as_deref() {
        None | Some("") | Some("DAC") | Some("1") => "1".to_owned(),
        Some("DAC-3") | Some("2") => "2".to_owned(),
        Some(other) => other.to_owned(),
    }
}

pub(super) fn period_value(
    e: &Element,
    default_currency: Option<&str>,
    warnings: &mut Warnings,
) -> Option<PeriodValue> {
    let start = e
        .child("period-start")
        .and_then(date_attr)
        .and_then(parse_date)?;
    let end = e
        .child("period-end")
        .and_then(date_attr)
        .and_then(parse_date)?;
    let value = e.child("value")?;
    let amount = value.text().and_then(parse_amount)?;
    let currency = value.attr("currency").or(default_currency)?;
    let mut v = Violations::default();
    let money = Money::parse_signed(amount, currency, e.name.as_str(), &mut v);
    if !v.is_empty() {
        warnings.push(Reason::IncompleteBudget, format!("{}: {v}", e.name));
    }
    Some(PeriodValue {
        kind: e.attr("type").map(str::to_owned),
        status: e.attr("status").map(str::to_owned),
        period_start: start,
        period_end: end,
        value: money?,
        value_date: value.attr("value-date").and_then(parse_date),
    })
}
