//! The `Organisation` type.

use super::activity::{Activity, ActivityFilter};
use super::connection::{Conn, connection, page_request};
use super::context::{principal, store};
use super::enums::{ActivityOrder, OrganisationKind};
use crate::error::ApiResult;
use crate::ids::{Kind, encode};
use aidgraph_persistence::activities;
use aidgraph_persistence::organisations::OrganisationRecord;
use async_graphql::{Context, ID, Object};

/// A provider, recipient or other body named in activities.
pub struct Organisation(pub OrganisationRecord);

/// A provider, recipient or other body named in activities.
#[Object]
impl Organisation {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Organisation, self.0.id)
    }

    /// IATI organisation identifier, e.g. `GB-GOV-1`.
    #[graphql(name = "ref")]
    async fn org_ref(&self) -> &str {
        &self.0.data.org_ref
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.data.name
    }

    /// What kind of body it is.
    async fn kind(&self) -> OrganisationKind {
        self.0.data.kind.into()
    }

    /// IATI OrganisationType code, e.g. `10` (government).
    async fn iati_type(&self) -> Option<&str> {
        self.0.data.iati_type.as_deref()
    }

    /// Country, ISO 3166-1 alpha-2.
    async fn country(&self) -> Option<&str> {
        self.0.data.country.as_deref()
    }

    /// Activities it reports or takes part in, as far as the caller may see them.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which of its activities to return; a `provider` given is ignored.")]
        filter: Option<ActivityFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<Activity>> {
        let who = principal(ctx)?;
        let page = page_request(ctx, first, after)?;
        let mut filter = filter.unwrap_or_default().into_query()?;
        filter.provider = Some(self.0.data.org_ref.clone());
        let found = activities::list(
            store(ctx)?.db(),
            who,
            &filter,
            ActivityOrder::default().into(),
            &page,
        )
        .await?;
        Ok(connection(found, Activity))
    }
}
