//! From an `iati-activity` element to the registry's domain, for every version in the wild:
//! 2.0x narratives and numeric codes, 1.0x element text, text roles (`Funding`), letter
//! transaction codes (`D`), `start-planned` date types, and the draft 1.0 spellings (`ref` for
//! `code`, `iso_date`). What the registry does not model is ignored.

use crate::reader::Element;
use aidgraph_domain::Violations;
use aidgraph_domain::activity::{
    ActivityData, ActivitySubmission, AidTypeCode, CountryShare, DocumentLink, IatiDetails,
    Narrative, ParisFlags, Participation, PeriodValue, RegionShare, RelatedActivity, SectorShare,
    TransactionSubmission,
};
use aidgraph_domain::codes::{
    COUNTRY, CURRENCY, LANGUAGE, REGION, SECTOR, SECTOR_CATEGORY, SECTOR_VOCABULARY,
};
use aidgraph_domain::money::Money;
use aidgraph_domain::vocab::{ActivityStatus, OrgRole, RelatedActivityType};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// An organisation named in an activity, for creating it on first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrganisation {
    /// IATI organisation identifier.
    pub org_ref: String,
    /// Name as given (may be empty).
    pub name: String,
    /// IATI OrganisationType code, when given.
    pub iati_type: Option<String>,
}

/// An activity mapped into the domain, with what the import should know about it.
#[derive(Debug, Clone)]
pub struct MappedActivity {
    /// The validated activity.
    pub data: ActivityData,
    /// Organisations it names (reporting and participating) with references.
    pub organisations: Vec<SeenOrganisation>,
    /// Things dropped or doubtful, for the import report.
    pub warnings: Vec<String>,
}

/// Why an activity was skipped; `identifier` is empty when it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    /// The activity's IATI identifier, if it has one.
    pub identifier: String,
    /// What is wrong.
    pub reason: String,
}

fn lang_of(e: &Element, default: &str) -> String {
    e.attr("xml:lang")
        .map(str::to_ascii_lowercase)
        .filter(|l| LANGUAGE.get(l).is_some())
        .unwrap_or_else(|| default.to_owned())
}

/// Narratives of an element: 2.0x `<narrative>` children, or the element's own text (1.0x).
fn narratives(e: &Element, default_lang: &str) -> Vec<Narrative> {
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

fn first_name(e: &Element, default_lang: &str) -> String {
    narratives(e, default_lang)
        .into_iter()
        .next()
        .map(|n| n.text)
        .unwrap_or_default()
}

/// `code`, or `ref` in draft 1.0 files.
fn code(e: &Element) -> Option<&str> {
    e.attr("code").or_else(|| e.attr("ref"))
}

fn date_attr(e: &Element) -> Option<&str> {
    e.attr("iso-date").or_else(|| e.attr("iso_date"))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let day = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn parse_amount(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    Decimal::from_str(&cleaned)
        .or_else(|_| Decimal::from_scientific(&cleaned))
        .ok()
}

fn percentage(e: &Element) -> Option<Decimal> {
    e.attr("percentage").and_then(parse_amount)
}

fn role_of(text: &str) -> Option<OrgRole> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "funding" | "donor" => Some(OrgRole::Funding),
        "2" | "accountable" => Some(OrgRole::Accountable),
        "3" | "extending" => Some(OrgRole::Extending),
        "4" | "implementing" => Some(OrgRole::Implementing),
        _ => None,
    }
}

