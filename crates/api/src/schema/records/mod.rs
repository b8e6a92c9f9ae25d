//! Coordination records over GraphQL: evaluations, missions, analytic work, contributions,
//! coordination mechanisms and exchange rates — their types, inputs, queries and mutations.

use super::activity::Activity;
use super::connection::{Conn, connection, page_request};
use super::context::{loaders, principal, registry, store};
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
    EvaluationSubmission, JointWorkData, JointWorkSubmission, MechanismData, MechanismSubmission,
};
use aidgraph_domain::vocab::JointWorkKind;
use aidgraph_persistence::rates;
use aidgraph_persistence::records::{
    self, ContributionRecord, EvaluationRecord, JointWorkRecord, LinkTarget, MechanismRecord,
};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

mod contributions;
mod evaluations;
mod exchange_rates;
mod joint_works;
mod mechanisms;
mod roots;

pub use contributions::*;
pub use evaluations::*;
pub use exchange_rates::*;
pub use joint_works::*;
pub use mechanisms::*;
pub use roots::*;

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
