//! Overlap flags, the dry run, and needs coverage.

use super::activity::Activity;
use super::context::{loaders, principal};
use super::need::Need;
use crate::error::{ApiError, ApiResult};
use crate::ids::{Kind, encode};
use crate::loaders::{ActivityId, CoverageOf};
use aidgraph_domain::vocab as d;
use aidgraph_persistence::coverage::NeedCoverage;
use aidgraph_persistence::overlap::{FlagFilter, FlagRecord, StoredComponent};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

/// How a pair of activities relates, first match wins: the same money twice, coordinated,
/// score ≥ 60, score 40–59.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapClass {
    /// The same money reported twice: a shared external id, a funding chain from one to the
    /// other, or the same implementer with near-identical text, dates and budget. Coverage
    /// and indicators count the pair once.
    DoubleReporting,
    /// The two are in one coordination group (related activities, a shared mechanism or a
    /// review); the score is still shown.
    Coordinated,
    /// A score of 60 or more: probably the same work done twice.
    LikelyDuplication,
    /// A score from 40 to 59: worth a look.
    PossibleOverlap,
}

impl OverlapClass {
    /// The GraphQL class of a domain class; NONE is never shown.
    pub fn of(class: d::OverlapClass) -> Self {
        match class {
            d::OverlapClass::DoubleReporting => OverlapClass::DoubleReporting,
            d::OverlapClass::Coordinated => OverlapClass::Coordinated,
            d::OverlapClass::LikelyDuplication => OverlapClass::LikelyDuplication,
            d::OverlapClass::PossibleOverlap | d::OverlapClass::None => {
                OverlapClass::PossibleOverlap
            }
        }
    }
}

impl From<OverlapClass> for d::OverlapClass {
    fn from(c: OverlapClass) -> Self {
        match c {
            OverlapClass::DoubleReporting => d::OverlapClass::DoubleReporting,
            OverlapClass::Coordinated => d::OverlapClass::Coordinated,
            OverlapClass::LikelyDuplication => d::OverlapClass::LikelyDuplication,
            OverlapClass::PossibleOverlap => d::OverlapClass::PossibleOverlap,
        }
    }
}

/// A reviewer's decision; COMPLEMENTARY and COORDINATED join the pair's coordination groups.
/// A decision sticks until one of the pair's inputs changes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// Not reviewed yet, or one of the pair changed since the last decision.
    Open,
    /// A reviewer found a real duplication.
    ConfirmedDuplicate,
    /// A reviewer found that the two complement each other; they join one coordination group.
    Complementary,
    /// A reviewer found that the two are coordinated; they join one coordination group.
    Coordinated,
    /// A reviewer found no concern.
    Dismissed,
}

impl From<ReviewStatus> for d::ReviewStatus {
    fn from(s: ReviewStatus) -> Self {
        match s {
            ReviewStatus::Open => d::ReviewStatus::Open,
            ReviewStatus::ConfirmedDuplicate => d::ReviewStatus::ConfirmedDuplicate,
            ReviewStatus::Complementary => d::ReviewStatus::Complementary,
            ReviewStatus::Coordinated => d::ReviewStatus::Coordinated,
            ReviewStatus::Dismissed => d::ReviewStatus::Dismissed,
        }
    }
}

impl From<d::ReviewStatus> for ReviewStatus {
    fn from(s: d::ReviewStatus) -> Self {
        match s {
            d::ReviewStatus::Open => ReviewStatus::Open,
            d::ReviewStatus::ConfirmedDuplicate => ReviewStatus::ConfirmedDuplicate,
            d::ReviewStatus::Complementary => ReviewStatus::Complementary,
            d::ReviewStatus::Coordinated => ReviewStatus::Coordinated,
            d::ReviewStatus::Dismissed => ReviewStatus::Dismissed,
        }
    }
}

/// One part of a score, with its reason.
#[derive(SimpleObject, Debug, Clone)]
pub struct OverlapComponent {
    /// `geo`, `time` (the gates, which multiply), `topic`, `need`, `type`, `text`,
    /// `beneficiary` or `implementer`.
    pub key: String,
    /// In [0, 1].
    pub value: f64,
    /// Weight in the mean; 0 for the gates.
    pub weight: f64,
    /// Why, in a sentence.
    pub reason: String,
}

impl From<&StoredComponent> for OverlapComponent {
    fn from(c: &StoredComponent) -> Self {
        OverlapComponent {
            key: c.key.clone(),
            value: c.value,
            weight: c.weight,
            reason: c.reason.clone(),
        }
    }
}

/// Two published activities that may duplicate each other, with the reasons.
pub struct OverlapFlag(pub FlagRecord);

