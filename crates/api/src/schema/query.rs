//! The query root.

use super::activity::{Activity, ActivityFilter};
use super::analytics::AnalyticsQuery;
use super::connection::{Conn, connection, page_request};
use super::context::{loaders, principal, registry, store};
use super::enums::{
    ActivityOrder, NeedPriority, NeedSource, NeedsAnalysisStatus, OrganisationKind, PriorityArea,
    Role,
};
use super::inputs::ActivityInput;
use super::need::{Need, NeedsAnalysis};
use super::organisation::Organisation;
use super::overlap::{
    CoverageState, OverlapCheck, OverlapComponent, OverlapFlag, OverlapFlagFilter, PlannedOverlap,
};
use super::records::{
    AnalyticWork, Contribution, CoordinationMechanism, Evaluation, Mission, RecordsQuery,
};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, Kind};
use crate::loaders::OrgRef;
use aidgraph_domain::vocab::JointWorkKind;
use aidgraph_persistence::records;
use aidgraph_persistence::{Cursor, Page, PageRequest};
use aidgraph_persistence::{activities, needs, organisations, overlap};

use async_graphql::{Context, ID, InputObject, Interface, MergedObject, Object};

/// Anything with a global id.
#[derive(Interface)]
#[expect(
    clippy::large_enum_variant,
    reason = "a node is built once per `node` query and returned at once"
)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id."))]
pub enum Node {
    /// An organisation.
    Organisation(Organisation),
    /// An activity.
    Activity(Activity),
    /// A needs analysis.
    NeedsAnalysis(NeedsAnalysis),
    /// A need.
    Need(Need),
    /// An overlap flag.
    OverlapFlag(OverlapFlag),
    /// An evaluation.
    Evaluation(Evaluation),
    /// A mission.
    Mission(Mission),
    /// Analytic work.
    AnalyticWork(AnalyticWork),
    /// A contribution.
    Contribution(Contribution),
    /// A coordination mechanism.
    CoordinationMechanism(CoordinationMechanism),
}

/// The caller, as the token says.
pub struct Viewer {
    principal: aidgraph_domain::access::Principal,
}

/// The caller, as the token says.
#[Object]
impl Viewer {
    /// The token's subject.
    async fn subject(&self) -> &str {
        &self.principal.subject
    }

    /// The caller's role.
    async fn role(&self) -> Role {
        self.principal.role.into()
    }

    /// A provider's organisation, when registered.
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(org) = &self.principal.org else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .load_one(OrgRef(org.clone()))
            .await?
            .map(Organisation))
    }

    /// A recipient's country.
    async fn country(&self) -> Option<&str> {
        self.principal.country.as_deref()
    }
}

/// Filters for organisation lists.
#[derive(InputObject, Debug, Clone, Default)]
pub struct OrganisationFilter {
    /// Only this kind.
    pub kind: Option<OrganisationKind>,
    /// Only based in this country.
    pub country: Option<String>,
    /// Name or reference contains this text.
    pub text: Option<String>,
}

/// Filters for needs analysis lists.
#[derive(InputObject, Debug, Clone, Default)]
pub struct NeedsAnalysisFilter {
    /// Only for this country.
    pub recipient_country: Option<String>,
    /// Only in these states.
    pub status: Option<Vec<NeedsAnalysisStatus>>,
    /// Only from this source.
    pub source: Option<NeedSource>,
}

/// Filters for need lists.
#[derive(InputObject, Debug, Clone, Default)]
pub struct NeedFilter {
    /// Only in this country.
    pub recipient_country: Option<String>,
    /// Only under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Only concerning this provision, e.g. `UNTOC-18`.
    pub provision: Option<String>,
    /// Only of this priority.
    pub priority: Option<NeedPriority>,
    /// Only in analyses in these states.
    pub analysis_status: Option<Vec<NeedsAnalysisStatus>>,
    /// Only needs in these coverage states.
    pub coverage: Option<Vec<CoverageState>>,
}

/// Read access to the registry; what each caller sees follows its role.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(RegistryQuery, RecordsQuery, AnalyticsQuery);

