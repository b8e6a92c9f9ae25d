//! The records part of the query and mutation roots.

use super::*;

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
            EvaluationSubmission {
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
        let record =
            aidgraph_registry::records::record_evaluation(registry(ctx)?, who, &activity_ids, data)
                .await?;
        Ok(Evaluation(record))
    }

    /// Records a mission (coordinators).
    async fn record_mission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mission to record.")] input: MissionInput,
    ) -> ApiResult<Mission> {
        let who = principal(ctx)?;
        let data = JointWorkData::parse(JointWorkSubmission {
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
            aidgraph_registry::records::record_joint_work(registry(ctx)?, who, data).await?,
        ))
    }

    /// Records country analytic work (coordinators).
    async fn record_analytic_work(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The analytic work to record.")] input: AnalyticWorkInput,
    ) -> ApiResult<AnalyticWork> {
        let who = principal(ctx)?;
        let data = JointWorkData::parse(JointWorkSubmission {
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
            aidgraph_registry::records::record_joint_work(registry(ctx)?, who, data).await?,
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
            aidgraph_registry::records::record_contribution(registry(ctx)?, who, data).await?,
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
        let data = MechanismData::parse(MechanismSubmission {
            name: input.name,
            level: input.level.into(),
            countries: input.countries.unwrap_or_default(),
            members: input.members.unwrap_or_default(),
            chair: input.chair,
            description: input.description,
        })?;
        Ok(CoordinationMechanism(
            aidgraph_registry::records::create_mechanism(registry(ctx)?, who, data).await?,
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
        let loaded = aidgraph_registry::rates::load(registry(ctx)?, who, &rows).await?;
        Ok(ExchangeRateLoad {
            loaded: loaded as u64,
        })
    }
}

pub(super) async fn change_links(
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
    let record = aidgraph_registry::records::change_links(
        registry(ctx)?,
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
