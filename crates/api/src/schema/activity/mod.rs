//! The `Activity` type and its parts.

use super::connection::{Conn, connection, page_request};
use super::context::{loaders, principal};
use super::enums::{
    ActivityStatus, AssistanceType, InstitutionType, OrgRole, PriorityArea, Publication,
    RelatedActivityType, from_domain,
};
use super::need::Need;
use super::organisation::Organisation;
use super::scalars::Date;
use super::scalars::{Decimal, Money};
use crate::error::{ApiError, ApiResult};
use crate::ids::{Kind, encode};
use crate::loaders::{
    ActivityIdentifier, EvaluationsOf, FlagsOf, MechanismsOf, NeedId, NeedsOfActivity, OrgId,
    OrgRef,
};
use aidgraph_domain::codes::{COUNTRY, REGION, SECTOR, SECTOR_CATEGORY};
use aidgraph_persistence::activities::{ActivityFilter as QueryFilter, ActivityRecord};
use aidgraph_persistence::overlap::FlagRecord;
use aidgraph_persistence::{Cursor, Page};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

mod parts;

pub use parts::*;

/// What a provider does: where, on what, when, with whom and with how much money.
pub struct Activity(pub ActivityRecord);

/// What a provider does: where, on what, when, with whom and with how much money.
#[Object]
impl Activity {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Activity, self.0.id)
    }

    /// Globally unique IATI activity identifier.
    async fn iati_identifier(&self) -> &str {
        &self.0.data.iati_identifier
    }

    /// The title in `lang` (ISO 639-1), else English, else the first given.
    async fn title(
        &self,
        #[graphql(desc = "The language wanted (ISO 639-1); else English, else the first.")]
        lang: Option<String>,
    ) -> &str {
        self.0.data.title(lang.as_deref())
    }

    /// Every title, with its language.
    async fn titles(&self) -> Vec<Narrative> {
        narratives(&self.0.data.titles)
    }

    /// The description in `lang`, else English, else the first given.
    async fn description(
        &self,
        #[graphql(desc = "The language wanted (ISO 639-1); else English, else the first.")]
        lang: Option<String>,
    ) -> Option<&str> {
        self.0.data.description(lang.as_deref())
    }

    /// Every description, with its language.
    async fn descriptions(&self) -> Vec<Narrative> {
        narratives(&self.0.data.descriptions)
    }

    /// Objectives, target groups and other descriptions beside the general one, as
    /// imported from IATI.
    async fn other_descriptions(&self) -> Vec<TypedDescription> {
        self.0
            .data
            .iati
            .other_descriptions
            .iter()
            .map(|d| TypedDescription {
                kind: match d.kind.as_str() {
                    "1" => DescriptionKind::General,
                    "2" => DescriptionKind::Objectives,
                    "3" => DescriptionKind::TargetGroups,
                    _ => DescriptionKind::Other,
                },
                narratives: narratives(&d.narratives),
            })
            .collect()
    }

    /// The organisation that reports the activity.
    async fn reporting_org(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        loaders(ctx)?
            .load_one(OrgId(self.0.reporting_org_id))
            .await?
            .map(Organisation)
            .ok_or_else(|| {
                tracing::error!(activity.id = self.0.id, "reporting organisation is missing");
                ApiError::Internal
            })
    }

    /// Organisations taking part, with their IATI roles.
    async fn participating_orgs(&self) -> Vec<ParticipatingOrg> {
        self.0
            .data
            .participating_orgs
            .iter()
            .map(|p| ParticipatingOrg {
                org_ref: p.org_ref.clone(),
                role: p.role.into(),
                activity_id: p.activity_id.clone(),
            })
            .collect()
    }

    /// Organisations taking part that were named without an identifier (imported from IATI),
    /// with their IATI roles.
    async fn named_participants(&self) -> Vec<NamedParticipant> {
        self.0
            .data
            .iati
            .named_participants
            .iter()
            .map(|p| NamedParticipant {
                names: narratives(&p.names),
                role: p.role.into(),
                iati_type: p.org_type.clone(),
                activity_id: p.activity_id.clone(),
            })
            .collect()
    }

    /// Recipient countries and their shares.
    async fn recipient_countries(&self) -> Vec<CountryShare> {
        self.0
            .data
            .recipient_countries
            .iter()
            .map(|c| CountryShare {
                code: c.code.clone(),
                name: COUNTRY.name_of(&c.code).unwrap_or_default().to_owned(),
                percentage: c.percentage.map(Decimal),
            })
            .collect()
    }

    /// Recipient regions and their shares.
    async fn recipient_regions(&self) -> Vec<RegionShare> {
        self.0
            .data
            .recipient_regions
            .iter()
            .map(|r| RegionShare {
                code: r.code.clone(),
                name: REGION.name_of(&r.code).unwrap_or_default().to_owned(),
                percentage: r.percentage.map(Decimal),
            })
            .collect()
    }

    /// Sectors and their shares.
    async fn sectors(&self) -> Vec<SectorShare> {
        self.0
            .data
            .sectors
            .iter()
            .map(|s| {
                let name = match s.vocabulary.as_str() {
                    "1" => SECTOR.name_of(&s.code),
                    "2" => SECTOR_CATEGORY.name_of(&s.code),
                    _ => None,
                };
                SectorShare {
                    code: s.code.clone(),
                    name: name.unwrap_or_default().to_owned(),
                    vocabulary: s.vocabulary.clone(),
                    percentage: s.percentage.map(Decimal),
                }
            })
            .collect()
    }

    /// UNTOC priority areas.
    async fn priority_areas(&self) -> Vec<PriorityArea> {
        from_domain(&self.0.data.priority_areas)
    }

    /// UNTOC provisions, e.g. `UNTOC-18`.
    async fn provisions(&self) -> Vec<String> {
        self.0
            .data
            .provisions
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Kinds of assistance.
    async fn assistance_types(&self) -> Vec<AssistanceType> {
        from_domain(&self.0.data.assistance_types)
    }

    /// Institutions that benefit.
    async fn beneficiary_institutions(&self) -> Vec<InstitutionType> {
        from_domain(&self.0.data.beneficiary_institutions)
    }

    /// IATI status.
    async fn status(&self) -> ActivityStatus {
        self.0.data.status.into()
    }

    /// Planned start.
    async fn planned_start(&self) -> Option<Date> {
        self.0.data.planned_start.map(Date)
    }

    /// Planned end.
    async fn planned_end(&self) -> Option<Date> {
        self.0.data.planned_end.map(Date)
    }

    /// Actual start.
    async fn actual_start(&self) -> Option<Date> {
        self.0.data.actual_start.map(Date)
    }

    /// Actual end.
    async fn actual_end(&self) -> Option<Date> {
        self.0.data.actual_end.map(Date)
    }

    /// Total budget.
    async fn budget(&self) -> Option<Money> {
        self.0.data.budget.as_ref().map(Money::from)
    }

    /// Transactions.
    async fn transactions(&self) -> Vec<Transaction> {
        self.0
            .data
            .transactions
            .iter()
            .map(|t| Transaction {
                kind: t.kind.clone(),
                date: Date(t.date),
                value: Money::from(&t.value),
                provider_activity_id: t.provider_activity_id.clone(),
                receiver_activity_id: t.receiver_activity_id.clone(),
            })
            .collect()
    }

    /// Related activities by IATI identifier.
    async fn related_activities(&self) -> Vec<RelatedActivity> {
        self.0
            .data
            .related_activities
            .iter()
            .map(|r| RelatedActivity {
                iati_identifier: r.iati_identifier.clone(),
                kind: r.kind.into(),
            })
            .collect()
    }

    /// Other identifiers of the same activity.
    async fn external_ids(&self) -> &[String] {
        &self.0.data.external_ids
    }

    /// The published needs it addresses that the caller may see.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn addresses_needs(&self, ctx: &Context<'_>) -> ApiResult<Vec<Need>> {
        let who = principal(ctx)?;
        let loaders = loaders(ctx)?;
        let ids = loaders
            .load_one(NeedsOfActivity(self.0.id))
            .await?
            .unwrap_or_default();
        let mut found = loaders.load_many(ids.iter().map(|id| NeedId(*id))).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(&NeedId(*id)))
            .filter(|n| who.sees_need(n.analysis_status, n.data.visibility, &n.recipient_country))
            .map(Need)
            .collect())
    }

    /// Why it addresses no published need, when the provider says so.
    async fn no_need_link_reason(&self) -> Option<&str> {
        self.0.data.no_need_link_reason.as_deref()
    }

    /// Paris Declaration flags.
    async fn paris(&self) -> ParisFlags {
        let p = &self.0.data.paris;
        ParisFlags {
            on_budget: p.on_budget,
            uses_country_pfm: p.uses_country_pfm,
            uses_country_procurement: p.uses_country_procurement,
            parallel_piu: p.parallel_piu,
            tied_status: p.tied_status.clone(),
            programme_based: p.programme_based,
        }
    }

    /// DRAFT (owner and coordinators only) or PUBLISHED.
    async fn publication(&self) -> Publication {
        self.0.publication.into()
    }

    /// Bumped by every change; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Disbursements scheduled per period.
    async fn planned_disbursements(&self) -> Vec<PlannedDisbursement> {
        self.0
            .data
            .iati
            .planned_disbursements
            .iter()
            .map(|p| PlannedDisbursement {
                period_start: p.period_start.into(),
                period_end: p.period_end.into(),
                value: (&p.value).into(),
            })
            .collect()
    }

    /// Evaluations of this activity that the caller may see, newest first.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn evaluations(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::records::Evaluation>> {
        Ok(loaders(ctx)?
            .load_one(EvaluationsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(super::records::Evaluation)
            .collect())
    }

    /// Lessons: evaluations of other activities that share a provision with this one, newest
    /// first.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn lessons(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::records::Evaluation>> {
        super::records::lessons_for(ctx, &self.0.data, Some(self.0.id)).await
    }

    /// The coordination mechanisms that coordinate this activity.
    #[graphql(complexity = "super::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn coordinated_by(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::records::CoordinationMechanism>> {
        let target = aidgraph_persistence::records::LinkTarget::Activity;
        Ok(loaders(ctx)?
            .load_one(MechanismsOf(target, self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(super::records::CoordinationMechanism)
            .collect())
    }

    /// Overlap flags on this activity, highest score first (then oldest first).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn overlaps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which of its overlap flags to return; every given field must match.")]
        filter: Option<super::overlap::OverlapFlagFilter>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start (`endCursor` of the previous page).")]
        after: Option<String>,
    ) -> ApiResult<Conn<super::overlap::OverlapFlag>> {
        let page = page_request(ctx, first, after)?;
        let filter = filter.unwrap_or_default().into_query()?;
        let key = FlagsOf {
            activity: self.0.id,
            filter,
            page,
        };
        let flags = loaders(ctx)?.load_one(key.clone()).await?;
        let flags = flags.unwrap_or_else(|| {
            Page::from_rows(Vec::new(), &key.page, 0, |_: &FlagRecord| Cursor {
                key: String::new(),
                id: 0,
            })
        });
        Ok(connection(flags, super::overlap::OverlapFlag))
    }
}

