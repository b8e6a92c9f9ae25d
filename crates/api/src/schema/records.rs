//! Coordination records over GraphQL: evaluations, missions, analytic work, contributions,
//! coordination mechanisms and exchange rates — their types, inputs, queries and mutations.

use super::activity::Activity;
use super::connection::{Conn, connection, page_request};
use super::context::{loaders, principal, store};
use super::enums::{ContributionStatus, DacRating, Fund, MechanismLevel, PriorityArea};
use super::inputs::MoneyInput;
use super::need::Need;
use super::organisation::Organisation;
use super::scalars::Date;
use super::scalars::Decimal;
use super::scalars::Money;
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, Kind, encode};
use crate::loaders::{ActivityId, NeedId, OrgRef};
use aidgraph_domain::rates::{MonthlyRate, parse_csv};
use aidgraph_domain::records::{
    ContributionData, ContributionSubmission, DacRatings as DomainRatings, EvaluationData,
    JointWorkData, MechanismData,
};
use aidgraph_domain::vocab::JointWorkKind;
use aidgraph_persistence::rates;
use aidgraph_persistence::records::{
    self, ContributionRecord, EvaluationRecord, JointWorkRecord, LinkTarget, MechanismRecord,
};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

async fn organisations_of(ctx: &Context<'_>, refs: &[String]) -> ApiResult<Vec<Organisation>> {
    let keys: Vec<OrgRef> = refs.iter().cloned().map(OrgRef).collect();
    let mut found = loaders(ctx)?.load_many(keys).await?;
    Ok(refs
        .iter()
        .filter_map(|r| found.remove(&OrgRef(r.clone())))
        .map(Organisation)
        .collect())
}

async fn organisation(ctx: &Context<'_>, r: Option<&String>) -> ApiResult<Option<Organisation>> {
    let Some(r) = r else { return Ok(None) };
    Ok(loaders(ctx)?
        .load_one(OrgRef(r.clone()))
        .await?
        .map(Organisation))
}

async fn visible_activities(ctx: &Context<'_>, ids: &[i64]) -> ApiResult<Vec<Activity>> {
    let who = principal(ctx)?;
    let keys: Vec<ActivityId> = ids.iter().copied().map(ActivityId).collect();
    let mut found = loaders(ctx)?.load_many(keys).await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(&ActivityId(*id)))
        .filter(|a| who.sees_activity(a.publication, &a.data.reporting_org))
        .map(Activity)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Evaluations

/// Ratings on the OECD DAC criteria; null where not rated.
#[derive(SimpleObject, InputObject, Debug, Clone, Copy, Default)]
#[graphql(input_name = "DacRatingsInput")]
pub struct DacRatings {
    /// Relevance: doing the right things.
    pub relevance: Option<DacRating>,
    /// Coherence: fitting with other interventions.
    pub coherence: Option<DacRating>,
    /// Effectiveness: achieving its objectives.
    pub effectiveness: Option<DacRating>,
    /// Efficiency: using resources well.
    pub efficiency: Option<DacRating>,
    /// Impact: the difference it makes.
    pub impact: Option<DacRating>,
    /// Sustainability: whether the benefits last.
    pub sustainability: Option<DacRating>,
}

impl From<DacRatings> for DomainRatings {
    fn from(r: DacRatings) -> Self {
        DomainRatings {
            relevance: r.relevance.map(Into::into),
            coherence: r.coherence.map(Into::into),
            effectiveness: r.effectiveness.map(Into::into),
            efficiency: r.efficiency.map(Into::into),
            impact: r.impact.map(Into::into),
            sustainability: r.sustainability.map(Into::into),
        }
    }
}

impl From<&DomainRatings> for DacRatings {
    fn from(r: &DomainRatings) -> Self {
        DacRatings {
            relevance: r.relevance.map(Into::into),
            coherence: r.coherence.map(Into::into),
            effectiveness: r.effectiveness.map(Into::into),
            efficiency: r.efficiency.map(Into::into),
            impact: r.impact.map(Into::into),
            sustainability: r.sustainability.map(Into::into),
        }
    }
}

/// An evaluation of one or more activities: what worked and what did not.
pub struct Evaluation(pub EvaluationRecord);

