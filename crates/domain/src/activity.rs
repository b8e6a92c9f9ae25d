//! Activities: what a provider does, where, on what, when and with how much money.
//!
//! [`ActivitySubmission`] is what a client sends; [`ActivityData::parse`] checks every field
//! against the code lists and rules of DESIGN.md §3 and either returns a valid activity or every
//! problem found, each naming its field.

use crate::codes::{LANGUAGE, REGION, SECTOR, SECTOR_CATEGORY, TIED_STATUS, TRANSACTION_TYPE};
use crate::error::Violations;
use crate::money::Money;
use crate::organisation::{check_country, check_org_ref};
use crate::provision::Provision;
use crate::vocab::{
    ActivityStatus, AssistanceType, InstitutionType, OrgRole, PriorityArea, RelatedActivityType,
};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Longest title accepted, in characters.
pub const MAX_TITLE_LEN: usize = 500;
/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 20_000;
/// Longest identifier (IATI identifier, external id) accepted.
pub const MAX_IDENTIFIER_LEN: usize = 200;
/// Most entries accepted in any one list of an activity.
pub const MAX_LIST_LEN: usize = 200;
/// Tolerance on percentage sums: 100 ± 0.5.
const PERCENT_TOLERANCE: Decimal = Decimal::from_parts(5, 0, 0, false, 1);

/// A text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    /// ISO 639-1 language code, lower case.
    pub lang: String,
    /// The text.
    pub text: String,
}

/// An organisation taking part in an activity, with its IATI role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participation {
    /// The organisation's reference.
    pub org_ref: String,
    /// Its role.
    pub role: OrgRole,
    /// The organisation's own identifier for the activity, if it reports one.
    pub activity_id: Option<String>,
}

/// A recipient country and its share of the activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryShare {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    /// Share in percent, when given.
    pub percentage: Option<Decimal>,
}

/// A recipient region and its share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionShare {
    /// IATI Region code (OECD DAC vocabulary).
    pub code: String,
    /// Share in percent, when given.
    pub percentage: Option<Decimal>,
}

/// A sector and its share within its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorShare {
    /// The code within the vocabulary, e.g. `15130`.
    pub code: String,
    /// IATI SectorVocabulary: `1` DAC 5-digit, `2` DAC 3-digit, others accepted as given.
    pub vocabulary: String,
    /// Share in percent, when given.
    pub percentage: Option<Decimal>,
}

/// A financial transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// IATI TransactionType code, e.g. `2` commitment, `3` disbursement.
    pub kind: String,
    /// Value date.
    pub date: NaiveDate,
    /// Value.
    pub value: Money,
    /// The funder's activity identifier (funding chain).
    pub provider_activity_id: Option<String>,
    /// The recipient's activity identifier (funding chain).
    pub receiver_activity_id: Option<String>,
}

/// A link to another activity by IATI identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedActivity {
    /// The other activity's IATI identifier; it need not be registered.
    pub iati_identifier: String,
    /// How the two relate.
    pub kind: RelatedActivityType,
}

/// Aid-effectiveness flags behind the Paris Declaration indicators; `None` means not reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParisFlags {
    /// Indicator 3: recorded in the recipient's budget.
    pub on_budget: Option<bool>,
    /// Indicator 5a: uses the recipient's public financial management systems.
    pub uses_country_pfm: Option<bool>,
    /// Indicator 5b: uses the recipient's procurement systems.
    pub uses_country_procurement: Option<bool>,
    /// Indicator 6: runs a parallel project implementation unit.
    pub parallel_piu: Option<bool>,
    /// Indicator 8: IATI TiedStatus code (3 partially tied, 4 tied, 5 untied).
    pub tied_status: Option<String>,
    /// Indicator 9: meets the programme-based-approach criteria.
    pub programme_based: Option<bool>,
}

/// An amount for a period: an IATI budget or planned disbursement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodValue {
    /// IATI BudgetType (1 original, 2 revised), when given.
    pub kind: Option<String>,
    /// IATI BudgetStatus (1 indicative, 2 committed), when given.
    pub status: Option<String>,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// The amount.
    pub value: Money,
    /// The date the value was fixed (for exchange rates).
    pub value_date: Option<NaiveDate>,
}