/// Filters for activity lists; all given filters must match.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Lists this recipient country (ISO 3166-1 alpha-2).
    pub recipient_country: Option<String>,
    /// Lists this recipient region (IATI Region code, e.g. `298` Africa, regional).
    pub recipient_region: Option<String>,
    /// Lists this sector code (e.g. DAC `15130`).
    pub sector: Option<String>,
    /// Lists this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Lists this provision, e.g. `UNTOC-18`.
    pub provision: Option<String>,
    /// Has one of these statuses.
    pub status: Option<Vec<ActivityStatus>>,
    /// Reported by, or run with, this organisation (reference).
    pub provider: Option<String>,
    /// Runs on this day (effective window).
    pub active_on: Option<Date>,
    /// Runs on or after this day.
    pub from: Option<Date>,
    /// Runs on or before this day.
    pub to: Option<Date>,
    /// Title or description contains this text.
    pub text: Option<String>,
    /// Draft or published.
    pub publication: Option<Publication>,
}

impl ActivityFilter {
    /// Checks the filter and turns it into a repository query.
    pub fn into_query(self) -> ApiResult<QueryFilter> {
        let provision = match self.provision {
            Some(p) => Some(
                aidgraph_domain::provision::Provision::parse(&p)
                    .map_err(|m| ApiError::bad_input("filter.provision", m))?
                    .to_string(),
            ),
            None => None,
        };
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to.0 < from.0
        {
            return Err(ApiError::bad_input("filter.to", "is before filter.from"));
        }
        Ok(QueryFilter {
            recipient_country: self.recipient_country,
            recipient_region: self.recipient_region,
            sector: self.sector,
            priority_area: self.priority_area.map(|p| {
                aidgraph_domain::vocab::PriorityArea::from(p)
                    .as_str()
                    .to_owned()
            }),
            provision,
            status: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            provider: self.provider,
            active_on: self.active_on.map(|d| d.0),
            from: self.from.map(|d| d.0),
            to: self.to.map(|d| d.0),
            text: self.text,
            publication: self.publication.map(Into::into),
        })
    }
}