async fn activity(ctx: &Context<'_>, id: i64) -> ApiResult<Activity> {
    loaders(ctx)?
        .load_one(ActivityId(id))
        .await?
        .map(Activity)
        .ok_or_else(|| ApiError::NotFound(format!("activity {id}")))
}

/// Two published activities that may duplicate each other, with the reasons.
#[Object]
impl OverlapFlag {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::OverlapFlag, self.0.id)
    }

    /// The first activity of the pair (the earlier registered).
    async fn activity_a(&self, ctx: &Context<'_>) -> ApiResult<Activity> {
        activity(ctx, self.0.activity_a_id).await
    }

    /// The second activity of the pair.
    async fn activity_b(&self, ctx: &Context<'_>) -> ApiResult<Activity> {
        activity(ctx, self.0.activity_b_id).await
    }

    /// 0–100.
    async fn score(&self) -> i32 {
        i32::from(self.0.score)
    }

    /// The class.
    async fn class(&self) -> OverlapClass {
        OverlapClass::of(self.0.class)
    }

    /// The gates and every present component, with reasons.
    async fn components(&self) -> Vec<OverlapComponent> {
        self.0.components.iter().map(Into::into).collect()
    }

    /// The countries the pair shares.
    async fn countries(&self) -> &[String] {
        &self.0.countries
    }

    /// Review state.
    async fn status(&self) -> ReviewStatus {
        self.0.status.into()
    }

    /// Who reviewed it (token subject).
    async fn reviewed_by(&self) -> Option<&str> {
        self.0.reviewed_by.as_deref()
    }

    /// The reviewer's note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// When it was reviewed.
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }

    /// The version of the overlap rule that computed it.
    async fn config_version(&self) -> &str {
        &self.0.config_version
    }

    /// When it was first raised.
    async fn raised_at(&self) -> DateTime<Utc> {
        self.0.raised_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Filters for overlap flags.
#[derive(InputObject, Debug, Clone, Default)]
pub struct OverlapFlagFilter {
    /// Pairs sharing this recipient country.
    pub country: Option<String>,
    /// Pairs where this organisation reports one side.
    pub provider: Option<String>,
    /// Only these classes.
    pub class: Option<Vec<OverlapClass>>,
    /// Only these review states.
    pub status: Option<Vec<ReviewStatus>>,
    /// Score at least this.
    pub min_score: Option<i32>,
}

impl OverlapFlagFilter {
    /// The repository filter.
    pub fn into_query(self) -> ApiResult<FlagFilter> {
        let min_score = match self.min_score {
            Some(s) if !(0..=100).contains(&s) => {
                return Err(ApiError::bad_input(
                    "filter.minScore",
                    "must be between 0 and 100",
                ));
            }
            s => s.map(|s| u8::try_from(s).unwrap_or(0)),
        };
        Ok(FlagFilter {
            country: self.country,
            provider: self.provider,
            classes: self
                .class
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            min_score,
            activity_id: None,
        })
    }
}

/// A flag that registering a planned activity would raise.
pub struct PlannedOverlap {
    /// The registered activity's id.
    pub activity_id: i64,
    /// 0–100.
    pub score: u8,
    /// The class.
    pub class: d::OverlapClass,
    /// The components.
    pub components: Vec<OverlapComponent>,
}

/// A flag that registering a planned activity would raise.
#[Object]
impl PlannedOverlap {
    /// The registered activity it would be flagged with.
    async fn activity(&self, ctx: &Context<'_>) -> ApiResult<Activity> {
        activity(ctx, self.activity_id).await
    }

    /// 0–100.
    async fn score(&self) -> i32 {
        i32::from(self.score)
    }

    /// The class.
    async fn class(&self) -> OverlapClass {
        OverlapClass::of(self.class)
    }

    /// The gates and every present component, with reasons.
    async fn components(&self) -> &[OverlapComponent] {
        &self.components
    }
}

/// What registering a planned activity would meet: flags and the needs it could address.
/// The needs and lessons are looked up only when asked for.
pub struct OverlapCheck {
    /// Flags it would raise.
    pub flags: Vec<PlannedOverlap>,
    /// The planned activity.
    pub planned: aidgraph_domain::activity::ActivityData,
}

/// What registering a planned activity would meet: flags and the needs it could address.
/// The needs and lessons are looked up only when asked for.
#[Object]
impl OverlapCheck {
    /// What registering this activity would raise.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn flags(&self) -> &[PlannedOverlap] {
        &self.flags
    }

    /// Published needs in its countries that it could address (shared provision or priority
    /// area, compatible assistance type), each with its coverage.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn addressable_needs(&self, ctx: &Context<'_>) -> ApiResult<Vec<Need>> {
        use aidgraph_persistence::{PageRequest, activities::ActivityRecord, coverage, needs};
        let who = principal(ctx)?;
        let db = super::context::store(ctx)?.db();
        let planned = ActivityRecord {
            id: 0,
            reporting_org_id: 0,
            publication: d::Publication::Draft,
            version: 0,
            data: self.planned.clone(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let mut addressable = Vec::new();
        for country in &self.planned.recipient_countries {
            let filter = needs::NeedFilter {
                recipient_country: Some(country.code.clone()),
                analysis_status: vec![d::NeedsAnalysisStatus::Published],
                ..needs::NeedFilter::default()
            };
            let all = PageRequest {
                first: super::need::MAX_COVERAGE_SCAN,
                after: None,
                count: false,
            };
            let found = needs::list_needs(db, who, &filter, &all).await?;
            addressable.extend(
                found
                    .items
                    .into_iter()
                    .map(|(_, n)| n)
                    .filter(|n| coverage::could_address(&planned, n))
                    .map(Need),
            );
        }
        Ok(addressable)
    }

    /// Evaluations of registered activities on the same provisions, newest first: what
    /// worked and what did not.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn lessons(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::records::Evaluation>> {
        super::records::lessons_for(ctx, &self.planned, None).await
    }
}

