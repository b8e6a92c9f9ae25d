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

/// Why the import warns about an activity; summaries count warnings by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A participating organisation's role is not an IATI OrganisationRole; it is left out.
    UnknownRole,
    /// A reference such as `N/A` or `0` stands where an organisation identifier belongs; the
    /// organisation is kept by name, the reference is not.
    PlaceholderReference,
    /// A participating organisation has no reference (or one that is not an identifier); it is
    /// kept by name.
    NamedWithoutReference,
    /// No activity status; taken as implementation.
    NoStatus,
    /// An activity date of a type no version of the standard defines, or without a readable
    /// date; left out.
    UnreadableDate,
    /// An end date before its start; the end is left out.
    EndBeforeStart,
    /// A country, region or sector code that is not in its code list; left out.
    UnknownCode,
    /// The same country, region or sector listed more than once; merged, percentages summed.
    RepeatedCode,
    /// Country and region percentages that do not sum to 100.
    PercentageSum,
    /// Countries, regions or sectors given on transactions only; taken for the activity,
    /// weighted by transaction value.
    FromTransactions,
    /// A budget or planned disbursement without period or value, or with unusable money;
    /// left out.
    IncompleteBudget,
    /// A transaction without type, value, date or currency; left out.
    IncompleteTransaction,
    /// A related activity of an unknown type; left out.
    UnknownRelation,
    /// The IATI identifier breaks an IATI rule; kept as published.
    IdentifierRule,
}

impl Reason {
    /// Every reason, in the order summaries list them.
    pub const ALL: [Reason; 14] = [
        Reason::UnknownRole,
        Reason::PlaceholderReference,
        Reason::NamedWithoutReference,
        Reason::NoStatus,
        Reason::UnreadableDate,
        Reason::EndBeforeStart,
        Reason::UnknownCode,
        Reason::RepeatedCode,
        Reason::PercentageSum,
        Reason::FromTransactions,
        Reason::IncompleteBudget,
        Reason::IncompleteTransaction,
        Reason::UnknownRelation,
        Reason::IdentifierRule,
    ];

    /// A stable key, for counts in JSON and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Reason::UnknownRole => "unknown-role",
            Reason::PlaceholderReference => "placeholder-reference",
            Reason::NamedWithoutReference => "named-without-reference",
            Reason::NoStatus => "no-status",
            Reason::UnreadableDate => "unreadable-date",
            Reason::EndBeforeStart => "end-before-start",
            Reason::UnknownCode => "unknown-code",
            Reason::RepeatedCode => "repeated-code",
            Reason::PercentageSum => "percentage-sum",
            Reason::FromTransactions => "from-transactions",
            Reason::IncompleteBudget => "incomplete-budget",
            Reason::IncompleteTransaction => "incomplete-transaction",
            Reason::UnknownRelation => "unknown-relation",
            Reason::IdentifierRule => "identifier-rule",
        }
    }
}

/// Something the import changed, left out or doubts about one activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Why, for counting.
    pub reason: Reason,
    /// What, in words.
    pub detail: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Warnings of one activity as they are found.
#[derive(Debug, Default)]
struct Warnings(Vec<Warning>);

impl Warnings {
    fn push(&mut self, reason: Reason, detail: impl Into<String>) {
        self.0.push(Warning {
            reason,
            detail: detail.into(),
        });
    }
}

/// An activity mapped into the domain, with what the import should know about it.
#[derive(Debug, Clone)]
pub struct MappedActivity {
    /// The validated activity.
    pub data: ActivityData,
    /// Organisations it names (reporting and participating) with references.
    pub organisations: Vec<SeenOrganisation>,
    /// Things changed, dropped or doubtful, for the import report.
    pub warnings: Vec<Warning>,
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

/// Which coded list a `recipient-country`, `recipient-region` or `sector` element feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Geography {
    Country,
    Region,
    Sector,
}

impl Geography {
    fn element(self) -> &'static str {
        match self {
            Geography::Country => "recipient-country",
            Geography::Region => "recipient-region",
            Geography::Sector => "sector",
        }
    }
}

/// One code with its vocabulary and share.
#[derive(Debug, Clone)]
struct Share {
    vocabulary: String,
    code: String,
    percentage: Option<Decimal>,
    times: u32,
}

/// Codes in the order first listed; a code listed again is merged into its first place with
/// the percentages summed.
#[derive(Debug, Default)]
struct Shares {
    items: Vec<Share>,
}

impl Shares {
    /// The shares in the order first listed, as the registry's `T`.
    fn into_list<T>(self, make: impl Fn(Share) -> T) -> Vec<T> {
        self.items.into_iter().map(make).collect()
    }

    fn add(&mut self, vocabulary: String, code: String, percentage: Option<Decimal>) {
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

    fn report(&self, element: &str, warnings: &mut Warnings) {
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
fn coded(e: &Element, kind: Geography, warnings: &mut Warnings) -> Option<(String, String)> {
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

fn shares_of(e: &Element, kind: Geography, into: &mut Shares, warnings: &mut Warnings) {
    if let Some((vocabulary, code)) = coded(e, kind, warnings) {
        into.add(vocabulary, code, percentage(e));
    }
}

/// The activity's countries, regions or sectors from its transactions': each transaction
/// weighs its absolute value (or one, when the transactions are in several currencies or
/// all zero), shared equally among the codes it gives in a vocabulary; percentages per
/// vocabulary, to two decimals, summing to 100.
fn from_transactions(e: &Element, kind: Geography, warnings: &mut Warnings) -> Shares {
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
