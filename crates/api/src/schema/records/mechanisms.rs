//! Coordination mechanisms.

use super::*;

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
    #[graphql(complexity = "crate::schema::connection::UNPAGED_LIST_COST * child_complexity")]
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
    #[graphql(complexity = "crate::schema::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        let ids = records::linked_ids(store(ctx)?.db(), self.0.id, LinkTarget::Activity).await?;
        visible_activities(ctx, &ids).await
    }

    /// The needs it coordinates that the caller may see.
    #[graphql(complexity = "crate::schema::connection::UNPAGED_LIST_COST * child_complexity")]
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