/// An evaluation of one or more activities: what worked and what did not.
#[Object]
impl Evaluation {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Evaluation, self.0.id)
    }

    /// Title of the evaluation report.
    async fn title(&self) -> &str {
        &self.0.data.title
    }

    /// Who evaluated.
    async fn evaluator(&self) -> &str {
        &self.0.data.evaluator
    }

    /// When the evaluation was completed.
    async fn date(&self) -> Date {
        self.0.data.date.into()
    }

    /// Whether the evaluator is independent of the implementers.
    async fn independent(&self) -> bool {
        self.0.data.independent
    }

    /// Ratings on the OECD DAC criteria.
    async fn ratings(&self) -> DacRatings {
        (&self.0.data.ratings).into()
    }

    /// What worked.
    async fn what_worked(&self) -> Option<&str> {
        self.0.data.what_worked.as_deref()
    }

    /// What did not work.
    async fn what_did_not_work(&self) -> Option<&str> {
        self.0.data.what_did_not_work.as_deref()
    }

    /// Where the report is.
    async fn link(&self) -> Option<&str> {
        self.0.data.link.as_deref()
    }

    /// The activities evaluated.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        visible_activities(ctx, &self.0.activity_ids).await
    }

    /// Who recorded it (token subject).
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An evaluation to record.
#[derive(InputObject, Debug, Clone)]
pub struct EvaluationInput {
    /// The activities evaluated; a provider may name only activities it reports.
    pub activity_ids: Vec<ID>,
    /// Title of the evaluation report.
    pub title: String,
    /// Who evaluated.
    pub evaluator: String,
    /// When the evaluation was completed.
    pub date: Date,
    /// Whether the evaluator is independent of the implementers.
    pub independent: bool,
    /// Ratings on the OECD DAC criteria.
    pub ratings: Option<DacRatings>,
    /// What worked.
    pub what_worked: Option<String>,
    /// What did not work.
    pub what_did_not_work: Option<String>,
    /// Where the report is (http or https URL).
    pub link: Option<String>,
}

/// Filters for evaluation lists.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EvaluationFilter {
    /// Of activities on this provision, e.g. `UNTOC-18`.
    pub provision: Option<String>,
    /// Of activities under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Of activities in this country.
    pub country: Option<String>,
    /// Title, evaluator or lessons contain this text.
    pub text: Option<String>,
    /// Of this activity.
    pub activity_id: Option<ID>,
    /// Independent or not.
    pub independent: Option<bool>,
}

fn canonical_provision(p: &str, field: &str) -> ApiResult<String> {
    aidgraph_domain::provision::Provision::parse(p)
        .map(|p| p.to_string())
        .map_err(|m| ApiError::bad_input(field, m))
}

// ---------------------------------------------------------------------------------------------
// Missions and analytic work

macro_rules! joint_work_type {
    ($name:ident, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(pub JointWorkRecord);

        #[doc = $doc]
        #[Object]
        impl $name {
            /// Global id.
            pub async fn id(&self) -> ID {
                encode($kind, self.0.id)
            }

            /// What it was.
            async fn title(&self) -> &str {
                &self.0.data.title
            }

            /// The country, ISO 3166-1 alpha-2.
            async fn country(&self) -> &str {
                &self.0.data.country
            }

            /// The organisations taking part.
            #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
            async fn organisations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organisation>> {
                organisations_of(ctx, &self.0.data.organisations).await
            }

            /// The organisation on whose behalf it was done.
            async fn on_behalf_of(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
                organisation(ctx, self.0.data.on_behalf_of.as_ref()).await
            }

            /// Joint: two or more organisations took part, or one acted for another.
            async fn joint(&self) -> bool {
                self.0.data.joint()
            }

            /// First day.
            async fn start_date(&self) -> Date {
                self.0.data.start_date.into()
            }

            /// Last day.
            async fn end_date(&self) -> Option<Date> {
                self.0.data.end_date.map(Into::into)
            }

            /// Where the report is.
            async fn link(&self) -> Option<&str> {
                self.0.data.link.as_deref()
            }

            /// Who recorded it.
            async fn recorded_by(&self) -> &str {
                &self.0.recorded_by
            }

            /// When it was recorded.
            async fn created_at(&self) -> DateTime<Utc> {
                self.0.created_at
            }
        }
    };
}

joint_work_type!(
    Mission,
    Kind::Mission,
    "A mission to a country (Paris indicator 10a)."
);
joint_work_type!(
    AnalyticWork,
    Kind::AnalyticWork,
    "Country analytic work: diagnostic reviews, studies, assessments (Paris indicator 10b)."
);

