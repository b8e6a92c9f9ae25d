//! Input objects and their conversion into domain submissions. Enumerations arrive typed;
//! everything else is checked by the domain's `parse`, which names each offending field.

use super::enums::{
    ActivityStatus, AssistanceType, InstitutionType, NeedPriority, NeedSource, NeedVisibility,
    OrgRole, OrganisationKind, PriorityArea, RelatedActivityType, to_domain,
};
use super::scalars::Date;
use super::scalars::Decimal;
use crate::error::ApiResult;
use crate::ids::{self, Kind};
use aidgraph_domain::Violations;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::activity::{
    ActivitySubmission, CountryShare, Narrative, ParisFlags, Participation, RegionShare,
    RelatedActivity, SectorShare, TransactionSubmission,
};
use aidgraph_domain::need::NeedSubmission;
use aidgraph_domain::organisation::OrganisationSubmission;
use async_graphql::{ID, InputObject};

/// Validates an activity input; returns the data and the need ids it links, if given.
pub fn parse_activity(input: ActivityInput) -> ApiResult<(ActivityData, Option<Vec<i64>>)> {
    let (submission, need_ids) = input.into_submission();
    let mut violations = Violations::default();
    let data = ActivityData::parse(submission).map_err(|v| violations.0.extend(v.0));
    let need_ids = need_ids
        .map(|ids| ids::decode_all(&ids, Kind::Need, "addressesNeeds"))
        .transpose();
    let need_ids = match need_ids {
        Ok(ids) => ids,
        Err(crate::error::ApiError::BadInput(v)) => {
            violations.0.extend(v.0);
            None
        }
        Err(other) => return Err(other),
    };
    match data {
        Ok(data) if violations.is_empty() => Ok((data, need_ids)),
        _ => Err(violations.into()),
    }
}

/// A text in one language.
#[derive(InputObject, Debug, Clone)]
pub struct NarrativeInput {
    /// ISO 639-1 language code, e.g. `en`, `fr`.
    pub lang: String,
    /// The text.
    pub text: String,
}

/// An organisation's part in an activity.
#[derive(InputObject, Debug, Clone)]
pub struct ParticipatingOrgInput {
    /// The organisation's reference; it must be registered.
    #[graphql(name = "ref")]
    pub org_ref: String,
    /// Its IATI role.
    pub role: OrgRole,
    /// The organisation's own identifier for the activity.
    pub activity_id: Option<String>,
}

/// A recipient country and its share.
#[derive(InputObject, Debug, Clone)]
pub struct CountryShareInput {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// Share in percent; give all or none.
    pub percentage: Option<Decimal>,
}

/// A recipient region and its share.
#[derive(InputObject, Debug, Clone)]
pub struct RegionShareInput {
    /// IATI Region code (OECD DAC).
    pub code: String,
    /// Share in percent.
    pub percentage: Option<Decimal>,
}

/// A sector and its share.
#[derive(InputObject, Debug, Clone)]
pub struct SectorShareInput {
    /// Code within the vocabulary, e.g. `15130`.
    pub code: String,
    /// IATI SectorVocabulary: `1` DAC 5-digit (default), `2` DAC 3-digit.
    #[graphql(default_with = "Some(\"1\".to_owned())")]
    pub vocabulary: Option<String>,
    /// Share in percent; per vocabulary, give all or none, summing to 100.
    pub percentage: Option<Decimal>,
}

/// An amount of money.
#[derive(InputObject, Debug, Clone)]
pub struct MoneyInput {
    /// Exact decimal amount, not negative.
    pub amount: Decimal,
    /// ISO 4217 currency code.
    pub currency: String,
}

/// A financial transaction.
#[derive(InputObject, Debug, Clone)]
pub struct TransactionInput {
    /// IATI TransactionType code, e.g. `2` commitment, `3` disbursement.
    #[graphql(name = "type")]
    pub kind: String,
    /// Value date.
    pub date: Date,
    /// Value.
    pub value: MoneyInput,
    /// The funder's activity identifier.
    pub provider_activity_id: Option<String>,
    /// The recipient's activity identifier.
    pub receiver_activity_id: Option<String>,
}

/// A link to another activity.
#[derive(InputObject, Debug, Clone)]
pub struct RelatedActivityInput {
    /// The other activity's IATI identifier; it need not be registered.
    pub iati_identifier: String,
    /// How the two relate.
    #[graphql(name = "type")]
    pub kind: RelatedActivityType,
}

/// Paris Declaration flags; leave out what is not known.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ParisFlagsInput {
    /// Recorded in the recipient's budget.
    pub on_budget: Option<bool>,
    /// Uses country public financial management.
    pub uses_country_pfm: Option<bool>,
    /// Uses country procurement.
    pub uses_country_procurement: Option<bool>,
    /// Runs a parallel implementation unit.
    pub parallel_piu: Option<bool>,
    /// IATI TiedStatus code.
    pub tied_status: Option<String>,
    /// Meets the programme-based-approach criteria.
    pub programme_based: Option<bool>,
}

