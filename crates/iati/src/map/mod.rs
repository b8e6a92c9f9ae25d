//! From an `iati-activity` element to the registry's domain, for every version in the wild:
//! 2.0x narratives and numeric codes, 1.0x element text, text roles (`Funding`), letter
//! transaction codes (`D`), `start-planned` date types, and the draft 1.0 spellings (`ref` for
//! `code`, `iso_date`). What the registry does not model is ignored.

use crate::reader::Element;
use aidgraph_domain::Violations;
use aidgraph_domain::activity::{
    ActivityData, ActivitySubmission, AidTypeCode, CountryShare, DocumentLink, IatiDetails,
    NamedParticipant, Narrative, ParisFlags, Participation, PeriodValue, RegionShare,
    RelatedActivity, SectorShare, TransactionSubmission, TypedDescription,
};
use aidgraph_domain::codes::{
    COUNTRY, CURRENCY, LANGUAGE, REGION, SECTOR, SECTOR_CATEGORY, SECTOR_VOCABULARY,
};
use aidgraph_domain::money::Money;
use aidgraph_domain::organisation::is_placeholder_ref;
use aidgraph_domain::vocab::{ActivityStatus, OrgRole, RelatedActivityType};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

mod outcome;
mod read;
mod shares;

pub use outcome::*;