/// A mission to record.
#[derive(InputObject, Debug, Clone)]
pub struct MissionInput {
    /// What it was.
    pub title: String,
    /// The country, ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisations taking part (refs).
    pub organisations: Vec<String>,
    /// The organisation on whose behalf it was done (ref).
    pub on_behalf_of: Option<String>,
    /// First day.
    pub start_date: Date,
    /// Last day.
    pub end_date: Option<Date>,
}

/// Analytic work to record.
#[derive(InputObject, Debug, Clone)]
pub struct AnalyticWorkInput {
    /// What it was.
    pub title: String,
    /// The country, ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisations taking part (refs).
    pub organisations: Vec<String>,
    /// The organisation on whose behalf it was done (ref).
    pub on_behalf_of: Option<String>,
    /// First day.
    pub start_date: Date,
    /// Last day.
    pub end_date: Option<Date>,
    /// Where the report is (http or https URL).
    pub link: Option<String>,
}

macro_rules! joint_work_filter {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(InputObject, Debug, Clone, Default)]
        pub struct $name {
            /// In this country.
            pub country: Option<String>,
            /// With this organisation taking part or acted for (ref).
            pub organisation: Option<String>,
            /// Starting in this year.
            pub year: Option<i32>,
            /// Joint or not.
            pub joint: Option<bool>,
        }

        impl From<$name> for records::JointWorkFilter {
            fn from(f: $name) -> Self {
                records::JointWorkFilter {
                    country: f.country,
                    organisation: f.organisation,
                    year: f.year,
                    joint: f.joint,
                }
            }
        }
    };
}

joint_work_filter!(MissionFilter, "Filters for missions.");
joint_work_filter!(AnalyticWorkFilter, "Filters for analytic work.");

// ---------------------------------------------------------------------------------------------
// Contributions

/// A contribution to the coordinator's funds, pledged or paid.
pub struct Contribution(pub ContributionRecord);

/// A contribution to the coordinator's funds, pledged or paid.
#[Object]
impl Contribution {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Contribution, self.0.id)
    }

    /// The donor.
    async fn donor(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        organisation(ctx, Some(&self.0.data.donor))
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("organisation {}", self.0.data.donor)))
    }

    /// Which fund.
    async fn fund(&self) -> Fund {
        self.0.data.fund.into()
    }

    /// What a special-purpose contribution is earmarked for.
    async fn earmark(&self) -> Option<&str> {
        self.0.data.earmark.as_deref()
    }

    /// How much.
    async fn amount(&self) -> Money {
        (&self.0.data.amount).into()
    }

    /// The year it is for.
    async fn year(&self) -> i32 {
        self.0.data.year
    }

    /// Pledged or paid.
    async fn status(&self) -> ContributionStatus {
        self.0.data.status.into()
    }

    /// When it was pledged or paid.
    async fn date(&self) -> Option<Date> {
        self.0.data.date.map(Into::into)
    }

    /// Who recorded it.
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A contribution to record.
#[derive(InputObject, Debug, Clone)]
pub struct ContributionInput {
    /// The donor (organisation ref).
    pub donor: String,
    /// Which fund.
    pub fund: Fund,
    /// What it is earmarked for: required for special-purpose funds, refused for
    /// general-purpose.
    pub earmark: Option<String>,
    /// How much; more than zero.
    pub amount: MoneyInput,
    /// The year it is for.
    pub year: i32,
    /// Pledged or paid.
    pub status: ContributionStatus,
    /// When it was pledged or paid.
    pub date: Option<Date>,
}

/// Filters for contributions.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ContributionFilter {
    /// From this donor (ref).
    pub donor: Option<String>,
    /// For this year.
    pub year: Option<i32>,
    /// To this fund.
    pub fund: Option<Fund>,
    /// Pledged or paid.
    pub status: Option<ContributionStatus>,
}

