//! The `NeedsAnalysis` and `Need` types.

use super::context::{loaders, principal};
use super::enums::{
    AssistanceType, InstitutionType, NeedPriority, NeedSource, NeedVisibility, NeedsAnalysisStatus,
    PriorityArea, from_domain,
};
use super::scalars::Money;
use crate::error::{ApiError, ApiResult};
use crate::ids::{Kind, encode};
use crate::loaders::{AnalysisId, NeedsOfAnalysis};
use aidgraph_persistence::needs::{AnalysisRecord, NeedRecord};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

/// Most needs scanned when filtering by coverage, which is derived.
pub(crate) const MAX_COVERAGE_SCAN: u64 = 10_000;

/// A recipient state's analysis of its needs, from a questionnaire, review or strategy.
pub struct NeedsAnalysis(pub AnalysisRecord);

/// A recipient state's analysis of its needs, from a questionnaire, review or strategy.
#[Object]
impl NeedsAnalysis {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::NeedsAnalysis, self.0.id)
    }

    /// The recipient country, ISO 3166-1 alpha-2.
    async fn recipient_country(&self) -> &str {
        &self.0.data.recipient_country
    }

    /// Where the analysis comes from.
    async fn source(&self) -> NeedSource {
        self.0.data.source.into()
    }

    /// Questionnaire cycle, report symbol or other reference.
    async fn reference(&self) -> Option<&str> {
        self.0.data.reference.as_deref()
    }

    /// Draft, published or superseded.
    async fn status(&self) -> NeedsAnalysisStatus {
        self.0.status.into()
    }

    /// When it was published.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    /// The analysis it replaced.
    async fn supersedes(&self, ctx: &Context<'_>) -> ApiResult<Option<NeedsAnalysis>> {
        let Some(id) = self.0.supersedes_id else {
            return Ok(None);
        };
        let who = principal(ctx)?;
        Ok(loaders(ctx)?
            .load_one(AnalysisId(id))
            .await?
            .filter(|a| who.sees_analysis(a.status, &a.data.recipient_country))
            .map(NeedsAnalysis))
    }

    /// Its needs that the caller may see, in the order they were added.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn needs(&self, ctx: &Context<'_>) -> ApiResult<Vec<Need>> {
        let who = principal(ctx)?;
        Ok(loaders(ctx)?
            .load_one(NeedsOfAnalysis(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|n| who.sees_need(n.analysis_status, n.data.visibility, &n.recipient_country))
            .map(Need)
            .collect())
    }

    /// Bumped by every change.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was drafted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A need a recipient state identified itself.
pub struct Need(pub NeedRecord);

/// A need a recipient state identified itself.
#[Object]
impl Need {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Need, self.0.id)
    }

    /// The analysis it belongs to.
    async fn analysis(&self, ctx: &Context<'_>) -> ApiResult<NeedsAnalysis> {
        loaders(ctx)?
            .load_one(AnalysisId(self.0.analysis_id))
            .await?
            .map(NeedsAnalysis)
            .ok_or_else(|| {
                tracing::error!(need.id = self.0.id, "need without analysis");
                ApiError::Internal
            })
    }

    /// The recipient country, ISO 3166-1 alpha-2.
    async fn recipient_country(&self) -> &str {
        &self.0.recipient_country
    }

    /// Short title.
    async fn title(&self) -> &str {
        &self.0.data.title
    }

    /// Longer description.
    async fn description(&self) -> Option<&str> {
        self.0.data.description.as_deref()
    }

    /// The priority area it falls under.
    async fn priority_area(&self) -> PriorityArea {
        self.0.data.priority_area.into()
    }

    /// The provisions it concerns, e.g. `UNTOC-18`.
    async fn provisions(&self) -> Vec<String> {
        self.0
            .data
            .provisions
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The kinds of assistance asked for.
    async fn assistance_types(&self) -> Vec<AssistanceType> {
        from_domain(&self.0.data.assistance_types)
    }

    /// The institutions that would benefit.
    async fn beneficiary_institutions(&self) -> Vec<InstitutionType> {
        from_domain(&self.0.data.beneficiary_institutions)
    }

    /// The recipient's ranking.
    async fn priority(&self) -> NeedPriority {
        self.0.data.priority.into()
    }

    /// Estimated cost of meeting it.
    async fn estimated_cost(&self) -> Option<Money> {
        self.0.data.estimated_cost.as_ref().map(Money::from)
    }

    /// Who may see it.
    async fn visibility(&self) -> NeedVisibility {
        self.0.data.visibility.into()
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who covers it, and whether providers duplicate each other on it.
    async fn coverage(&self, ctx: &Context<'_>) -> ApiResult<super::overlap::Coverage> {
        super::overlap::coverage_of(ctx, self.0.id).await
    }

    /// The coordination mechanisms that coordinate this need.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn coordinated_by(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::records::CoordinationMechanism>> {
        let target = aidgraph_persistence::records::LinkTarget::Need;
        Ok(loaders(ctx)?
            .load_one(crate::loaders::MechanismsOf(target, self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(super::records::CoordinationMechanism)
            .collect())
    }
}