fn status_of(text: &str) -> Option<ActivityStatus> {
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
fn transaction_type(text: &str) -> Option<&'static str> {
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

fn related_type(text: &str) -> Option<RelatedActivityType> {
    match text {
        "1" => Some(RelatedActivityType::Parent),
        "2" => Some(RelatedActivityType::Child),
        "3" => Some(RelatedActivityType::Sibling),
        "4" => Some(RelatedActivityType::CoFunded),
        "5" => Some(RelatedActivityType::ThirdParty),
        _ => None,
    }
}

fn sector_vocabulary(text: Option<&str>) -> String {
    match text.map(str::to_ascii_uppercase).as_deref() {
        None | Some("") | Some("DAC") | Some("1") => "1".to_owned(),
        Some("DAC-3") | Some("2") => "2".to_owned(),
        Some(other) => other.to_owned(),
    }
}

fn period_value(
    e: &Element,
    default_currency: Option<&str>,
    warnings: &mut Vec<String>,
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
        warnings.push(format!("{}: {v}", e.name));
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

/// Maps one activity. `reporting_override` replaces the reporting organisation (for an import
/// run on a provider's behalf only when the file names the same organisation).
pub fn map_activity(e: &Element) -> Result<MappedActivity, MapError> {
    let identifier = e
        .child("iati-identifier")
        .and_then(Element::text)
        .unwrap_or_default()
        .to_owned();
    let fail = |reason: String| MapError {
        identifier: identifier.clone(),
        reason,
    };
    if identifier.is_empty() {
        return Err(fail("the activity has no iati-identifier".into()));
    }
    let lang = lang_of(e, "en");
    let default_currency = e
        .attr("default-currency")
        .map(str::to_ascii_uppercase)
        .filter(|c| CURRENCY.get(c).is_some());
    let mut warnings = Vec::new();
    let mut organisations = Vec::new();

    let reporting = e
        .child("reporting-org")
        .ok_or_else(|| fail("the activity has no reporting-org".into()))?;
    let reporting_ref = reporting
        .attr("ref")
        .ok_or_else(|| fail("the reporting-org has no ref".into()))?
        .to_owned();
    organisations.push(SeenOrganisation {
        org_ref: reporting_ref.clone(),
        name: first_name(reporting, &lang),
        iati_type: reporting.attr("type").map(str::to_owned),
    });

    let mut titles = Vec::new();
    for t in e.children("title") {
        for n in narratives(t, &lang) {
            if !titles.iter().any(|x: &Narrative| x.lang == n.lang) {
                titles.push(n);
            }
        }
    }
    let mut descriptions = Vec::new();
    // The general description (type 1, or untyped) first.
    let mut described: Vec<&Element> = e.children("description").collect();
    described.sort_by_key(|d| d.attr("type").is_some_and(|t| t != "1"));
    for d in described {
        for n in narratives(d, &lang) {
            if !descriptions.iter().any(|x: &Narrative| x.lang == n.lang) {
                descriptions.push(n);
            }
        }
    }

    let mut participating = Vec::new();
    for p in e.children("participating-org") {
        let Some(role) = p.attr("role").and_then(role_of) else {
            warnings.push(format!(
                "participating-org `{}`: unknown role, left out",
                p.attr("ref").unwrap_or("?")
            ));
            continue;
        };
        let Some(org_ref) = p.attr("ref") else {
            warnings.push(format!(
                "participating-org `{}` has no ref, left out",
                first_name(p, &lang)
            ));
            continue;
        };
        if org_ref.chars().any(char::is_whitespace) || org_ref.len() > 200 {
            warnings.push(format!(
                "participating-org ref `{org_ref}` is not an identifier, left out"
            ));
            continue;
        }
        organisations.push(SeenOrganisation {
            org_ref: org_ref.to_owned(),
            name: first_name(p, &lang),
            iati_type: p.attr("type").map(str::to_owned),
        });
        participating.push(Participation {
            org_ref: org_ref.to_owned(),
            role,
            activity_id: p.attr("activity-id").map(str::to_owned),
        });
    }

    let status = match e.child("activity-status").and_then(code) {
        Some(s) => status_of(s).ok_or_else(|| fail(format!("unknown activity-status `{s}`")))?,
        None => {
            warnings.push("no activity-status; taken as implementation".into());
            ActivityStatus::Implementation
        }
    };

    let (mut planned_start, mut actual_start, mut planned_end, mut actual_end) =
        (None, None, None, None);
    for d in e.children("activity-date") {
        let date = date_attr(d).or_else(|| d.text()).and_then(parse_date);
        match d.attr("type") {
            Some("1") | Some("start-planned") | Some("start") => {
                planned_start = date.or(planned_start)
            }
            Some("2") | Some("start-actual") => actual_start = date.or(actual_start),
            Some("3") | Some("end-planned") | Some("end") => planned_end = date.or(planned_end),
            Some("4") | Some("end-actual") => actual_end = date.or(actual_end),
            _ => {}
        }
    }
    // Publishers sometimes report an end before the start; keep the start.
    for (start, end, which) in [
        (planned_start, &mut planned_end, "planned"),
        (actual_start, &mut actual_end, "actual"),
    ] {
        if let (Some(s), Some(x)) = (start, *end)
            && x < s
        {
            warnings.push(format!("{which} end {x} before start {s}; end left out"));
            *end = None;
        }
    }

    let mut recipient_countries: Vec<CountryShare> = Vec::new();
    for c in e.children("recipient-country") {
        match code(c).map(str::to_ascii_uppercase) {
            Some(code) if COUNTRY.get(&code).is_some() => recipient_countries.push(CountryShare {
                code,
                percentage: percentage(c),
            }),
            Some(code) => warnings.push(format!("unknown recipient-country `{code}` left out")),
            None => {}
        }
    }
    let mut recipient_regions = Vec::new();
    for r in e.children("recipient-region") {
        let vocabulary = r.attr("vocabulary").unwrap_or("1");
        match code(r) {
            Some(code) if vocabulary == "1" && REGION.get(code).is_some() => recipient_regions
                .push(RegionShare {
                    code: code.to_owned(),
                    percentage: percentage(r),
                }),
            Some(code) => warnings.push(format!(
                "recipient-region {code} in vocabulary {vocabulary} left out"
            )),
            None => {}
        }
    }
    let mut sectors: Vec<SectorShare> = Vec::new();
    for s in e.children("sector") {
        let Some(code) = code(s) else { continue };
        let vocabulary = sector_vocabulary(s.attr("vocabulary"));
        let known = match vocabulary.as_str() {
            "1" => SECTOR.get(code).is_some(),
            "2" => SECTOR_CATEGORY.get(code).is_some(),
            other => SECTOR_VOCABULARY.get(other).is_some(),
        };
        if known {
            sectors.push(SectorShare {
                code: code.to_owned(),
                vocabulary,
                percentage: percentage(s),
            });
        } else {
            warnings.push(format!(
                "sector `{code}` (vocabulary {vocabulary}) is not in its code list; left out"
            ));
        }
    }
    let share_sum = |shares: Vec<Option<Decimal>>| -> Option<Decimal> {
        shares
            .iter()
            .all(Option::is_some)
            .then(|| shares.iter().flatten().sum())
    };
    let geography = recipient_countries
        .iter()
        .map(|c| c.percentage)
        .chain(recipient_regions.iter().map(|r| r.percentage))
        .collect();
    if let Some(sum) = share_sum(geography)
        && (sum - Decimal::ONE_HUNDRED).abs() > Decimal::new(5, 1)
    {
        warnings.push(format!(
            "recipient country and region percentages sum to {}",
            sum.normalize()
        ));
    }

    let mut iati = IatiDetails {
        default_currency: default_currency.clone(),
        humanitarian: e
            .attr("humanitarian")
            .map(|h| h == "1" || h.eq_ignore_ascii_case("true")),
        hierarchy: e.attr("hierarchy").map(str::to_owned),
        collaboration_type: e
            .child("collaboration-type")
            .and_then(code)
            .map(str::to_owned),
        default_flow_type: e
            .child("default-flow-type")
            .or_else(|| e.child("flow-type"))
            .and_then(code)
            .map(str::to_owned),
        default_finance_type: e
            .child("default-finance-type")
            .or_else(|| e.child("finance-type"))
            .and_then(code)
            .map(str::to_owned),
        default_aid_types: e
            .children("default-aid-type")
            .filter_map(|a| {
                code(a).map(|c| AidTypeCode {
                    code: c.to_owned(),
                    vocabulary: a.attr("vocabulary").unwrap_or("1").to_owned(),
                })
            })
            .collect(),
        reporting_org_type: reporting.attr("type").map(str::to_owned),
        last_updated: e.attr("last-updated-datetime").map(str::to_owned),
        ..IatiDetails::default()
    };
    for b in e.children("budget") {
        match period_value(b, default_currency.as_deref(), &mut warnings) {
            Some(v) => iati.budgets.push(v),
            None => warnings.push("a budget without period or value was left out".into()),
        }
    }
    for b in e.children("planned-disbursement") {
        if let Some(v) = period_value(b, default_currency.as_deref(), &mut warnings) {
            iati.planned_disbursements.push(v);
        }
    }
    for d in e.children("document-link") {
        if let Some(url) = d.attr("url") {
            iati.document_links.push(DocumentLink {
                url: url.to_owned(),
                format: d.attr("format").map(str::to_owned),
                title: d
                    .child("title")
                    .map(|t| first_name(t, &lang))
                    .filter(|t| !t.is_empty()),
                category: d.child("category").and_then(code).map(str::to_owned),
            });
        }
    }

    let mut transactions = Vec::new();
    for t in e.children("transaction") {
        let kind = t
            .child("transaction-type")
            .and_then(code)
            .or_else(|| t.attr("type"));
        let Some(kind) = kind.and_then(transaction_type) else {
            warnings.push("a transaction of unknown type was left out".into());
            continue;
        };
        let Some(value) = t.child("value") else {
            warnings.push("a transaction without value was left out".into());
            continue;
        };
        let Some(amount) = value.text().and_then(parse_amount) else {
            warnings.push("a transaction with an unreadable value was left out".into());
            continue;
        };
        let date = t
            .child("transaction-date")
            .and_then(|d| date_attr(d).or_else(|| d.text()))
            .or_else(|| value.attr("value-date"))
            .and_then(parse_date);
        let Some(date) = date else {
            warnings.push("a transaction without date was left out".into());
            continue;
        };
        let Some(currency) = value
            .attr("currency")
            .map(str::to_ascii_uppercase)
            .or_else(|| default_currency.clone())
        else {
            warnings.push("a transaction without currency was left out".into());
            continue;
        };
        transactions.push(TransactionSubmission {
            kind: kind.to_owned(),
            date,
            amount,
            currency,
            provider_activity_id: t
                .child("provider-org")
                .and_then(|p| p.attr("provider-activity-id"))
                .map(str::to_owned),
            receiver_activity_id: t
                .child("receiver-org")
                .and_then(|p| p.attr("receiver-activity-id"))
                .map(str::to_owned),
        });
    }

    let mut related_activities = Vec::new();
    for r in e.children("related-activity") {
        match (r.attr("ref"), r.attr("type").and_then(related_type)) {
            (Some(id), Some(kind)) if id != identifier => {
                related_activities.push(RelatedActivity {
                    iati_identifier: id.to_owned(),
                    kind,
                })
            }
            (Some(id), None) => {
                warnings.push(format!("related-activity {id} of unknown type left out"))
            }
            _ => {}
        }
    }
    let external_ids: Vec<String> = e
        .children("other-identifier")
        .filter_map(|o| o.attr("ref").or_else(|| o.text()).map(str::to_owned))
        .collect();

    // The registry's single budget: the budgets' total when they share a currency.
    let budget = {
        let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
        for b in &iati.budgets {
            *totals.entry(b.value.currency.as_str()).or_default() += b.value.amount;
        }
        match totals.len() {
            1 => totals
                .into_iter()
                .next()
                .filter(|(_, amount)| !amount.is_sign_negative())
                .map(|(c, amount)| (amount, c.to_owned())),
            _ => None,
        }
    };

    let tied_status = e
        .child("default-tied-status")
        .or_else(|| e.child("tied-status"))
        .and_then(code)
        .map(|c| c.trim_start_matches('0').to_owned());
    let submission = ActivitySubmission {
        iati_identifier: identifier.clone(),
        reporting_org: reporting_ref,
        titles,
        descriptions,
        participating_orgs: participating,
        recipient_countries,
        recipient_regions,
        sectors,
        status: Some(status),
        planned_start,
        planned_end,
        actual_start,
        actual_end,
        budget,
        transactions,
        related_activities,
        external_ids,
        paris: ParisFlags {
            tied_status,
            ..ParisFlags::default()
        },
        iati,
        lenient: true,
        ..ActivitySubmission::default()
    };
    let data = ActivityData::parse(submission).map_err(|v| fail(v.to_string()))?;
    if let Some(breach) = aidgraph_domain::activity::iati_identifier_breach(&data.iati_identifier) {
        warnings.push(format!("iati-identifier {breach}; kept as published"));
    }
    Ok(MappedActivity {
        data,
        organisations,
        warnings,
    })
}