impl From<ContributionFilter> for records::ContributionFilter {
    fn from(f: ContributionFilter) -> Self {
        records::ContributionFilter {
            donor: f.donor,
            year: f.year,
            fund: f.fund.map(Into::into),
            status: f.status.map(Into::into),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Coordination mechanisms

/// A local, national, regional or multilateral body through which providers and recipients
/// coordinate.
pub struct CoordinationMechanism(pub MechanismRecord);

/// A local, national, regional or multilateral body through which providers and recipients
/// coordinate.
#[Object]
impl CoordinationMechanism {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::CoordinationMechanism, self.0.id)
    }

    /// Its name.
    async fn name(&self) -> &str {
        &self.0.data.name
    }

    /// The level it works at.
    async fn level(&self) -> MechanismLevel {
        self.0.data.level.into()
    }

    /// The countries it covers; empty for a global mechanism.
    async fn countries(&self) -> &[String] {
        &self.0.data.countries
    }

    /// Member organisations.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organisation>> {
        organisations_of(ctx, &self.0.data.members).await
    }

    /// The chair.
    async fn chair(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        organisation(ctx, self.0.data.chair.as_ref()).await
    }

    /// What it does.
    async fn description(&self) -> Option<&str> {
        self.0.data.description.as_deref()
    }

    /// The activities it coordinates that the caller may see.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        let ids = records::linked_ids(store(ctx)?.db(), self.0.id, LinkTarget::Activity).await?;
        visible_activities(ctx, &ids).await
    }

    /// The needs it coordinates that the caller may see.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn needs(&self, ctx: &Context<'_>) -> ApiResult<Vec<Need>> {
        let who = principal(ctx)?;
        let ids = records::linked_ids(store(ctx)?.db(), self.0.id, LinkTarget::Need).await?;
        let mut found = loaders(ctx)?
            .load_many(ids.iter().copied().map(NeedId))
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(&NeedId(*id)))
            .filter(|n| who.sees_need(n.analysis_status, n.data.visibility, &n.recipient_country))
            .map(Need)
            .collect())
    }

    /// Who recorded it.
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A coordination mechanism to create.
#[derive(InputObject, Debug, Clone)]
pub struct CoordinationMechanismInput {
    /// Its name.
    pub name: String,
    /// The level: LOCAL and NATIONAL name exactly one country, REGIONAL one or more.
    pub level: MechanismLevel,
    /// The countries it covers (ISO 3166-1 alpha-2).
    pub countries: Option<Vec<String>>,
    /// Member organisations (refs).
    pub members: Option<Vec<String>>,
    /// The chair (ref), one of the members.
    pub chair: Option<String>,
    /// What it does.
    pub description: Option<String>,
}

/// Filters for coordination mechanisms.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CoordinationMechanismFilter {
    /// Working in this country.
    pub country: Option<String>,
    /// At this level.
    pub level: Option<MechanismLevel>,
    /// With this member (ref).
    pub member: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Exchange rates

/// One month's exchange rate of a currency against the US dollar.
#[derive(SimpleObject, Debug, Clone)]
pub struct ExchangeRate {
    /// ISO 4217 code.
    pub currency: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Units of the currency one US dollar buys.
    pub units_per_usd: Decimal,
}

impl From<MonthlyRate> for ExchangeRate {
    fn from(r: MonthlyRate) -> Self {
        ExchangeRate {
            currency: r.currency,
            month: r.month,
            units_per_usd: Decimal(r.units_per_usd),
        }
    }
}

/// What a rates load stored.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ExchangeRateLoad {
    /// Months stored (new or replaced).
    pub loaded: u64,
}

// ---------------------------------------------------------------------------------------------
// Roots