/// A link to a document about the activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLink {
    /// Where it is.
    pub url: String,
    /// IANA media type, e.g. `application/pdf`.
    pub format: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// IATI DocumentCategory code, e.g. `A01`.
    pub category: Option<String>,
}

/// A participating organisation named without an identifier (IATI files list many: local
/// partners, community groups). Kept and written back, never matched against another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedParticipant {
    /// Its names, by language.
    pub names: Vec<Narrative>,
    /// Its role.
    pub role: OrgRole,
    /// IATI OrganisationType code, when given.
    pub org_type: Option<String>,
    /// The organisation's own identifier for the activity, if it reports one.
    pub activity_id: Option<String>,
}

/// A description other than the general one: objectives, target groups, other (IATI
/// DescriptionType 2, 3, 4), or a second general description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedDescription {
    /// IATI DescriptionType code.
    pub kind: String,
    /// The text, by language.
    pub narratives: Vec<Narrative>,
}

/// An IATI aid type with its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AidTypeCode {
    /// The code, e.g. `C01`.
    pub code: String,
    /// IATI AidTypeVocabulary, `1` by default.
    pub vocabulary: String,
}

/// IATI details kept so that data leaves as it came in; the registry's rules do not read
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IatiDetails {
    /// `default-currency` of the activity.
    pub default_currency: Option<String>,
    /// Humanitarian flag.
    pub humanitarian: Option<bool>,
    /// Hierarchy level (1 parent, 2 child…).
    pub hierarchy: Option<String>,
    /// IATI CollaborationType code.
    pub collaboration_type: Option<String>,
    /// IATI FlowType code.
    pub default_flow_type: Option<String>,
    /// IATI FinanceType code.
    pub default_finance_type: Option<String>,
    /// IATI aid types.
    pub default_aid_types: Vec<AidTypeCode>,
    /// Budgets by period.
    pub budgets: Vec<PeriodValue>,
    /// Planned disbursements by period.
    pub planned_disbursements: Vec<PeriodValue>,
    /// Document links.
    pub document_links: Vec<DocumentLink>,
    /// The reporting organisation's IATI OrganisationType code.
    pub reporting_org_type: Option<String>,
    /// When the publisher last changed it, as the file says.
    pub last_updated: Option<String>,
    /// Participating organisations named without an identifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_participants: Vec<NamedParticipant>,
    /// Descriptions other than the general one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_descriptions: Vec<TypedDescription>,
}

/// A valid activity: what the registry stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityData {
    /// Globally unique IATI activity identifier.
    pub iati_identifier: String,
    /// The reporting organisation's reference.
    pub reporting_org: String,
    /// Titles, at least one.
    pub titles: Vec<Narrative>,
    /// Descriptions.
    pub descriptions: Vec<Narrative>,
    /// Participating organisations.
    pub participating_orgs: Vec<Participation>,
    /// Recipient countries.
    pub recipient_countries: Vec<CountryShare>,
    /// Recipient regions.
    #[serde(default)]
    pub recipient_regions: Vec<RegionShare>,
    /// Sectors.
    pub sectors: Vec<SectorShare>,
    /// UNTOC priority areas.
    pub priority_areas: Vec<PriorityArea>,
    /// UNTOC provisions.
    pub provisions: Vec<Provision>,
    /// Assistance types.
    pub assistance_types: Vec<AssistanceType>,
    /// Beneficiary institutions.
    pub beneficiary_institutions: Vec<InstitutionType>,
    /// IATI status.
    pub status: ActivityStatus,
    /// Planned start.
    pub planned_start: Option<NaiveDate>,
    /// Planned end.
    pub planned_end: Option<NaiveDate>,
    /// Actual start.
    pub actual_start: Option<NaiveDate>,
    /// Actual end.
    pub actual_end: Option<NaiveDate>,
    /// Total budget.
    pub budget: Option<Money>,
    /// Transactions.
    pub transactions: Vec<Transaction>,
    /// Related activities.
    pub related_activities: Vec<RelatedActivity>,
    /// Other identifiers of the same activity (e.g. the funder's).
    pub external_ids: Vec<String>,
    /// Why the activity addresses no published need, when it addresses none.
    pub no_need_link_reason: Option<String>,
    /// Paris Declaration flags.
    #[serde(default)]
    pub paris: ParisFlags,
    /// IATI details for a faithful export.
    #[serde(default)]
    pub iati: IatiDetails,
}

