//! The mutation root. Each mutation validates its input in the domain, then calls one
//! repository command, which checks the caller's role and scope inside its transaction.

use super::activity::Activity;
use super::context::{principal, registry};
use super::enums::{ActivityStatus, Publication};
use super::inputs::{
    ActivityInput, NeedInput, NeedsAnalysisInput, OrganisationInput, parse_activity,
};
use super::need::{Need, NeedsAnalysis};
use super::organisation::Organisation;
use super::overlap::{OverlapFlag, ReviewStatus};
use super::records::RecordsMutation;
use crate::error::ApiResult;
use crate::ids::{self, Kind};
use aidgraph_domain::Violations;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::need::{NeedData, NeedsAnalysisData};
use aidgraph_domain::organisation::OrganisationData;
use async_graphql::{Context, ID, MergedObject, Object};

/// Changes to the registry.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(RegistryMutation, RecordsMutation);

/// Changes to organisations, activities, needs and overlap reviews.
#[derive(Default)]
pub struct RegistryMutation;

/// An identifier registered through the API keeps the IATI rules
/// ([`aidgraph_domain::activity::iati_identifier_breach`]); imported files keep theirs.
fn new_identifier(data: &ActivityData) -> ApiResult<()> {
    match aidgraph_domain::activity::iati_identifier_breach(&data.iati_identifier) {
        Some(breach) => Err(crate::error::ApiError::bad_input("iatiIdentifier", breach)),
        None => Ok(()),
    }
}