/// Reads of coordination records.
#[derive(Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// An evaluation by global id.
    async fn evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The evaluation's global id.")] id: ID,
    ) -> ApiResult<Option<Evaluation>> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Evaluation, "id")?;
        Ok(records::get_evaluation(store(ctx)?.db(), who, id)
            .await?
            .map(Evaluation))
    }

    /// Evaluations the caller may see, newest recorded first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn evaluations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which evaluations to return; every given field must match.")]
        filter: Option<EvaluationFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Evaluation>> {
        let who = principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default();
        let query = records::EvaluationFilter {
            provision: filter
                .provision
                .as_deref()
                .map(|p| canonical_provision(p, "filter.provision"))
                .transpose()?,
            priority_area: filter.priority_area.map(Into::into),
            country: filter.country,
            text: filter.text,
            activity_id: filter
                .activity_id
                .as_ref()
                .map(|id| ids::decode(id, Kind::Activity, "filter.activityId"))
                .transpose()?,
            independent: filter.independent,
        };
        let found = records::list_evaluations(store(ctx)?.db(), who, &query, &page).await?;
        Ok(connection(found, Evaluation))
    }

    /// Missions, newest recorded first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn missions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which missions to return; every given field must match.")] filter: Option<
            MissionFilter,
        >,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Mission>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into();
        let found =
            records::list_joint_works(store(ctx)?.db(), JointWorkKind::Mission, &filter, &page)
                .await?;
        Ok(connection(found, Mission))
    }

    /// Country analytic work, newest recorded first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn analytic_works(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which analytic work to return; every given field must match.")]
        filter: Option<AnalyticWorkFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<AnalyticWork>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into();
        let found = records::list_joint_works(
            store(ctx)?.db(),
            JointWorkKind::AnalyticWork,
            &filter,
            &page,
        )
        .await?;
        Ok(connection(found, AnalyticWork))
    }

    /// Contributions to the coordinator's funds, newest recorded first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn contributions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which contributions to return; every given field must match.")]
        filter: Option<ContributionFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Contribution>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into();
        let found = records::list_contributions(store(ctx)?.db(), &filter, &page).await?;
        Ok(connection(found, Contribution))
    }

    /// Coordination mechanisms, in the order they were created.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn coordination_mechanisms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which coordination mechanisms to return; every given field must match.")]
        filter: Option<CoordinationMechanismFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<CoordinationMechanism>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default();
        let query = records::MechanismFilter {
            country: filter.country,
            level: filter.level.map(Into::into),
            member: filter.member,
        };
        let found = records::list_mechanisms(store(ctx)?.db(), &query, &page).await?;
        Ok(connection(found, CoordinationMechanism))
    }

    /// Stored monthly exchange rates, by currency and month.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn exchange_rates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only rates of this currency (ISO 4217).")] currency: Option<String>,
        #[graphql(desc = "Only the months of this year.")] year: Option<i32>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<ExchangeRate>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let found = rates::list(store(ctx)?.db(), currency.as_deref(), year, &page).await?;
        Ok(connection(found, ExchangeRate::from))
    }
}

/// Changes to coordination records.
#[derive(Default)]
pub struct RecordsMutation;

