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

mod checks;
mod parse;

pub use checks::*;

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

/// A valid activity: what the registry stores. It is made only by [`ActivityData::parse`]
/// (or read back from a stored document), and read through its [`ActivityFields`]: code
/// outside this crate can neither build one unchecked nor change one in place.
///
/// Other crates read its fields but cannot change them:
///
/// ```compile_fail
/// use aidgraph_domain::{activity::ActivityData, vocab::ActivityStatus};
/// fn close(mut activity: ActivityData) {
///     activity.status = ActivityStatus::Closed;
/// }
/// ```
///
/// nor make one from fields that were never checked:
///
/// ```compile_fail
/// use aidgraph_domain::activity::{ActivityData, ActivityFields};
/// fn launder(fields: ActivityFields) -> ActivityData {
///     ActivityData(fields)
/// }
/// ```
///
/// A change goes through a method that keeps it valid:
///
/// ```
/// use aidgraph_domain::{activity::ActivityData, vocab::ActivityStatus};
/// fn close(activity: &ActivityData) -> ActivityData {
///     activity.with_status(ActivityStatus::Closed)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActivityData(ActivityFields);

read_only!(ActivityData, ActivityFields);

impl ActivityData {
    /// The same activity with another IATI status; any status is valid for any activity.
    pub fn with_status(&self, status: ActivityStatus) -> ActivityData {
        let mut data = self.0.clone();
        data.status = status;
        ActivityData(data)
    }

    /// What analytics read of an activity: its texts, organisations, links and other IATI
    /// details dropped, transactions kept only for disbursements (`3`) and expenditure (`4`).
    /// Not for storing: it has no title.
    pub fn slim(self) -> ActivityData {
        let mut data = self.0;
        data.titles = Vec::new();
        data.descriptions = Vec::new();
        data.participating_orgs = Vec::new();
        data.related_activities = Vec::new();
        data.external_ids = Vec::new();
        data.no_need_link_reason = None;
        data.transactions.retain(|t| t.kind == "3" || t.kind == "4");
        data.iati = IatiDetails {
            planned_disbursements: std::mem::take(&mut data.iati.planned_disbursements),
            ..IatiDetails::default()
        };
        ActivityData(data)
    }
}

/// The content of a valid activity, read through [`ActivityData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivityFields {
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
        assert_eq!(a.budget.as_ref().map(|b| b.currency.as_str()), Some("USD"));
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