/// An activity as a client sends it, before validation. Enumerations are already typed;
/// codes, identifiers and amounts are checked by [`ActivityData::parse`].
#[derive(Debug, Clone, Default)]
pub struct ActivitySubmission {
    /// See [`ActivityData::iati_identifier`].
    pub iati_identifier: String,
    /// See [`ActivityData::reporting_org`].
    pub reporting_org: String,
    /// See [`ActivityData::titles`].
    pub titles: Vec<Narrative>,
    /// See [`ActivityData::descriptions`].
    pub descriptions: Vec<Narrative>,
    /// See [`ActivityData::participating_orgs`].
    pub participating_orgs: Vec<Participation>,
    /// See [`ActivityData::recipient_countries`].
    pub recipient_countries: Vec<CountryShare>,
    /// See [`ActivityData::recipient_regions`].
    pub recipient_regions: Vec<RegionShare>,
    /// See [`ActivityData::sectors`].
    pub sectors: Vec<SectorShare>,
    /// See [`ActivityData::priority_areas`].
    pub priority_areas: Vec<PriorityArea>,
    /// Provision codes as written, e.g. `UNTOC-18`.
    pub provisions: Vec<String>,
    /// See [`ActivityData::assistance_types`].
    pub assistance_types: Vec<AssistanceType>,
    /// See [`ActivityData::beneficiary_institutions`].
    pub beneficiary_institutions: Vec<InstitutionType>,
    /// See [`ActivityData::status`].
    pub status: Option<ActivityStatus>,
    /// See [`ActivityData::planned_start`].
    pub planned_start: Option<NaiveDate>,
    /// See [`ActivityData::planned_end`].
    pub planned_end: Option<NaiveDate>,
    /// See [`ActivityData::actual_start`].
    pub actual_start: Option<NaiveDate>,
    /// See [`ActivityData::actual_end`].
    pub actual_end: Option<NaiveDate>,
    /// Budget amount and currency.
    pub budget: Option<(Decimal, String)>,
    /// Transactions: kind, date, amount, currency, provider and receiver activity ids.
    pub transactions: Vec<TransactionSubmission>,
    /// See [`ActivityData::related_activities`].
    pub related_activities: Vec<RelatedActivity>,
    /// See [`ActivityData::external_ids`].
    pub external_ids: Vec<String>,
    /// See [`ActivityData::no_need_link_reason`].
    pub no_need_link_reason: Option<String>,
    /// See [`ActivityData::paris`].
    pub paris: ParisFlags,
    /// See [`ActivityData::iati`].
    pub iati: IatiDetails,
    /// How strictly to check: imports of published IATI data accept what the standard
    /// tolerates (negative transactions, country and region percentages summing together).
    pub lenient: bool,
}

/// A transaction as submitted.
#[derive(Debug, Clone)]
pub struct TransactionSubmission {
    /// IATI TransactionType code.
    pub kind: String,
    /// Value date.
    pub date: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// Funder's activity identifier.
    pub provider_activity_id: Option<String>,
    /// Recipient's activity identifier.
    pub receiver_activity_id: Option<String>,
}

/// The days an activity runs for overlap and filters: `[start, end]`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