/// An activity as a provider registers it.
#[derive(InputObject, Debug, Clone)]
pub struct ActivityInput {
    /// Globally unique IATI activity identifier.
    pub iati_identifier: String,
    /// The reporting organisation's reference; a provider may only report as itself.
    pub reporting_org: String,
    /// Titles, at least one.
    pub titles: Vec<NarrativeInput>,
    /// Descriptions.
    pub descriptions: Option<Vec<NarrativeInput>>,
    /// Participating organisations with their roles.
    pub participating_orgs: Option<Vec<ParticipatingOrgInput>>,
    /// Recipient countries.
    pub recipient_countries: Vec<CountryShareInput>,
    /// Recipient regions.
    pub recipient_regions: Option<Vec<RegionShareInput>>,
    /// Sectors.
    pub sectors: Option<Vec<SectorShareInput>>,
    /// UNTOC priority areas.
    pub priority_areas: Option<Vec<PriorityArea>>,
    /// UNTOC provisions, e.g. `UNTOC-18`, `TIP-6`.
    pub provisions: Option<Vec<String>>,
    /// Kinds of assistance.
    pub assistance_types: Option<Vec<AssistanceType>>,
    /// Institutions that benefit.
    pub beneficiary_institutions: Option<Vec<InstitutionType>>,
    /// IATI status.
    pub status: ActivityStatus,
    /// Planned start.
    pub planned_start: Option<Date>,
    /// Planned end.
    pub planned_end: Option<Date>,
    /// Actual start.
    pub actual_start: Option<Date>,
    /// Actual end.
    pub actual_end: Option<Date>,
    /// Total budget.
    pub budget: Option<MoneyInput>,
    /// Transactions.
    pub transactions: Option<Vec<TransactionInput>>,
    /// Related activities.
    pub related_activities: Option<Vec<RelatedActivityInput>>,
    /// Other identifiers of the same activity.
    pub external_ids: Option<Vec<String>>,
    /// Published needs it addresses (ids). Left out on update or upsert: links unchanged.
    pub addresses_needs: Option<Vec<ID>>,
    /// Why it addresses no published need.
    pub no_need_link_reason: Option<String>,
    /// Paris Declaration flags.
    pub paris: Option<ParisFlagsInput>,
    /// Disbursements scheduled per period (Paris indicator 7 compares them with disbursement
    /// transactions).
    pub planned_disbursements: Option<Vec<PlannedDisbursementInput>>,
}

/// A disbursement scheduled for a period.
#[derive(InputObject, Debug, Clone)]
pub struct PlannedDisbursementInput {
    /// First day of the period.
    pub period_start: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// How much is scheduled.
    pub value: MoneyInput,
}

fn narratives(list: Vec<NarrativeInput>) -> Vec<Narrative> {
    list.into_iter()
        .map(|n| Narrative {
            lang: n.lang,
            text: n.text,
        })
        .collect()
}

