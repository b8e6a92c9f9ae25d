//! The parts of an activity as the API shows them: narratives, shares, transactions, Paris flags, participants, descriptions, related activities, planned disbursements.

use super::*;

/// A text in one language.
#[derive(SimpleObject, Debug, Clone)]
pub struct Narrative {
    /// ISO 639-1 language code.
    pub lang: String,
    /// The text.
    pub text: String,
}

/// A recipient country and its share.
#[derive(SimpleObject, Debug, Clone)]
pub struct CountryShare {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Share in percent, when reported.
    pub percentage: Option<Decimal>,
}

/// A recipient region and its share.
#[derive(SimpleObject, Debug, Clone)]
pub struct RegionShare {
    /// IATI Region code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Share in percent, when reported.
    pub percentage: Option<Decimal>,
}

/// A sector and its share within its vocabulary.
#[derive(SimpleObject, Debug, Clone)]
pub struct SectorShare {
    /// Code within the vocabulary, e.g. `15130`.
    pub code: String,
    /// English name, for DAC codes.
    pub name: String,
    /// IATI SectorVocabulary: `1` DAC 5-digit, `2` DAC 3-digit.
    pub vocabulary: String,
    /// Share in percent, when reported.
    pub percentage: Option<Decimal>,
}

/// A financial transaction.
#[derive(SimpleObject, Debug, Clone)]
pub struct Transaction {
    /// IATI TransactionType code, e.g. `2` commitment, `3` disbursement.
    #[graphql(name = "type")]
    pub kind: String,
    /// Value date.
    pub date: Date,
    /// Value.
    pub value: Money,
    /// The funder's activity identifier (funding chain).
    pub provider_activity_id: Option<String>,
    /// The recipient's activity identifier (funding chain).
    pub receiver_activity_id: Option<String>,
}

/// Aid-effectiveness flags behind the Paris Declaration indicators; null means not reported.
#[derive(SimpleObject, Debug, Clone)]
pub struct ParisFlags {
    /// Indicator 3: recorded in the recipient's budget.
    pub on_budget: Option<bool>,
    /// Indicator 5a: uses country public financial management.
    pub uses_country_pfm: Option<bool>,
    /// Indicator 5b: uses country procurement.
    pub uses_country_procurement: Option<bool>,
    /// Indicator 6: runs a parallel implementation unit.
    pub parallel_piu: Option<bool>,
    /// Indicator 8: IATI TiedStatus code (3 partially tied, 4 tied, 5 untied).
    pub tied_status: Option<String>,
    /// Indicator 9: meets the programme-based-approach criteria.
    pub programme_based: Option<bool>,
}

/// An organisation's part in an activity.
pub struct ParticipatingOrg {
    pub(super) org_ref: String,
    pub(super) role: OrgRole,
    pub(super) activity_id: Option<String>,
}

/// An organisation's part in an activity.
#[Object]
impl ParticipatingOrg {
    /// The organisation.
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        loaders(ctx)?
            .load_one(OrgRef(self.org_ref.clone()))
            .await?
            .map(Organisation)
            .ok_or_else(|| ApiError::NotFound(format!("organisation {}", self.org_ref)))
    }

    /// Its IATI role.
    async fn role(&self) -> OrgRole {
        self.role
    }

    /// The organisation's own identifier for the activity.
    async fn activity_id(&self) -> Option<&str> {
        self.activity_id.as_deref()
    }
}

/// An organisation taking part that its publisher named without an organisation identifier
/// (a local partner, say): kept by name, never matched to a registered organisation.
#[derive(SimpleObject, Debug, Clone)]
pub struct NamedParticipant {
    /// Its names, with their languages.
    pub names: Vec<Narrative>,
    /// Its IATI role.
    pub role: OrgRole,
    /// IATI OrganisationType code, when given (e.g. `22` national NGO).
    pub iati_type: Option<String>,
    /// The organisation's own identifier for the activity.
    pub activity_id: Option<String>,
}

/// What a description says of the activity (IATI DescriptionType).
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptionKind {
    /// IATI type 1: a general description (a second one, beside the activity's own).
    General,
    /// IATI type 2: the objectives.
    Objectives,
    /// IATI type 3: the groups the activity is meant to benefit.
    TargetGroups,
    /// IATI type 4: anything else.
    Other,
}

/// A description beside the activity's general one: objectives, target groups, other.
#[derive(SimpleObject, Debug, Clone)]
pub struct TypedDescription {
    /// What it describes.
    pub kind: DescriptionKind,
    /// The text, with its languages.
    pub narratives: Vec<Narrative>,
}

/// A link to another activity.
pub struct RelatedActivity {
    pub(super) iati_identifier: String,
    pub(super) kind: RelatedActivityType,
}

/// A link to another activity.
#[Object]
impl RelatedActivity {
    /// The other activity's IATI identifier.
    async fn iati_identifier(&self) -> &str {
        &self.iati_identifier
    }

    /// How the two relate.
    #[graphql(name = "type")]
    async fn kind(&self) -> RelatedActivityType {
        self.kind
    }

    /// The other activity, when it is registered and the caller may see it.
    async fn activity(&self, ctx: &Context<'_>) -> ApiResult<Option<Activity>> {
        let who = principal(ctx)?;
        let found = loaders(ctx)?
            .load_one(ActivityIdentifier(self.iati_identifier.clone()))
            .await?;
        Ok(found
            .filter(|a| who.sees_activity(a.publication, &a.data.reporting_org))
            .map(Activity))
    }
}

pub(super) fn narratives(list: &[aidgraph_domain::activity::Narrative]) -> Vec<Narrative> {
    list.iter()
        .map(|n| Narrative {
            lang: n.lang.clone(),
            text: n.text.clone(),
        })
        .collect()
}

/// A disbursement scheduled for a period.
#[derive(SimpleObject, Debug, Clone)]
pub struct PlannedDisbursement {
    /// First day of the period.
    pub period_start: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// How much is scheduled.
    pub value: Money,
}