impl ActivityData {
    /// Validates a submission against the code lists and rules, reporting every problem.
    pub fn parse(input: ActivitySubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();

        let iati_identifier = check_identifier(&input.iati_identifier, "iatiIdentifier", &mut v);
        let reporting_org = check_org_ref(&input.reporting_org, "reportingOrg", &mut v);

        let titles = check_narratives(&input.titles, "titles", MAX_TITLE_LEN, &mut v);
        if input.titles.is_empty() {
            v.push("titles", "at least one title is required");
        }
        let descriptions = check_narratives(
            &input.descriptions,
            "descriptions",
            MAX_DESCRIPTION_LEN,
            &mut v,
        );

        let mut participating_orgs = Vec::with_capacity(input.participating_orgs.len());
        check_len(input.participating_orgs.len(), "participatingOrgs", &mut v);
        for (i, p) in input.participating_orgs.iter().enumerate() {
            let field = format!("participatingOrgs[{i}]");
            if let Some(org_ref) = check_org_ref(&p.org_ref, &format!("{field}.ref"), &mut v) {
                let activity_id = p
                    .activity_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let entry = Participation {
                    org_ref,
                    role: p.role,
                    activity_id,
                };
                if !participating_orgs.contains(&entry) {
                    participating_orgs.push(entry);
                }
            }
        }

        let recipient_countries =
            check_countries(&input.recipient_countries, input.lenient, &mut v);
        let recipient_regions = check_regions(&input.recipient_regions, &mut v);
        // Imports take published shares as they are: the mapper reports sums that are off.
        if input.recipient_countries.is_empty()
            && input.recipient_regions.is_empty()
            && !input.lenient
        {
            v.push(
                "recipientCountries",
                "at least one recipient country (or region) is required",
            );
        }
        let sectors = check_sectors(&input.sectors, input.lenient, &mut v);

        let mut provisions = Vec::with_capacity(input.provisions.len());
        check_len(input.provisions.len(), "provisions", &mut v);
        for (i, p) in input.provisions.iter().enumerate() {
            match Provision::parse(p) {
                Ok(p) => provisions.push(p),
                Err(message) => v.push(format!("provisions[{i}]"), message),
            }
        }
        provisions.sort();
        provisions.dedup();

        let status = match input.status {
            Some(s) => Some(s),
            None => {
                v.push("status", "is required");
                None
            }
        };
        check_order(
            input.planned_start,
            input.planned_end,
            "plannedEnd",
            "plannedStart",
            &mut v,
        );
        check_order(
            input.actual_start,
            input.actual_end,
            "actualEnd",
            "actualStart",
            &mut v,
        );

        let budget = input
            .budget
            .as_ref()
            .and_then(|(amount, currency)| Money::parse(*amount, currency, "budget", &mut v));

        check_len_max(
            input.transactions.len(),
            if input.lenient {
                MAX_IMPORTED_LIST_LEN
            } else {
                MAX_LIST_LEN
            },
            "transactions",
            &mut v,
        );
        let mut transactions = Vec::with_capacity(input.transactions.len());
        for (i, t) in input.transactions.iter().enumerate() {
            let field = format!("transactions[{i}]");
            let kind = t.kind.trim();
            if TRANSACTION_TYPE.get(kind).is_none() {
                v.push(
                    format!("{field}.type"),
                    format!("unknown IATI transaction type `{kind}`"),
                );
            }
            let value = if input.lenient {
                Money::parse_signed(t.amount, &t.currency, &format!("{field}.value"), &mut v)
            } else {
                Money::parse(t.amount, &t.currency, &format!("{field}.value"), &mut v)
            };
            let provider = optional_identifier(
                t.provider_activity_id.as_deref(),
                &format!("{field}.providerActivityId"),
                &mut v,
            );
            let receiver = optional_identifier(
                t.receiver_activity_id.as_deref(),
                &format!("{field}.receiverActivityId"),
                &mut v,
            );
            if let Some(value) = value {
                transactions.push(Transaction {
                    kind: kind.to_owned(),
                    date: t.date,
                    value,
                    provider_activity_id: provider,
                    receiver_activity_id: receiver,
                });
            }
        }

        let list_max = if input.lenient {
            MAX_IMPORTED_LIST_LEN
        } else {
            MAX_LIST_LEN
        };
        check_len_max(
            input.related_activities.len(),
            list_max,
            "relatedActivities",
            &mut v,
        );
        let mut related_activities: Vec<RelatedActivity> = Vec::new();
        for (i, r) in input.related_activities.iter().enumerate() {
            let field = format!("relatedActivities[{i}].iatiIdentifier");
            if let Some(id) = check_identifier(&r.iati_identifier, &field, &mut v) {
                if Some(&id) == iati_identifier.as_ref() {
                    v.push(field, "an activity cannot be related to itself");
                } else {
                    let entry = RelatedActivity {
                        iati_identifier: id,
                        kind: r.kind,
                    };
                    if !related_activities.contains(&entry) {
                        related_activities.push(entry);
                    }
                }
            }
        }

        check_len(input.external_ids.len(), "externalIds", &mut v);
        let mut external_ids: Vec<String> = Vec::new();
        for (i, e) in input.external_ids.iter().enumerate() {
            if let Some(id) = check_identifier(e, &format!("externalIds[{i}]"), &mut v)
                && !external_ids.contains(&id)
            {
                external_ids.push(id);
            }
        }

        let no_need_link_reason = input
            .no_need_link_reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if no_need_link_reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_TITLE_LEN)
        {
            v.push(
                "noNeedLinkReason",
                format!("must have at most {MAX_TITLE_LEN} characters"),
            );
        }