#[Object]
impl RegistryMutation {
    /// Registers an activity, as a draft unless `publish` is true. Providers may only report
    /// as their own organisation.
    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity to register.")] input: ActivityInput,
        #[graphql(desc = "Publish at once instead of keeping a draft.")] publish: Option<bool>,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let (data, need_ids) = parse_activity(input)?;
        new_identifier(&data)?;
        let record = aidgraph_registry::activities::create(
            registry(ctx)?,
            who,
            data,
            need_ids.as_deref().unwrap_or(&[]),
            publish.unwrap_or(false),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Replaces an activity's content. `expectedVersion` must match its current version.
    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] id: ID,
        #[graphql(desc = "The activity's current `version`; a stale one fails with CONFLICT.")]
        expected_version: i32,
        #[graphql(desc = "The new content; without `addressesNeeds` the need links stay.")]
        input: ActivityInput,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Activity, "id")?;
        let (data, need_ids) = parse_activity(input)?;
        let record = aidgraph_registry::activities::update(
            registry(ctx)?,
            who,
            id,
            expected_version,
            data,
            need_ids.as_deref(),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Creates or updates the activity with this IATI identifier; sending the same input twice
    /// changes nothing. For syncing systems.
    async fn upsert_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity, matched by `iatiIdentifier`; created if not registered.")]
        input: ActivityInput,
        #[graphql(desc = "Publish at once instead of keeping a draft.")] publish: Option<bool>,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let (data, need_ids) = parse_activity(input)?;
        new_identifier(&data)?;
        let (record, _) = aidgraph_registry::activities::upsert(
            registry(ctx)?,
            who,
            data,
            need_ids.as_deref(),
            publish.unwrap_or(false),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Publishes a draft activity.
    async fn publish_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] id: ID,
        #[graphql(desc = "The activity's current `version`; a stale one fails with CONFLICT.")]
        expected_version: i32,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Activity, "id")?;
        let record = aidgraph_registry::activities::set_publication(
            registry(ctx)?,
            who,
            id,
            expected_version,
            Publication::Published.into(),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Withdraws a published activity back to draft.
    async fn withdraw_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] id: ID,
        #[graphql(desc = "The activity's current `version`; a stale one fails with CONFLICT.")]
        expected_version: i32,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Activity, "id")?;
        let record = aidgraph_registry::activities::set_publication(
            registry(ctx)?,
            who,
            id,
            expected_version,
            Publication::Draft.into(),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Changes an activity's status, e.g. to CANCELLED.
    async fn set_activity_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] id: ID,
        #[graphql(desc = "The activity's current `version`; a stale one fails with CONFLICT.")]
        expected_version: i32,
        #[graphql(desc = "The new IATI status, e.g. CANCELLED.")] status: ActivityStatus,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Activity, "id")?;
        let record = aidgraph_registry::activities::set_status(
            registry(ctx)?,
            who,
            id,
            expected_version,
            status.into(),
        )
        .await?;
        Ok(Activity(record))
    }

    /// Links an activity to published needs in its recipient countries.
    async fn link_activity_to_needs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] activity_id: ID,
        #[graphql(desc = "Published needs to link (global ids) in the activity's countries.")]
        need_ids: Vec<ID>,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&activity_id, Kind::Activity, "activityId")?;
        let need_ids = ids::decode_all(&need_ids, Kind::Need, "needIds")?;
        let record = aidgraph_registry::activities::change_need_links(
            registry(ctx)?,
            who,
            id,
            &need_ids,
            true,
        )
        .await?;
        Ok(Activity(record))
    }

    /// Removes links from an activity to needs.
    async fn unlink_activity_from_needs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's global id.")] activity_id: ID,
        #[graphql(desc = "The needs to unlink (global ids).")] need_ids: Vec<ID>,
    ) -> ApiResult<Activity> {
        let who = principal(ctx)?;
        let id = ids::decode(&activity_id, Kind::Activity, "activityId")?;
        let need_ids = ids::decode_all(&need_ids, Kind::Need, "needIds")?;
        let record = aidgraph_registry::activities::change_need_links(
            registry(ctx)?,
            who,
            id,
            &need_ids,
            false,
        )
        .await?;
        Ok(Activity(record))
    }

    /// Drafts a needs analysis with its needs. Recipients for their own country;
    /// coordinators on a recipient's behalf.
    async fn create_needs_analysis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The analysis (recipient country, source, reference) and its needs.")]
        input: NeedsAnalysisInput,
    ) -> ApiResult<NeedsAnalysis> {
        let who = principal(ctx)?;
        let mut violations = Violations::default();
        let header = NeedsAnalysisData::parse(
            &input.recipient_country,
            input.source.into(),
            input.reference.as_deref(),
        )
        .map_err(|v| violations.0.extend(v.0))
        .ok();
        let mut needs_data = Vec::new();
        for (i, need) in input.needs.unwrap_or_default().into_iter().enumerate() {
            match NeedData::parse(need.into(), &format!("needs[{i}].")) {
                Ok(n) => needs_data.push(n),
                Err(v) => violations.0.extend(v.0),
            }
        }
        let header = match header {
            Some(h) if violations.is_empty() => h,
            _ => return Err(violations.into()),
        };
        let (analysis, _) =
            aidgraph_registry::needs::create_analysis(registry(ctx)?, who, header, needs_data)
                .await?;
        Ok(NeedsAnalysis(analysis))
    }

    /// Adds a need to an analysis that is not superseded.
    async fn add_need(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global id of the needs analysis to add the need to.")]
        analysis_id: ID,
        #[graphql(desc = "The need to add.")] input: NeedInput,
    ) -> ApiResult<Need> {
        let who = principal(ctx)?;
        let analysis_id = ids::decode(&analysis_id, Kind::NeedsAnalysis, "analysisId")?;
        let data = NeedData::parse(input.into(), "input.")?;
        let record =
            aidgraph_registry::needs::add_need(registry(ctx)?, who, analysis_id, data).await?;
        Ok(Need(record))
    }

    /// Replaces a need's content.
    async fn update_need(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The need's global id.")] id: ID,
        #[graphql(desc = "The need's new content, replacing the old.")] input: NeedInput,
    ) -> ApiResult<Need> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::Need, "id")?;
        let data = NeedData::parse(input.into(), "input.")?;
        let record = aidgraph_registry::needs::update_need(registry(ctx)?, who, id, data).await?;
        Ok(Need(record))
    }

    /// Publishes a draft analysis, making its needs visible to providers.
    async fn publish_needs_analysis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global id of the draft needs analysis.")] id: ID,
    ) -> ApiResult<NeedsAnalysis> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::NeedsAnalysis, "id")?;
        Ok(NeedsAnalysis(
            aidgraph_registry::needs::publish_analysis(registry(ctx)?, who, id).await?,
        ))
    }

    /// Marks a published analysis as superseded by another of the same country (published if
    /// it was a draft); returns the superseded one.
    async fn supersede_needs_analysis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global id of the published analysis being replaced.")] id: ID,
        #[graphql(desc = "The replacing analysis of the same country; published if a draft.")]
        by: ID,
    ) -> ApiResult<NeedsAnalysis> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::NeedsAnalysis, "id")?;
        let by = ids::decode(&by, Kind::NeedsAnalysis, "by")?;
        Ok(NeedsAnalysis(
            aidgraph_registry::needs::supersede_analysis(registry(ctx)?, who, id, by).await?,
        ))
    }

    /// Records a review decision on an overlap flag. Coordinators, and the providers whose
    /// activities the flag concerns.
    async fn review_overlap_flag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The overlap flag's global id.")] id: ID,
        #[graphql(desc = "The review decision; it sticks until the pair's inputs change.")]
        status: ReviewStatus,
        #[graphql(desc = "Why (at most 2,000 characters); replaces any earlier note.")]
        note: Option<String>,
    ) -> ApiResult<OverlapFlag> {
        let who = principal(ctx)?;
        let id = ids::decode(&id, Kind::OverlapFlag, "id")?;
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(crate::error::ApiError::bad_input(
                "note",
                "must have at most 2000 characters",
            ));
        }
        let record =
            aidgraph_registry::overlap::review(registry(ctx)?, who, id, status.into(), note)
                .await?;
        Ok(OverlapFlag(record))
    }

    /// Registers an organisation. Administrators only.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation to register.")] input: OrganisationInput,
    ) -> ApiResult<Organisation> {
        let who = principal(ctx)?;
        let data = OrganisationData::parse(input.into())?;
        Ok(Organisation(
            aidgraph_registry::organisations::create(registry(ctx)?, who, data).await?,
        ))
    }
}