/// How a need is covered.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageState {
    /// No active activity in the need's country addresses it.
    Unmet,
    /// One coordination group covers the need, or several one after another.
    Covered,
    /// Two or more coordination groups cover the need at the same time.
    Duplicated,
}

impl From<aidgraph_domain::overlap::coverage::CoverageState> for CoverageState {
    fn from(s: aidgraph_domain::overlap::coverage::CoverageState) -> Self {
        use aidgraph_domain::overlap::coverage::CoverageState as C;
        match s {
            C::Unmet => CoverageState::Unmet,
            C::Covered => CoverageState::Covered,
            C::Duplicated => CoverageState::Duplicated,
        }
    }
}

impl From<CoverageState> for aidgraph_domain::overlap::coverage::CoverageState {
    fn from(s: CoverageState) -> Self {
        use aidgraph_domain::overlap::coverage::CoverageState as C;
        match s {
            CoverageState::Unmet => C::Unmet,
            CoverageState::Covered => C::Covered,
            CoverageState::Duplicated => C::Duplicated,
        }
    }
}

/// Who covers a need: UNMET (nobody), COVERED (one coordination group, or several one after
/// another), DUPLICATED (two or more groups at the same time). Suggestions never change the
/// state: the recipient leads.
pub struct Coverage(pub NeedCoverage);

async fn visible_activities(ctx: &Context<'_>, ids: &[i64]) -> ApiResult<Vec<Activity>> {
    let who = principal(ctx)?;
    let mut found = loaders(ctx)?
        .load_many(ids.iter().map(|id| ActivityId(*id)))
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(&ActivityId(*id)))
        .filter(|a| who.sees_activity(a.publication, &a.data.reporting_org))
        .map(Activity)
        .collect())
}

/// Who covers a need: UNMET (nobody), COVERED (one coordination group, or several one after
/// another), DUPLICATED (two or more groups at the same time). Suggestions never change the
/// state: the recipient leads.
#[Object]
impl Coverage {
    /// The state.
    async fn state(&self) -> CoverageState {
        self.0.coverage.state.into()
    }

    /// Published, active activities in the need's country that address it.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn covering_activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        visible_activities(ctx, &self.0.coverage.covering).await
    }

    /// How many coordination groups cover it (double reporting counted once).
    async fn groups(&self) -> i32 {
        i32::try_from(self.0.coverage.groups).unwrap_or(i32::MAX)
    }

    /// Every covering activity is still in the pipeline.
    async fn pipeline_only(&self) -> bool {
        self.0.coverage.pipeline_only
    }

    /// Unmet for more than 12 months since publication.
    async fn orphan(&self) -> bool {
        self.0.coverage.orphan
    }

    /// Three coordination groups or more.
    async fn crowded(&self) -> bool {
        self.0.coverage.crowded
    }

    /// Active activities in the country that could address it but do not say so (at most 20).
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn candidates(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        visible_activities(ctx, &self.0.candidates).await
    }
}

/// The coverage of a need, through the request's loader; the suggested activities are looked
/// for only when the query selects them.
pub async fn coverage_of(ctx: &Context<'_>, need_id: i64) -> ApiResult<Coverage> {
    let with_candidates = ctx.look_ahead().field("candidates").exists();
    loaders(ctx)?
        .load_one(CoverageOf(need_id, with_candidates))
        .await?
        .map(Coverage)
        .ok_or_else(|| ApiError::NotFound(format!("need {need_id}")))
}