        if let Some(tied) = &input.paris.tied_status
            && TIED_STATUS.get(tied).is_none()
        {
            v.push(
                "paris.tiedStatus",
                format!("unknown IATI tied status `{tied}`"),
            );
        }

        if !input.lenient {
            if input.iati.planned_disbursements.len() > MAX_LIST_LEN {
                v.push(
                    "plannedDisbursements",
                    format!("must have at most {MAX_LIST_LEN} entries"),
                );
            }
            for (i, p) in input.iati.planned_disbursements.iter().enumerate() {
                let field = format!("plannedDisbursements[{i}]");
                if p.period_end < p.period_start {
                    v.push(
                        format!("{field}.periodEnd"),
                        "must not be before periodStart",
                    );
                }
                Money::parse(
                    p.value.amount,
                    &p.value.currency,
                    &format!("{field}.value"),
                    &mut v,
                );
            }
        }

        let (Some(iati_identifier), Some(reporting_org), Some(status)) =
            (iati_identifier, reporting_org, status)
        else {
            return Err(v);
        };
        v.into_result(ActivityData {
            iati_identifier,
            reporting_org,
            titles,
            descriptions,
            participating_orgs,
            recipient_countries,
            recipient_regions,
            sectors,
            priority_areas: sorted_set(&input.priority_areas),
            provisions,
            assistance_types: sorted_set(&input.assistance_types),
            beneficiary_institutions: sorted_set(&input.beneficiary_institutions),
            status,
            planned_start: input.planned_start,
            planned_end: input.planned_end,
            actual_start: input.actual_start,
            actual_end: input.actual_end,
            budget,
            transactions,
            related_activities,
            external_ids,
            no_need_link_reason,
            paris: input.paris,
            iati: input.iati,
        })
    }

    /// The title in `lang`, else English, else the first one.
    pub fn title(&self, lang: Option<&str>) -> &str {
        pick_narrative(&self.titles, lang).unwrap_or_default()
    }

    /// The description in `lang`, else English, else the first one.
    pub fn description(&self, lang: Option<&str>) -> Option<&str> {
        pick_narrative(&self.descriptions, lang)
    }

    /// The effective window of DESIGN.md §4: `[actual ?? planned start, actual ?? planned end ??
    /// start + 365 days]`; `None` without a start or when the end falls before the start.
    pub fn window(&self) -> Option<Window> {
        let start = self.actual_start.or(self.planned_start)?;
        let end = match self.actual_end.or(self.planned_end) {
            Some(end) => end,
            None => start.checked_add_days(Days::new(365))?,
        };
        (end >= start).then_some(Window { start, end })
    }

    /// Lower-cased title and description text in every language, for plain text search.
    pub fn search_text(&self) -> String {
        let mut text = String::new();
        for n in self.titles.iter().chain(&self.descriptions) {
            text.push_str(&n.text.to_lowercase());
            text.push('\n');
        }
        text
    }
}

fn pick_narrative<'a>(narratives: &'a [Narrative], lang: Option<&str>) -> Option<&'a str> {
    lang.and_then(|l| narratives.iter().find(|n| n.lang == l))
        .or_else(|| narratives.iter().find(|n| n.lang == "en"))
        .or_else(|| narratives.first())
        .map(|n| n.text.as_str())
}

fn sorted_set<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    out.sort();
    out.dedup();
    out
}

fn check_len(len: usize, field: &str, v: &mut Violations) {
    check_len_max(len, MAX_LIST_LEN, field, v);
}

fn check_len_max(len: usize, max: usize, field: &str, v: &mut Violations) {
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

fn check_identifier(value: &str, field: &str, v: &mut Violations) -> Option<String> {
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

fn optional_identifier(value: Option<&str>, field: &str, v: &mut Violations) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(s) => check_identifier(s, field, v),
    }
}