impl ActivityInput {
    /// The domain submission, and the need ids as given (still global ids).
    pub fn into_submission(self) -> (ActivitySubmission, Option<Vec<ID>>) {
        let paris = self.paris.unwrap_or_default();
        let submission = ActivitySubmission {
            iati_identifier: self.iati_identifier,
            reporting_org: self.reporting_org,
            titles: narratives(self.titles),
            descriptions: narratives(self.descriptions.unwrap_or_default()),
            participating_orgs: self
                .participating_orgs
                .unwrap_or_default()
                .into_iter()
                .map(|p| Participation {
                    org_ref: p.org_ref,
                    role: p.role.into(),
                    activity_id: p.activity_id,
                })
                .collect(),
            recipient_countries: self
                .recipient_countries
                .into_iter()
                .map(|c| CountryShare {
                    code: c.code,
                    percentage: c.percentage.map(|d| d.0),
                })
                .collect(),
            recipient_regions: self
                .recipient_regions
                .unwrap_or_default()
                .into_iter()
                .map(|r| RegionShare {
                    code: r.code,
                    percentage: r.percentage.map(|d| d.0),
                })
                .collect(),
            sectors: self
                .sectors
                .unwrap_or_default()
                .into_iter()
                .map(|s| SectorShare {
                    code: s.code,
                    vocabulary: s.vocabulary.unwrap_or_else(|| "1".to_owned()),
                    percentage: s.percentage.map(|d| d.0),
                })
                .collect(),
            priority_areas: to_domain(&self.priority_areas.unwrap_or_default()),
            provisions: self.provisions.unwrap_or_default(),
            assistance_types: to_domain(&self.assistance_types.unwrap_or_default()),
            beneficiary_institutions: to_domain(&self.beneficiary_institutions.unwrap_or_default()),
            status: Some(self.status.into()),
            planned_start: self.planned_start.map(|d| d.0),
            planned_end: self.planned_end.map(|d| d.0),
            actual_start: self.actual_start.map(|d| d.0),
            actual_end: self.actual_end.map(|d| d.0),
            budget: self.budget.map(|b| (b.amount.0, b.currency)),
            transactions: self
                .transactions
                .unwrap_or_default()
                .into_iter()
                .map(|t| TransactionSubmission {
                    kind: t.kind,
                    date: t.date.0,
                    amount: (t.value.amount).0,
                    currency: t.value.currency,
                    provider_activity_id: t.provider_activity_id,
                    receiver_activity_id: t.receiver_activity_id,
                })
                .collect(),
            related_activities: self
                .related_activities
                .unwrap_or_default()
                .into_iter()
                .map(|r| RelatedActivity {
                    iati_identifier: r.iati_identifier,
                    kind: r.kind.into(),
                })
                .collect(),
            external_ids: self.external_ids.unwrap_or_default(),
            no_need_link_reason: self.no_need_link_reason,
            paris: ParisFlags {
                on_budget: paris.on_budget,
                uses_country_pfm: paris.uses_country_pfm,
                uses_country_procurement: paris.uses_country_procurement,
                parallel_piu: paris.parallel_piu,
                tied_status: paris.tied_status,
                programme_based: paris.programme_based,
            },
            iati: aidgraph_domain::activity::IatiDetails {
                planned_disbursements: self
                    .planned_disbursements
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| aidgraph_domain::activity::PeriodValue {
                        kind: Some("1".to_owned()),
                        status: None,
                        period_start: p.period_start.0,
                        period_end: p.period_end.0,
                        value: aidgraph_domain::money::Money {
                            amount: (p.value.amount).0,
                            currency: p.value.currency.trim().to_ascii_uppercase(),
                        },
                        value_date: None,
                    })
                    .collect(),
                ..Default::default()
            },
            lenient: false,
        };
        (submission, self.addresses_needs)
    }
}

/// A need as a recipient states it.
#[derive(InputObject, Debug, Clone)]
pub struct NeedInput {
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// The priority area it falls under.
    pub priority_area: PriorityArea,
    /// The provisions it concerns, e.g. `UNTOC-18`.
    pub provisions: Option<Vec<String>>,
    /// The kinds of assistance asked for.
    pub assistance_types: Option<Vec<AssistanceType>>,
    /// The institutions that would benefit.
    pub beneficiary_institutions: Option<Vec<InstitutionType>>,
    /// The recipient's ranking.
    #[graphql(default_with = "NeedPriority::Medium")]
    pub priority: NeedPriority,
    /// Estimated cost.
    pub estimated_cost: Option<MoneyInput>,
    /// Who may see it.
    #[graphql(default_with = "NeedVisibility::Public")]
    pub visibility: NeedVisibility,
}

impl From<NeedInput> for NeedSubmission {
    fn from(n: NeedInput) -> Self {
        NeedSubmission {
            title: n.title,
            description: n.description,
            priority_area: n.priority_area.into(),
            provisions: n.provisions.unwrap_or_default(),
            assistance_types: to_domain(&n.assistance_types.unwrap_or_default()),
            beneficiary_institutions: to_domain(&n.beneficiary_institutions.unwrap_or_default()),
            priority: n.priority.into(),
            estimated_cost: n.estimated_cost.map(|c| (c.amount.0, c.currency)),
            visibility: n.visibility.into(),
        }
    }
}

/// A needs analysis with its first needs.
#[derive(InputObject, Debug, Clone)]
pub struct NeedsAnalysisInput {
    /// The recipient country, ISO 3166-1 alpha-2.
    pub recipient_country: String,
    /// Where the analysis comes from.
    pub source: NeedSource,
    /// Questionnaire cycle, report symbol or other reference.
    pub reference: Option<String>,
    /// Its needs; more can be added with `addNeed`.
    pub needs: Option<Vec<NeedInput>>,
}

/// An organisation to register.
#[derive(InputObject, Debug, Clone)]
pub struct OrganisationInput {
    /// IATI organisation identifier, e.g. `GB-GOV-1`.
    #[graphql(name = "ref")]
    pub org_ref: String,
    /// Display name.
    pub name: String,
    /// What kind of body it is.
    pub kind: OrganisationKind,
    /// IATI OrganisationType code.
    pub iati_type: Option<String>,
    /// Country, ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

impl From<OrganisationInput> for OrganisationSubmission {
    fn from(o: OrganisationInput) -> Self {
        OrganisationSubmission {
            org_ref: o.org_ref,
            name: o.name,
            kind: o.kind.into(),
            iati_type: o.iati_type,
            country: o.country,
        }
    }
}