/// Reads of organisations, activities, needs and overlap flags.
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// Any record by global id.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id of any kind; an unknown or malformed one gives null.")]
        id: ID,
    ) -> ApiResult<Option<Node>> {
        let who = principal(ctx)?;
        let db = store(ctx)?.db();
        let Some((kind, n)) = ids::decode_any(&id) else {
            return Ok(None);
        };
        Ok(match kind {
            Kind::Organisation => organisations::by_ids(db, &[n])
                .await?
                .remove(&n)
                .map(|o| Node::Organisation(Organisation(o))),
            Kind::Activity => activities::get(db, who, n)
                .await?
                .map(|a| Node::Activity(Activity(a))),
            Kind::NeedsAnalysis => needs::get_analysis(db, who, n)
                .await?
                .map(|a| Node::NeedsAnalysis(NeedsAnalysis(a))),
            Kind::Need => needs::get_need(db, who, n)
                .await?
                .map(|x| Node::Need(Need(x))),
            Kind::OverlapFlag => overlap::by_ids(db, &[n])
                .await?
                .remove(&n)
                .map(|f| Node::OverlapFlag(OverlapFlag(f))),
            Kind::Evaluation => records::get_evaluation(db, who, n)
                .await?
                .map(|e| Node::Evaluation(Evaluation(e))),
            Kind::Mission => records::joint_work_by_id(db, JointWorkKind::Mission, n)
                .await?
                .map(|m| Node::Mission(Mission(m))),
            Kind::AnalyticWork => records::joint_work_by_id(db, JointWorkKind::AnalyticWork, n)
                .await?
                .map(|m| Node::AnalyticWork(AnalyticWork(m))),
            Kind::Contribution => records::contribution_by_id(db, n)
                .await?
                .map(|c| Node::Contribution(Contribution(c))),
            Kind::CoordinationMechanism => records::mechanism_by_id(db, n)
                .await?
                .map(|m| Node::CoordinationMechanism(CoordinationMechanism(m))),
        })
    }

    /// The caller.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        Ok(Viewer {
            principal: principal(ctx)?.clone(),
        })
    }

    /// An organisation by IATI reference.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            name = "ref",
            desc = "The IATI organisation identifier, e.g. `GB-GOV-1`."
        )]
        org_ref: String,
    ) -> ApiResult<Option<Organisation>> {
        principal(ctx)?;
        Ok(organisations::by_ref(store(ctx)?.db(), org_ref.trim())
            .await?
            .map(Organisation))
    }

    /// Organisations, by registration order.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which organisations to return; every given field must match.")]
        filter: Option<OrganisationFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Organisation>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default();
        let query = organisations::OrganisationFilter {
            kind: filter.kind.map(Into::into),
            country: filter.country,
            text: filter.text,
        };
        let found = organisations::list(store(ctx)?.db(), &query, &page).await?;
        Ok(connection(found, Organisation))
    }

    /// An activity by global id or IATI identifier (give one).
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id; give this or `iatiIdentifier`.")] id: Option<
            ID,
        >,
        #[graphql(desc = "The activity's IATI identifier; give this or `id`.")]
        iati_identifier: Option<String>,
    ) -> ApiResult<Option<Activity>> {
        let who = principal(ctx)?;
        let db = store(ctx)?.db();
        let found = match (id, iati_identifier) {
            (Some(id), None) => {
                activities::get(db, who, ids::decode(&id, Kind::Activity, "id")?).await?
            }
            (None, Some(identifier)) => activities::by_identifier(db, who, &identifier).await?,
            _ => {
                return Err(ApiError::bad_input(
                    "id",
                    "give either id or iatiIdentifier, not both or neither",
                ));
            }
        };
        Ok(found.map(Activity))
    }

    /// Activities the caller may see, filtered and ordered.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which activities to return; every given field must match.")]
        filter: Option<ActivityFilter>,
        #[graphql(desc = "How to order the activities (default CREATED_ASC).")] order_by: Option<
            ActivityOrder,
        >,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Activity>> {
        let who = principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into_query()?;
        let order = order_by.unwrap_or_default().into();
        let found = activities::list(store(ctx)?.db(), who, &filter, order, &page).await?;
        Ok(connection(found, Activity))
    }

    /// A needs analysis by global id.
    async fn needs_analysis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The needs analysis's global id.")] id: ID,
    ) -> ApiResult<Option<NeedsAnalysis>> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::NeedsAnalysis, "id")?;
        Ok(needs::get_analysis(store(ctx)?.db(), who, id)
            .await?
            .map(NeedsAnalysis))
    }

    /// Needs analyses the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn needs_analyses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which needs analyses to return; every given field must match.")]
        filter: Option<NeedsAnalysisFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<NeedsAnalysis>> {
        let who = principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default();
        let query = needs::AnalysisFilter {
            recipient_country: filter.recipient_country,
            status: filter
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            source: filter.source.map(Into::into),
        };
        let found = needs::list_analyses(store(ctx)?.db(), who, &query, &page).await?;
        Ok(connection(found, NeedsAnalysis))
    }

    /// A need by global id.
    async fn need(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The need's global id.")] id: ID,
    ) -> ApiResult<Option<Need>> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Need, "id")?;
        Ok(needs::get_need(store(ctx)?.db(), who, id).await?.map(Need))
    }

    /// Needs the caller may see.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which needs to return; every given field must match.")] filter: Option<
            NeedFilter,
        >,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Need>> {
        let who = principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default();
        let provision = match filter.provision {
            Some(p) => Some(
                aidgraph_domain::provision::Provision::parse(&p)
                    .map_err(|m| ApiError::bad_input("filter.provision", m))?
                    .to_string(),
            ),
            None => None,
        };
        let query = needs::NeedFilter {
            recipient_country: filter.recipient_country,
            priority_area: filter.priority_area.map(Into::into),
            provision,
            priority: filter.priority.map(Into::into),
            analysis_id: None,
            analysis_status: filter
                .analysis_status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let db = store(ctx)?.db();
        let Some(states) = filter.coverage.filter(|s| !s.is_empty()) else {
            let found = needs::list_needs(db, who, &query, &page).await?;
            return Ok(connection(found, Need));
        };
        // Coverage is derived, so the coverage filter applies after the others.
        let all = PageRequest {
            first: super::need::MAX_COVERAGE_SCAN,
            after: None,
            count: false,
        };
        let candidates = needs::list_needs(db, who, &query, &all).await?;
        let computed = loaders(ctx)?
            .load_many(
                candidates
                    .items
                    .iter()
                    .map(|(_, n)| crate::loaders::CoverageOf(n.id, false)),
            )
            .await?;
        let wanted: Vec<aidgraph_domain::overlap::coverage::CoverageState> =
            states.into_iter().map(Into::into).collect();
        let matching: Vec<needs::NeedRecord> = candidates
            .items
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| {
                computed
                    .get(&crate::loaders::CoverageOf(n.id, false))
                    .is_some_and(|c| wanted.contains(&c.coverage.state))
            })
            .collect();
        let total = matching.len() as u64;
        let after = page.after.as_ref().map(|c| c.id).unwrap_or(i64::MIN);
        let rows: Vec<needs::NeedRecord> = matching.into_iter().filter(|n| n.id > after).collect();
        let found = Page::from_rows(rows, &page, total, |n| Cursor {
            key: String::new(),
            id: n.id,
        });
        Ok(connection(found, Need))
    }

    /// Overlap flags, highest score first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn overlap_flags(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which overlap flags to return; every given field must match.")]
        filter: Option<OverlapFlagFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<OverlapFlag>> {
        principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into_query()?;
        let found = overlap::list(store(ctx)?.db(), &filter, &page).await?;
        Ok(connection(found, OverlapFlag))
    }

    /// A dry run for a planned activity: the flags registering and publishing it would raise,
    /// and the published needs in its countries it could address. Nothing is stored.
    async fn check_overlap(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The planned activity, as it would be registered; nothing is stored.")]
        input: ActivityInput,
    ) -> ApiResult<OverlapCheck> {
        // Any signed-in caller may ask; what it is shown depends on who asks.
        principal(ctx)?;
        let (data, need_ids) = super::inputs::parse_activity(input)?;
        let registry = registry(ctx)?;
        // Reasons cost more than scores: built only when the query selects them.
        let reasons = ctx.look_ahead().field("flags").field("components").exists();
        let flags = aidgraph_registry::overlap::dry_run(
            registry.store().db(),
            registry.engine(),
            &data,
            need_ids.as_deref().unwrap_or(&[]),
            reasons,
        )
        .await?
        .into_iter()
        .map(|p| PlannedOverlap {
            components: p
                .components
                .iter()
                .map(|c| OverlapComponent {
                    key: c.key.to_owned(),
                    value: (c.value * 1e6).round() / 1e6,
                    weight: c.weight,
                    reason: c.reason.clone(),
                })
                .collect(),
            score: p.score,
            class: p.class,
            activity_id: p.activity_id,
        })
        .collect();
        Ok(OverlapCheck {
            flags,
            planned: data,
        })
    }
}