fn check_narratives(
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

fn check_percentage(p: Option<Decimal>, field: &str, v: &mut Violations) {
    if let Some(p) = p
        && (p < Decimal::ZERO || p > Decimal::ONE_HUNDRED)
    {
        v.push(field, "must be between 0 and 100");
    }
}

/// Percentages within one vocabulary: all given or none, summing to 100 ± 0.5.
fn check_percentage_sum(shares: &[Option<Decimal>], field: &str, v: &mut Violations) {
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

fn check_countries(input: &[CountryShare], lenient: bool, v: &mut Violations) -> Vec<CountryShare> {
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

fn check_regions(input: &[RegionShare], v: &mut Violations) -> Vec<RegionShare> {
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

fn check_sectors(input: &[SectorShare], lenient: bool, v: &mut Violations) -> Vec<SectorShare> {
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

fn check_order(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_registered_here_keep_the_iati_rules() {
        assert_eq!(iati_identifier_breach("XM-DAC-41114-KE-1"), None);
        assert!(iati_identifier_breach("XM-DAC 41114").is_some());
        assert!(iati_identifier_breach("XI-IATI-EC_FPI-2017/40796/0").is_some());
        assert!(iati_identifier_breach("A&B").is_some());
        assert!(iati_identifier_breach("A\"B").is_some());
    }
    use std::str::FromStr;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap_or_default()
    }

    fn valid() -> ActivitySubmission {
        ActivitySubmission {
            iati_identifier: "XM-DAC-41114-KE-1".into(),
            reporting_org: "XM-DAC-41114".into(),
            titles: vec![Narrative {
                lang: "en".into(),
                text: "Training of prosecutors on mutual legal assistance".into(),
            }],
            recipient_countries: vec![CountryShare {
                code: "ke".into(),
                percentage: None,
            }],
            sectors: vec![SectorShare {
                code: "15130".into(),
                vocabulary: "1".into(),
                percentage: Some(Decimal::ONE_HUNDRED),
            }],
            provisions: vec!["UNTOC-18".into()],
            status: Some(ActivityStatus::Implementation),
            planned_start: Some(date("2026-01-01")),
            planned_end: Some(date("2026-12-31")),
            budget: Some((Decimal::new(125_000, 0), "usd".into())),
            ..ActivitySubmission::default()
        }
    }

    fn fields(err: Violations) -> Vec<String> {
        err.0.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn accepts_a_valid_activity_and_normalises_codes() {
        let a = ActivityData::parse(valid()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.recipient_countries[0].code, "KE");
        assert_eq!(a.budget.map(|b| b.currency), Some("USD".into()));
        assert_eq!(a.provisions[0].to_string(), "UNTOC-18");
    }

    #[test]
    fn names_every_offending_field() {
        let mut s = valid();
        s.recipient_countries[0].code = "XX".into();
        s.sectors = vec![
            SectorShare {
                code: "15130".into(),
                vocabulary: "1".into(),
                percentage: Some(Decimal::new(50, 0)),
            },
            SectorShare {
                code: "15210".into(),
                vocabulary: "1".into(),
                percentage: Some(Decimal::new(40, 0)),
            },
        ];
        s.planned_end = Some(date("2025-01-01"));
        s.budget = Some((Decimal::new(-1, 0), "XYZ".into()));
        let err = ActivityData::parse(s).err().map(fields).unwrap_or_default();
        for field in [
            "recipientCountries[0].code",
            "sectors",
            "plannedEnd",
            "budget.amount",
            "budget.currency",
        ] {
            assert!(
                err.iter().any(|f| f == field),
                "{field} missing from {err:?}"
            );
        }
    }

    #[test]
    fn percentages_within_half_a_point_pass() {
        let mut s = valid();
        s.sectors[0].percentage = Some(Decimal::new(9960, 2));
        assert!(ActivityData::parse(s).is_ok());
    }

    #[test]
    fn effective_window_defaults_to_a_year() {
        let mut s = valid();
        s.planned_end = None;
        let a = ActivityData::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.window(),
            Some(Window {
                start: date("2026-01-01"),
                end: date("2027-01-01")
            })
        );
    }
}