pub(crate) use read::*;
use shares::*;

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
    let mut warnings = Warnings::default();
    let mut organisations = Vec::new();

    let reporting = e
        .child("reporting-org")
        .ok_or_else(|| fail("the activity has no reporting-org".into()))?;
    let reporting_ref = reporting
        .attr("ref")
        .ok_or_else(|| fail("the reporting-org has no ref".into()))?
        .to_owned();
    if is_placeholder_ref(&reporting_ref) {
        return Err(fail(format!(
            "the reporting-org ref `{reporting_ref}` is a placeholder, not an organisation identifier"
        )));
    }
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
    // The first general description (type 1, or untyped) is the activity's; every other one
    // is kept with its type.
    let mut descriptions: Vec<Narrative> = Vec::new();
    let mut other_descriptions = Vec::new();
    for d in e.children("description") {
        let kind = d.attr("type").unwrap_or("1");
        let texts = narratives(d, &lang);
        if kind == "1" && descriptions.is_empty() && !texts.is_empty() {
            descriptions = texts;
        } else if !texts.is_empty() {
            other_descriptions.push(TypedDescription {
                kind: kind.to_owned(),
                narratives: texts,
            });
        }
    }

    let mut participating = Vec::new();
    let mut named_participants = Vec::new();
    for p in e.children("participating-org") {
        let names = narratives(p, &lang);
        let name = names.first().map(|n| n.text.as_str()).unwrap_or("?");
        let Some(role) = p.attr("role").and_then(role_of) else {
            warnings.push(
                Reason::UnknownRole,
                format!(
                    "participating-org `{}` with role `{}` left out: not an IATI organisation role",
                    p.attr("ref").unwrap_or(name),
                    p.attr("role").unwrap_or("")
                ),
            );
            continue;
        };
        let org_ref = p.attr("ref");
        let identified = match org_ref {
            Some(r) if is_placeholder_ref(r) => {
                warnings.push(
                    Reason::PlaceholderReference,
                    format!(
                        "participating-org `{name}` has the placeholder ref `{r}`; kept by name, without a reference"
                    ),
                );
                None
            }
            Some(r) if r.chars().any(char::is_whitespace) || r.len() > 200 => {
                warnings.push(
                    Reason::NamedWithoutReference,
                    format!(
                        "participating-org ref `{r}` is not an identifier; `{name}` kept by name"
                    ),
                );
                None
            }
            Some(r) => Some(r),
            None => {
                warnings.push(
                    Reason::NamedWithoutReference,
                    format!("participating-org `{name}` has no ref; kept by name"),
                );
                None
            }
        };
        let activity_id = p.attr("activity-id").map(str::to_owned);
        match identified {
            Some(org_ref) => {
                organisations.push(SeenOrganisation {
                    org_ref: org_ref.to_owned(),
                    name: first_name(p, &lang),
                    iati_type: p.attr("type").map(str::to_owned),
                });
                participating.push(Participation {
                    org_ref: org_ref.to_owned(),
                    role,
                    activity_id,
                });
            }
            None => named_participants.push(NamedParticipant {
                names,
                role,
                org_type: p.attr("type").map(str::to_owned),
                activity_id,
            }),
        }
    }

    // 1.0x files may give the status as element text (`Implementation`).
    let status = match e
        .child("activity-status")
        .and_then(|s| code(s).or_else(|| s.text()))
    {
        Some(s) => status_of(s).ok_or_else(|| fail(format!("unknown activity-status `{s}`")))?,
        None => {
            warnings.push(
                Reason::NoStatus,
                "no activity-status; taken as implementation",
            );
            ActivityStatus::Implementation
        }
    };

    let (mut planned_start, mut actual_start, mut planned_end, mut actual_end) =
        (None, None, None, None);
    for d in e.children("activity-date") {
        let date = date_attr(d).or_else(|| d.text()).and_then(parse_date);
        let kind = d.attr("type").unwrap_or("");
        let slot = match date_type(kind) {
            Some(1) => &mut planned_start,
            Some(2) => &mut actual_start,
            Some(3) => &mut planned_end,
            Some(4) => &mut actual_end,
            _ => {
                warnings.push(
                    Reason::UnreadableDate,
                    format!(
                        "activity-date of type `{kind}` left out: not an IATI activity date type"
                    ),
                );
                continue;
            }
        };
        match date {
            Some(date) => {
                if slot.is_none() {
                    *slot = Some(date);
                }
            }
            None => warnings.push(
                Reason::UnreadableDate,
                format!("activity-date of type `{kind}` has no readable date; left out"),
            ),
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
            warnings.push(
                Reason::EndBeforeStart,
                format!("{which} end {x} before start {s}; end left out"),
            );
            *end = None;
        }
    }

    let mut countries = Shares::default();
    let mut regions = Shares::default();
    let mut sectors = Shares::default();
    for c in e.children("recipient-country") {
        shares_of(c, Geography::Country, &mut countries, &mut warnings);
    }
    for r in e.children("recipient-region") {
        shares_of(r, Geography::Region, &mut regions, &mut warnings);
    }
    for s in e.children("sector") {
        shares_of(s, Geography::Sector, &mut sectors, &mut warnings);
    }
    countries.report("recipient-country", &mut warnings);
    regions.report("recipient-region", &mut warnings);
    sectors.report("sector", &mut warnings);
    // Since 2.01 a publisher may give countries, regions and sectors on each transaction
    // instead: the activity's are then the transactions', weighted by value.
    if sectors.items.is_empty() {
        sectors = from_transactions(e, Geography::Sector, &mut warnings);
    }
    if countries.items.is_empty() && regions.items.is_empty() {
        countries = from_transactions(e, Geography::Country, &mut warnings);
        regions = from_transactions(e, Geography::Region, &mut warnings);
    }
    let recipient_countries = countries.into_list(|x| CountryShare {
        code: x.code,
        percentage: x.percentage,
    });
    let recipient_regions = regions.into_list(|x| RegionShare {
        code: x.code,
        percentage: x.percentage,
    });
    let sectors = sectors.into_list(|x| SectorShare {
        code: x.code,
        vocabulary: x.vocabulary,
        percentage: x.percentage,
    });
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
        warnings.push(
            Reason::PercentageSum,
            format!(
                "recipient country and region percentages sum to {}",
                sum.normalize()
            ),
        );
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
        named_participants,
        other_descriptions,
        ..IatiDetails::default()
    };
    for b in e.children("budget") {
        match period_value(b, default_currency.as_deref(), &mut warnings) {
            Some(v) => iati.budgets.push(v),
            None => warnings.push(
                Reason::IncompleteBudget,
                "a budget without period or value was left out",
            ),
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
            warnings.push(
                Reason::IncompleteTransaction,
                "a transaction of unknown type was left out",
            );
            continue;
        };
        let Some(value) = t.child("value") else {
            warnings.push(
                Reason::IncompleteTransaction,
                "a transaction without value was left out",
            );
            continue;
        };
        let Some(amount) = value.text().and_then(parse_amount) else {
            warnings.push(
                Reason::IncompleteTransaction,
                "a transaction with an unreadable value was left out",
            );
            continue;
        };
        let date = t
            .child("transaction-date")
            .and_then(|d| date_attr(d).or_else(|| d.text()))
            .or_else(|| value.attr("value-date"))
            .and_then(parse_date);
        let Some(date) = date else {
            warnings.push(
                Reason::IncompleteTransaction,
                "a transaction without date was left out",
            );
            continue;
        };
        let Some(currency) = value
            .attr("currency")
            .map(str::to_ascii_uppercase)
            .or_else(|| default_currency.clone())
        else {
            warnings.push(
                Reason::IncompleteTransaction,
                "a transaction without currency was left out",
            );
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
            (Some(id), None) => warnings.push(
                Reason::UnknownRelation,
                format!("related-activity {id} of unknown type left out"),
            ),
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
        warnings.push(
            Reason::IdentifierRule,
            format!("iati-identifier {breach}; kept as published"),
        );
    }
    Ok(MappedActivity {
        data,
        organisations,
        warnings: warnings.0,
    })
}