#[Object]
impl RecordsMutation {
    /// Records an evaluation. Providers may evaluate only activities they report.
    async fn record_evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The evaluation to record.")] input: EvaluationInput,
    ) -> ApiResult<Evaluation> {
        let who = principal(ctx)?;
        let activity_ids = ids::decode_all(&input.activity_ids, Kind::Activity, "activityIds")?;
        let data = EvaluationData::parse(
            EvaluationData {
                title: input.title,
                evaluator: input.evaluator,
                date: input.date.0,
                independent: input.independent,
                ratings: input.ratings.unwrap_or_default().into(),
                what_worked: input.what_worked,
                what_did_not_work: input.what_did_not_work,
                link: input.link,
            },
            activity_ids.len(),
        )?;
        let record = records::record_evaluation(store(ctx)?, who, &activity_ids, data).await?;
        Ok(Evaluation(record))
    }

    /// Records a mission (coordinators).
    async fn record_mission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mission to record.")] input: MissionInput,
    ) -> ApiResult<Mission> {
        let who = principal(ctx)?;
        let data = JointWorkData::parse(JointWorkData {
            kind: JointWorkKind::Mission,
            title: input.title,
            country: input.country,
            organisations: input.organisations,
            on_behalf_of: input.on_behalf_of,
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            link: None,
        })?;
        Ok(Mission(
            records::record_joint_work(store(ctx)?, who, data).await?,
        ))
    }

    /// Records country analytic work (coordinators).
    async fn record_analytic_work(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The analytic work to record.")] input: AnalyticWorkInput,
    ) -> ApiResult<AnalyticWork> {
        let who = principal(ctx)?;
        let data = JointWorkData::parse(JointWorkData {
            kind: JointWorkKind::AnalyticWork,
            title: input.title,
            country: input.country,
            organisations: input.organisations,
            on_behalf_of: input.on_behalf_of,
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            link: input.link,
        })?;
        Ok(AnalyticWork(
            records::record_joint_work(store(ctx)?, who, data).await?,
        ))
    }

    /// Records a contribution to the coordinator's funds (coordinators).
    async fn record_contribution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contribution to record.")] input: ContributionInput,
    ) -> ApiResult<Contribution> {
        let who = principal(ctx)?;
        let data = ContributionData::parse(ContributionSubmission {
            donor: input.donor,
            fund: input.fund.into(),
            earmark: input.earmark,
            amount: ((input.amount.amount).0, input.amount.currency),
            year: input.year,
            status: input.status.into(),
            date: input.date.map(|d| d.0),
        })?;
        Ok(Contribution(
            records::record_contribution(store(ctx)?, who, data).await?,
        ))
    }

    /// Creates a coordination mechanism (coordinators).
    async fn create_coordination_mechanism(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coordination mechanism to create.")]
        input: CoordinationMechanismInput,
    ) -> ApiResult<CoordinationMechanism> {
        let who = principal(ctx)?;
        let data = MechanismData::parse(MechanismData {
            name: input.name,
            level: input.level.into(),
            countries: input.countries.unwrap_or_default(),
            members: input.members.unwrap_or_default(),
            chair: input.chair,
            description: input.description,
        })?;
        Ok(CoordinationMechanism(
            records::create_mechanism(store(ctx)?, who, data).await?,
        ))
    }

    /// Records that a mechanism coordinates activities and needs in its countries.
    /// Coordinators link any; providers their own activities; recipients their own needs.
    async fn link_to_mechanism(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coordination mechanism's global id.")] mechanism_id: ID,
        #[graphql(desc = "Activities to link (global ids), each in a country it covers.")]
        activity_ids: Option<Vec<ID>>,
        #[graphql(desc = "Needs to link (global ids), each in a country it covers.")]
        need_ids: Option<Vec<ID>>,
    ) -> ApiResult<CoordinationMechanism> {
        change_links(ctx, mechanism_id, activity_ids, need_ids, true).await
    }

    /// Removes links between a mechanism and activities or needs; the same rights as linking.
    async fn unlink_from_mechanism(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coordination mechanism's global id.")] mechanism_id: ID,
        #[graphql(desc = "Activities to unlink (global ids).")] activity_ids: Option<Vec<ID>>,
        #[graphql(desc = "Needs to unlink (global ids).")] need_ids: Option<Vec<ID>>,
    ) -> ApiResult<CoordinationMechanism> {
        change_links(ctx, mechanism_id, activity_ids, need_ids, false).await
    }

    /// Loads monthly exchange rates from CSV lines `currency,month,units_per_usd` (a header
    /// line is allowed), replacing the months named (admins). One bad line rejects the load.
    async fn load_exchange_rates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Lines `currency,month,units_per_usd`, e.g. `EUR,2024-01,0.92`.")]
        csv: String,
    ) -> ApiResult<ExchangeRateLoad> {
        let who = principal(ctx)?;
        if !who.may_load_rates() {
            return Err(ApiError::Forbidden(
                "only admins load exchange rates".into(),
            ));
        }
        let rows = parse_csv(&csv)?;
        let loaded = rates::load(store(ctx)?, who, &rows).await?;
        Ok(ExchangeRateLoad {
            loaded: loaded as u64,
        })
    }
}

async fn change_links(
    ctx: &Context<'_>,
    mechanism_id: ID,
    activity_ids: Option<Vec<ID>>,
    need_ids: Option<Vec<ID>>,
    link: bool,
) -> ApiResult<CoordinationMechanism> {
    let who = principal(ctx)?;
    let mechanism_id = ids::decode(&mechanism_id, Kind::CoordinationMechanism, "mechanismId")?;
    let activity_ids = ids::decode_all(
        &activity_ids.unwrap_or_default(),
        Kind::Activity,
        "activityIds",
    )?;
    let need_ids = ids::decode_all(&need_ids.unwrap_or_default(), Kind::Need, "needIds")?;
    let record = records::change_links(
        store(ctx)?,
        who,
        mechanism_id,
        &activity_ids,
        &need_ids,
        link,
    )
    .await?;
    Ok(CoordinationMechanism(record))
}

/// Evaluations of registered activities sharing a provision with `data` (other than
/// `exclude`), newest first, as `who` may see them.
pub async fn lessons_for(
    ctx: &Context<'_>,
    data: &aidgraph_domain::activity::ActivityData,
    exclude: Option<i64>,
) -> ApiResult<Vec<Evaluation>> {
    let question = records::LessonsQuestion {
        provisions: data.provisions.iter().map(ToString::to_string).collect(),
        exclude_activity: exclude,
    };
    Ok(loaders(ctx)?
        .load_one(crate::loaders::LessonsFor(question))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Evaluation)
        .collect())
}
