//! Activities: registering, changing, publishing and finding them.
//!
//! The validated [`ActivityData`] is stored whole as JSON in `activities.document`; the parts
//! that lists filter on (countries, sectors, tags, participants, related identifiers, need
//! links) are kept in child tables, rewritten with the document in one transaction.

use crate::audit::{self, AuditEvent};
use crate::entities::{
    activity, activity_country, activity_need, activity_participant, activity_related,
    activity_sector, activity_tag, need, needs_analysis,
};
use crate::error::{OnUnique, StoreError};
use crate::events::{self, Topic};
use crate::feature_cache::FeatureCache;
use crate::organisations::{self, escape_like, lower_like};
use crate::overlap;
use crate::page::{Cursor, Page, PageRequest};
use crate::store::Store;
use aidgraph_domain::Violations;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::vocab::{ActivityStatus, NeedsAnalysisStatus, Publication};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::{HashMap, HashSet};

/// Sort key for activities without any start date: after every real date.
const NO_START_KEY: &str = "9999-12-31";

/// A stored activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    /// Row id.
    pub id: i64,
    /// The reporting organisation's row id.
    pub reporting_org_id: i64,
    /// Draft or published.
    pub publication: Publication,
    /// Bumped by every change; clients pass it back as `expectedVersion`.
    pub version: i32,
    /// Its validated content.
    pub data: ActivityData,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ActivityRecord {
    fn from_model(m: activity::Model) -> Result<Self, StoreError> {
        let publication: Publication = m
            .publication
            .parse()
            .map_err(|e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string()))?;
        Ok(ActivityRecord {
            id: m.id,
            reporting_org_id: m.reporting_org_id,
            publication,
            version: m.version,
            data: serde_json::from_str(&m.document)?,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// The next page of published activities after row id `after`, in id order: for tools that
/// walk the whole registry (recompute, cache warming, corpus rebuild).
pub async fn published_after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
        .filter(activity::Column::Id.gt(after))
        .order_by_asc(activity::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(ActivityRecord::from_model)
        .collect()
}

/// Reads a stored row back into a record.
pub fn record_from_model(m: activity::Model) -> Result<ActivityRecord, StoreError> {
    ActivityRecord::from_model(m)
}

/// Writes coverage events for needs whose covering activities may have changed.
pub(crate) async fn coverage_events(
    conn: &impl ConnectionTrait,
    need_ids: &[i64],
    provider: &str,
) -> Result<(), StoreError> {
    if need_ids.is_empty() {
        return Ok(());
    }
    let needs = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.iter().copied()))
        .all(conn)
        .await?;
    for n in needs {
        events::record(
            conn,
            Topic::Coverage,
            std::slice::from_ref(&n.recipient_country),
            &[provider],
            n.id,
        )
        .await?;
    }
    Ok(())
}

/// Filters for listing activities; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Lists this recipient country.
    pub recipient_country: Option<String>,
    /// Lists this sector code (any vocabulary).
    pub sector: Option<String>,
    /// Lists this priority area.
    pub priority_area: Option<String>,
    /// Lists this provision, e.g. `UNTOC-18`.
    pub provision: Option<String>,
    /// Has one of these statuses.
    pub status: Vec<ActivityStatus>,
    /// Reported by, or run with, this organisation (reference).
    pub provider: Option<String>,
    /// Its effective window contains this day.
    pub active_on: Option<NaiveDate>,
    /// Its effective window ends on or after this day.
    pub from: Option<NaiveDate>,
    /// Its effective window starts on or before this day.
    pub to: Option<NaiveDate>,
    /// Title or description contains this text (case-insensitive).
    pub text: Option<String>,
    /// Draft or published.
    pub publication: Option<Publication>,
}

/// The orders activities can be listed in; ties break on id, so pages are stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ActivityOrder {
    /// Oldest first.
    #[default]
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Earliest planned (or actual) start first; undated last.
    PlannedStartAsc,
    /// Latest planned (or actual) start first; undated first.
    PlannedStartDesc,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new activity was registered.
    Created,
    /// An existing activity was changed.
    Updated,
    /// The stored activity already matched; nothing was written.
    Unchanged,
}

fn start_key(data: &ActivityData) -> String {
    data.planned_start
        .or(data.actual_start)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| NO_START_KEY.to_owned())
}

/// Finds an activity by id, if the caller may see it.
pub async fn get(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<Option<ActivityRecord>, StoreError> {
    let Some(model) = activity::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    visible(conn, who, ActivityRecord::from_model(model)?).await
}

/// Finds an activity by IATI identifier, if the caller may see it.
pub async fn by_identifier(
    conn: &impl ConnectionTrait,
    who: &Principal,
    iati_identifier: &str,
) -> Result<Option<ActivityRecord>, StoreError> {
    let Some(model) = activity::Entity::find()
        .filter(activity::Column::IatiIdentifier.eq(iati_identifier.trim()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    visible(conn, who, ActivityRecord::from_model(model)?).await
}

async fn visible(
    conn: &impl ConnectionTrait,
    who: &Principal,
    record: ActivityRecord,
) -> Result<Option<ActivityRecord>, StoreError> {
    Ok(sees(conn, who, &record).await?.then_some(record))
}

pub(crate) async fn sees(
    conn: &impl ConnectionTrait,
    who: &Principal,
    record: &ActivityRecord,
) -> Result<bool, StoreError> {
    if record.publication == Publication::Published || who.reads_everything() {
        return Ok(true);
    }
    Ok(
        who.sees_activity(record.publication, &record.data.reporting_org)
            && own_org_id(conn, who).await? == Some(record.reporting_org_id),
    )
}

pub(crate) async fn own_org_id(
    conn: &impl ConnectionTrait,
    who: &Principal,
) -> Result<Option<i64>, StoreError> {
    match &who.org {
        Some(org_ref) => Ok(organisations::by_ref(conn, org_ref).await?.map(|o| o.id)),
        None => Ok(None),
    }
}

/// Loads activities by id without visibility checks, for loaders that check per record.
pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(activity::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| ActivityRecord::from_model(m).map(|r| (r.id, r)))
        .collect()
}

/// Loads activities by IATI identifier without visibility checks, for loaders.
pub async fn by_identifiers(
    conn: &impl ConnectionTrait,
    identifiers: &[String],
) -> Result<HashMap<String, ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(activity::Column::IatiIdentifier.is_in(identifiers.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| ActivityRecord::from_model(m).map(|r| (r.data.iati_identifier.clone(), r)))
        .collect()
}

/// The needs each activity addresses, by activity id, for loaders.
pub async fn need_ids_of(
    conn: &impl ConnectionTrait,
    activity_ids: &[i64],
) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let rows = activity_need::Entity::find()
        .filter(activity_need::Column::ActivityId.is_in(activity_ids.iter().copied()))
        .order_by_asc(activity_need::Column::NeedId)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for row in rows {
        out.entry(row.activity_id).or_default().push(row.need_id);
    }
    Ok(out)
}

fn in_child(
    column: impl sea_orm::sea_query::IntoColumnRef,
    table: impl sea_orm::sea_query::IntoTableRef,
    cond: Condition,
) -> sea_orm::sea_query::SimpleExpr {
    activity::Column::Id.in_subquery(
        Query::select()
            .column(column)
            .from(table)
            .cond_where(cond)
            .to_owned(),
    )
}

fn tag_cond(kind: &str, value: &str) -> sea_orm::sea_query::SimpleExpr {
    in_child(
        activity_tag::Column::ActivityId,
        activity_tag::Entity,
        Condition::all()
            .add(activity_tag::Column::Kind.eq(kind))
            .add(activity_tag::Column::Value.eq(value)),
    )
}

fn provider_cond(org_id: i64) -> Condition {
    Condition::any()
        .add(activity::Column::ReportingOrgId.eq(org_id))
        .add(in_child(
            activity_participant::Column::ActivityId,
            activity_participant::Entity,
            Condition::all().add(activity_participant::Column::OrganisationId.eq(org_id)),
        ))
}

/// Builds the filter condition, including what the caller may see; `None` when nothing can
/// match (an unknown provider).
async fn condition(
    conn: &impl ConnectionTrait,
    who: &Principal,
    filter: &ActivityFilter,
) -> Result<Option<Condition>, StoreError> {
    let mut cond = Condition::all();
    if !who.reads_everything() {
        let mut seen =
            Condition::any().add(activity::Column::Publication.eq(Publication::Published.as_str()));
        if let Some(org_id) = own_org_id(conn, who).await? {
            seen = seen.add(activity::Column::ReportingOrgId.eq(org_id));
        }
        cond = cond.add(seen);
    }
    if let Some(country) = &filter.recipient_country {
        cond = cond.add(in_child(
            activity_country::Column::ActivityId,
            activity_country::Entity,
            Condition::all().add(activity_country::Column::Code.eq(country.to_ascii_uppercase())),
        ));
    }
    if let Some(sector) = &filter.sector {
        cond = cond.add(in_child(
            activity_sector::Column::ActivityId,
            activity_sector::Entity,
            Condition::all().add(activity_sector::Column::Code.eq(sector.trim())),
        ));
    }
    if let Some(area) = &filter.priority_area {
        cond = cond.add(tag_cond(TAG_PRIORITY_AREA, area));
    }
    if let Some(provision) = &filter.provision {
        cond = cond.add(tag_cond(TAG_PROVISION, provision));
    }
    if !filter.status.is_empty() {
        cond = cond.add(activity::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if let Some(provider) = &filter.provider {
        match organisations::by_ref(conn, provider).await? {
            Some(org) => cond = cond.add(provider_cond(org.id)),
            None => return Ok(None),
        }
    }
    if let Some(day) = filter.active_on {
        cond = cond
            .add(activity::Column::WindowStart.lte(day))
            .add(activity::Column::WindowEnd.gte(day));
    }
    if let Some(from) = filter.from {
        cond = cond.add(activity::Column::WindowEnd.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(activity::Column::WindowStart.lte(to));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        cond = cond.add(lower_like(activity::Column::SearchText, &pattern));
    }
    if let Some(publication) = filter.publication {
        cond = cond.add(activity::Column::Publication.eq(publication.as_str()));
    }
    Ok(Some(cond))
}

/// Lists the activities the caller may see that match `filter`, in `order`.
pub async fn list(
    conn: &impl ConnectionTrait,
    who: &Principal,
    filter: &ActivityFilter,
    order: ActivityOrder,
    page: &PageRequest,
) -> Result<Page<ActivityRecord>, StoreError> {
    let Some(cond) = condition(conn, who, filter).await? else {
        return Ok(Page::from_rows(
            Vec::new(),
            page,
            0,
            |_: &ActivityRecord| Cursor {
                key: String::new(),
                id: 0,
            },
        ));
    };
    let total = page
        .total(conn, activity::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = activity::Entity::find().filter(cond);
    let by_start = matches!(
        order,
        ActivityOrder::PlannedStartAsc | ActivityOrder::PlannedStartDesc
    );
    if let Some(after) = &page.after {
        let cursor = match order {
            ActivityOrder::CreatedAsc => Condition::all().add(activity::Column::Id.gt(after.id)),
            ActivityOrder::CreatedDesc => Condition::all().add(activity::Column::Id.lt(after.id)),
            ActivityOrder::PlannedStartAsc => Condition::any()
                .add(activity::Column::StartKey.gt(after.key.clone()))
                .add(
                    Condition::all()
                        .add(activity::Column::StartKey.eq(after.key.clone()))
                        .add(activity::Column::Id.gt(after.id)),
                ),
            ActivityOrder::PlannedStartDesc => Condition::any()
                .add(activity::Column::StartKey.lt(after.key.clone()))
                .add(
                    Condition::all()
                        .add(activity::Column::StartKey.eq(after.key.clone()))
                        .add(activity::Column::Id.lt(after.id)),
                ),
        };
        query = query.filter(cursor);
    }
    query = match order {
        ActivityOrder::CreatedAsc => query.order_by_asc(activity::Column::Id),
        ActivityOrder::CreatedDesc => query.order_by_desc(activity::Column::Id),
        ActivityOrder::PlannedStartAsc => query
            .order_by_asc(activity::Column::StartKey)
            .order_by_asc(activity::Column::Id),
        ActivityOrder::PlannedStartDesc => query
            .order_by_desc(activity::Column::StartKey)
            .order_by_desc(activity::Column::Id),
    };
    let rows = query
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(ActivityRecord::from_model)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: if by_start {
            start_key(&r.data)
        } else {
            String::new()
        },
        id: r.id,
    }))
}

pub(crate) const TAG_PRIORITY_AREA: &str = "PRIORITY_AREA";
pub(crate) const TAG_PROVISION: &str = "PROVISION";
const TAG_ASSISTANCE_TYPE: &str = "ASSISTANCE_TYPE";
const TAG_BENEFICIARY: &str = "BENEFICIARY";
const TAG_EXTERNAL_ID: &str = "EXTERNAL_ID";

/// Checks references that need the database: the reporting organisation, participating
/// organisations, and the needs to link. Returns the reporting organisation's id and the
/// participants' ids.
async fn resolve_references(
    conn: &impl ConnectionTrait,
    who: &Principal,
    data: &ActivityData,
    need_ids: Option<&[i64]>,
) -> Result<(i64, Vec<i64>), StoreError> {
    let mut v = Violations::default();
    let mut refs: Vec<String> = data
        .participating_orgs
        .iter()
        .map(|p| p.org_ref.clone())
        .collect();
    refs.push(data.reporting_org.clone());
    let orgs = organisations::by_refs(conn, &refs).await?;
    let reporting = orgs.get(&data.reporting_org).map(|o| o.id);
    if reporting.is_none() {
        v.push(
            "reportingOrg",
            format!(
                "unknown organisation `{}`; register it first",
                data.reporting_org
            ),
        );
    }
    let mut participants = Vec::with_capacity(data.participating_orgs.len());
    for (i, p) in data.participating_orgs.iter().enumerate() {
        match orgs.get(&p.org_ref) {
            Some(o) => participants.push(o.id),
            None => v.push(
                format!("participatingOrgs[{i}].ref"),
                format!("unknown organisation `{}`; register it first", p.org_ref),
            ),
        }
    }
    if let Some(need_ids) = need_ids {
        check_needs(conn, who, data, need_ids, "addressesNeeds", &mut v).await?;
    }
    match reporting {
        Some(id) if v.is_empty() => Ok((id, participants)),
        _ => Err(StoreError::Invalid(v)),
    }
}

/// Checks that each need exists, is published, may be seen, and lies in one of the activity's
/// recipient countries.
async fn check_needs(
    conn: &impl ConnectionTrait,
    who: &Principal,
    data: &ActivityData,
    need_ids: &[i64],
    field: &str,
    v: &mut Violations,
) -> Result<(), StoreError> {
    let needs: HashMap<i64, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let analysis_ids: Vec<i64> = needs.values().map(|n| n.analysis_id).collect();
    let analyses: HashMap<i64, needs_analysis::Model> = needs_analysis::Entity::find()
        .filter(needs_analysis::Column::Id.is_in(analysis_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let countries: HashSet<&str> = data
        .recipient_countries
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    for (i, id) in need_ids.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let Some(need) = needs.get(id) else {
            v.push(field, "no such need");
            continue;
        };
        let status = analyses
            .get(&need.analysis_id)
            .and_then(|a| a.status.parse::<NeedsAnalysisStatus>().ok());
        let visibility = need.visibility.parse().ok();
        match (status, visibility) {
            (Some(status), Some(visibility))
                if who.sees_need(status, visibility, &need.recipient_country) =>
            {
                if status != NeedsAnalysisStatus::Published {
                    v.push(field, "the need's analysis is not published");
                } else if !countries.contains(need.recipient_country.as_str()) {
                    v.push(
                        field,
                        format!(
                            "the need is in {}, which is not among the activity's recipient countries",
                            need.recipient_country
                        ),
                    );
                }
            }
            _ => v.push(field, "no such need"),
        }
    }
    Ok(())
}

/// Rewrites the child rows of an activity from its data.
async fn write_children(
    conn: &impl ConnectionTrait,
    id: i64,
    data: &ActivityData,
    participants: &[i64],
) -> Result<(), StoreError> {
    activity_country::Entity::delete_many()
        .filter(activity_country::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_sector::Entity::delete_many()
        .filter(activity_sector::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_tag::Entity::delete_many()
        .filter(activity_tag::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_participant::Entity::delete_many()
        .filter(activity_participant::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_related::Entity::delete_many()
        .filter(activity_related::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;

    let mut rows = ChildRows::default();
    rows.add(id, data, participants);
    rows.insert(conn).await
}

/// The child rows of activities (countries, sectors, tags, participants, related
/// identifiers), built from their data and inserted in chunks.
#[derive(Default)]
struct ChildRows {
    countries: Vec<activity_country::ActiveModel>,
    sectors: Vec<activity_sector::ActiveModel>,
    tags: Vec<activity_tag::ActiveModel>,
    participants: Vec<activity_participant::ActiveModel>,
    related: Vec<activity_related::ActiveModel>,
}

impl ChildRows {
    /// Adds the rows of activity `id`; `participants` are the organisation ids of its
    /// participating organisations, in order.
    fn add(&mut self, id: i64, data: &ActivityData, participants: &[i64]) {
        self.countries
            .extend(
                data.recipient_countries
                    .iter()
                    .map(|c| activity_country::ActiveModel {
                        activity_id: Set(id),
                        code: Set(c.code.clone()),
                        percentage: Set(c.percentage.map(|p| p.to_string())),
                    }),
            );
        self.sectors
            .extend(data.sectors.iter().map(|s| activity_sector::ActiveModel {
                activity_id: Set(id),
                vocabulary: Set(s.vocabulary.clone()),
                code: Set(s.code.clone()),
                percentage: Set(s.percentage.map(|p| p.to_string())),
            }));
        let mut tags: Vec<(&str, String)> = Vec::new();
        tags.extend(
            data.priority_areas
                .iter()
                .map(|p| (TAG_PRIORITY_AREA, p.as_str().to_owned())),
        );
        tags.extend(
            data.provisions
                .iter()
                .map(|p| (TAG_PROVISION, p.to_string())),
        );
        tags.extend(
            data.assistance_types
                .iter()
                .map(|t| (TAG_ASSISTANCE_TYPE, t.as_str().to_owned())),
        );
        tags.extend(
            data.beneficiary_institutions
                .iter()
                .map(|b| (TAG_BENEFICIARY, b.as_str().to_owned())),
        );
        // An activity's own identifier counts among its external ids (DESIGN.md §4).
        let mut external: Vec<&String> = data.external_ids.iter().collect();
        if !external.contains(&&data.iati_identifier) {
            external.push(&data.iati_identifier);
        }
        tags.extend(external.into_iter().map(|e| (TAG_EXTERNAL_ID, e.clone())));
        self.tags.extend(
            tags.into_iter()
                .map(|(kind, value)| activity_tag::ActiveModel {
                    activity_id: Set(id),
                    kind: Set(kind.to_owned()),
                    value: Set(value),
                }),
        );
        self.participants
            .extend(
                data.participating_orgs
                    .iter()
                    .zip(participants)
                    .map(|(p, org_id)| activity_participant::ActiveModel {
                        activity_id: Set(id),
                        organisation_id: Set(*org_id),
                        role: Set(p.role.as_str().to_owned()),
                        activity_ref: Set(p.activity_id.clone()),
                        ..Default::default()
                    }),
            );
        self.related.extend(data.related_activities.iter().map(|r| {
            activity_related::ActiveModel {
                activity_id: Set(id),
                related_identifier: Set(r.iati_identifier.clone()),
                kind: Set(r.kind.as_str().to_owned()),
            }
        }));
    }

    async fn insert(self, conn: &impl ConnectionTrait) -> Result<(), StoreError> {
        insert_chunks(conn, self.countries).await?;
        insert_chunks(conn, self.sectors).await?;
        insert_chunks(conn, self.tags).await?;
        insert_chunks(conn, self.participants).await?;
        insert_chunks(conn, self.related).await
    }
}

async fn replace_need_links(
    conn: &impl ConnectionTrait,
    id: i64,
    need_ids: &[i64],
) -> Result<(), StoreError> {
    activity_need::Entity::delete_many()
        .filter(activity_need::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    add_need_links(conn, id, need_ids).await
}

async fn add_need_links(
    conn: &impl ConnectionTrait,
    id: i64,
    need_ids: &[i64],
) -> Result<(), StoreError> {
    let existing: HashSet<i64> = activity_need::Entity::find()
        .filter(activity_need::Column::ActivityId.eq(id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut seen = HashSet::new();
    let now = Utc::now();
    let rows: Vec<_> = need_ids
        .iter()
        .filter(|n| !existing.contains(n) && seen.insert(**n))
        .map(|n| activity_need::ActiveModel {
            activity_id: Set(id),
            need_id: Set(*n),
            created_at: Set(now),
        })
        .collect();
    if !rows.is_empty() {
        activity_need::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

fn authorize(who: &Principal, reporting_org: &str) -> Result<(), StoreError> {
    authorize_as(who, reporting_org, false)
}

/// Checks the caller may write an activity of `reporting_org`; imports let coordinators load
/// any provider's published IATI data.
fn authorize_as(who: &Principal, reporting_org: &str, import: bool) -> Result<(), StoreError> {
    let allowed = if import {
        who.may_import_activity(reporting_org)
    } else {
        who.may_manage_activity(reporting_org)
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "you may not register or change activities reported by `{reporting_org}`"
        )))
    }
}

/// The snapshot audited for an activity: its content, links and publication.
#[derive(serde::Serialize)]
struct Snapshot<'a> {
    data: &'a ActivityData,
    publication: Publication,
    needs: &'a [i64],
}

/// Registers a new activity as a draft (or published when `publish`), linked to `need_ids`.
pub async fn create(
    store: &Store,
    who: &Principal,
    data: ActivityData,
    need_ids: &[i64],
    publish: bool,
) -> Result<ActivityRecord, StoreError> {
    authorize(who, &data.reporting_org)?;
    let txn = store.begin_write().await?;
    let record = insert(&*txn, store.features(), who, data, need_ids, publish).await?;
    let committing = std::time::Instant::now();
    txn.commit().await?;
    tracing::debug!(
        commit_ms = committing.elapsed().as_secs_f64() * 1e3,
        "activity committed"
    );
    store.events().wake();
    tracing::info!(activity.id = record.id, activity.iati_identifier = %record.data.iati_identifier, "activity registered");
    Ok(record)
}

async fn insert(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    who: &Principal,
    data: ActivityData,
    need_ids: &[i64],
    publish: bool,
) -> Result<ActivityRecord, StoreError> {
    let (reporting_org_id, participants) =
        resolve_references(conn, who, &data, Some(need_ids)).await?;
    let now = Utc::now();
    let window = data.window();
    let publication = if publish {
        Publication::Published
    } else {
        Publication::Draft
    };
    let model = activity::ActiveModel {
        iati_identifier: Set(data.iati_identifier.clone()),
        reporting_org_id: Set(reporting_org_id),
        status: Set(data.status.as_str().to_owned()),
        publication: Set(publication.as_str().to_owned()),
        title: Set(data.title(None).to_owned()),
        search_text: Set(data.search_text()),
        planned_start: Set(data.planned_start),
        window_start: Set(window.map(|w| w.start)),
        window_end: Set(window.map(|w| w.end)),
        start_key: Set(start_key(&data)),
        document: Set(serde_json::to_string(&data)?),
        version: Set(1),
        created_by: Set(who.subject.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .on_unique(|| {
        format!(
            "an activity with IATI identifier `{}` is already registered",
            data.iati_identifier
        )
    })?;
    write_children(conn, model.id, &data, &participants).await?;
    add_need_links(conn, model.id, need_ids).await?;
    audit::record(
        conn,
        who,
        AuditEvent::<(), _> {
            entity: "activity",
            entity_id: model.id,
            action: "create",
            before: None,
            after: Some(&Snapshot {
                data: &data,
                publication,
                needs: need_ids,
            }),
            on_behalf_of: None,
        },
    )
    .await?;
    let record = ActivityRecord::from_model(model)?;
    overlap::refresh(conn, cache, &record, None).await?;
    coverage_events(conn, need_ids, &record.data.reporting_org).await?;
    Ok(record)
}

/// Loads an activity for a change: it must exist, be visible, belong to the caller, and match
/// `expected_version` when given.
async fn load_for_change(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
    expected_version: Option<i32>,
) -> Result<ActivityRecord, StoreError> {
    let record = get(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("activity", id))?;
    authorize(who, &record.data.reporting_org)?;
    if let Some(expected) = expected_version
        && expected != record.version
    {
        return Err(StoreError::Conflict(format!(
            "activity {id} is at version {}, not {expected}; reload it and try again",
            record.version
        )));
    }
    Ok(record)
}

/// Writes a change to an activity's content (and, when given, its need links), bumping its
/// version.
async fn apply_change(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    who: &Principal,
    before: &ActivityRecord,
    change: Change<'_>,
) -> Result<ActivityRecord, StoreError> {
    let Change {
        data,
        need_ids,
        publication,
        action,
        import,
    } = change;
    authorize_as(who, &data.reporting_org, import)?;
    let (reporting_org_id, participants) = resolve_references(conn, who, &data, need_ids).await?;
    let now = Utc::now();
    let window = data.window();
    let previous_needs = need_ids_of(conn, &[before.id])
        .await?
        .remove(&before.id)
        .unwrap_or_default();
    let version = before.version + 1;
    let updated = activity::Entity::update_many()
        .col_expr(
            activity::Column::IatiIdentifier,
            Expr::value(data.iati_identifier.clone()),
        )
        .col_expr(
            activity::Column::ReportingOrgId,
            Expr::value(reporting_org_id),
        )
        .col_expr(activity::Column::Status, Expr::value(data.status.as_str()))
        .col_expr(
            activity::Column::Publication,
            Expr::value(publication.as_str()),
        )
        .col_expr(activity::Column::Title, Expr::value(data.title(None)))
        .col_expr(
            activity::Column::SearchText,
            Expr::value(data.search_text()),
        )
        .col_expr(
            activity::Column::PlannedStart,
            Expr::value(data.planned_start),
        )
        .col_expr(
            activity::Column::WindowStart,
            Expr::value(window.map(|w| w.start)),
        )
        .col_expr(
            activity::Column::WindowEnd,
            Expr::value(window.map(|w| w.end)),
        )
        .col_expr(activity::Column::StartKey, Expr::value(start_key(&data)))
        .col_expr(
            activity::Column::Document,
            Expr::value(serde_json::to_string(&data)?),
        )
        .col_expr(activity::Column::Version, Expr::value(version))
        .col_expr(activity::Column::UpdatedAt, Expr::value(now))
        .filter(activity::Column::Id.eq(before.id))
        .filter(activity::Column::Version.eq(before.version))
        .exec(conn)
        .await
        .on_unique(|| {
            format!(
                "an activity with IATI identifier `{}` is already registered",
                data.iati_identifier
            )
        })?;
    if updated.rows_affected != 1 {
        return Err(StoreError::Conflict(format!(
            "activity {} changed while this change was being made; reload it and try again",
            before.id
        )));
    }
    write_children(conn, before.id, &data, &participants).await?;
    if let Some(need_ids) = need_ids {
        replace_need_links(conn, before.id, need_ids).await?;
    }
    let after_needs = need_ids.unwrap_or(&previous_needs);
    audit::record(
        conn,
        who,
        AuditEvent {
            entity: "activity",
            entity_id: before.id,
            action,
            before: Some(&Snapshot {
                data: &before.data,
                publication: before.publication,
                needs: &previous_needs,
            }),
            after: Some(&Snapshot {
                data: &data,
                publication,
                needs: after_needs,
            }),
            on_behalf_of: None,
        },
    )
    .await?;
    let record = ActivityRecord {
        id: before.id,
        reporting_org_id,
        publication,
        version,
        data,
        created_at: before.created_at,
        updated_at: now,
    };
    overlap::refresh(
        conn,
        cache,
        &record,
        Some((&before.data, before.publication)),
    )
    .await?;
    let mut touched: Vec<i64> = previous_needs.clone();
    touched.extend_from_slice(after_needs);
    touched.sort_unstable();
    touched.dedup();
    coverage_events(conn, &touched, &record.data.reporting_org).await?;
    Ok(record)
}

/// A change to an activity: its new content, need links (`None` keeps them), publication,
/// and the audited action name.
struct Change<'a> {
    data: ActivityData,
    need_ids: Option<&'a [i64]>,
    publication: Publication,
    action: &'static str,
    /// Authorised as an import (coordinators may load any provider's activities).
    import: bool,
}

/// Replaces an activity's content; `need_ids` of `None` keeps its need links.
pub async fn update(
    store: &Store,
    who: &Principal,
    id: i64,
    expected_version: i32,
    data: ActivityData,
    need_ids: Option<&[i64]>,
) -> Result<ActivityRecord, StoreError> {
    let txn = store.begin_write().await?;
    let before = load_for_change(&*txn, who, id, Some(expected_version)).await?;
    let publication = before.publication;
    let record = apply_change(
        &*txn,
        store.features(),
        who,
        &before,
        Change {
            data,
            need_ids,
            publication,
            action: "update",
            import: false,
        },
    )
    .await?;
    txn.commit().await?;
    store.events().wake();
    Ok(record)
}

/// Creates or updates the activity with `data.iati_identifier`. Sending the same content twice
/// writes nothing the second time. `need_ids` of `None` keeps existing links.
pub async fn upsert(
    store: &Store,
    who: &Principal,
    data: ActivityData,
    need_ids: Option<&[i64]>,
    publish: bool,
) -> Result<(ActivityRecord, UpsertOutcome), StoreError> {
    upsert_as(store, who, data, need_ids, publish, None).await
}

/// Upserts a published activity read from an IATI file: providers may import their own,
/// coordinators and admins any.
pub async fn upsert_imported(
    store: &Store,
    who: &Principal,
    data: ActivityData,
    source: Option<&crate::iati_sources::Source>,
) -> Result<(ActivityRecord, UpsertOutcome), StoreError> {
    upsert_as(store, who, data, None, true, Some(source)).await
}

async fn upsert_as(
    store: &Store,
    who: &Principal,
    data: ActivityData,
    need_ids: Option<&[i64]>,
    publish: bool,
    imported: Option<Option<&crate::iati_sources::Source>>,
) -> Result<(ActivityRecord, UpsertOutcome), StoreError> {
    let import = imported.is_some();
    let source = imported.flatten();
    authorize_as(who, &data.reporting_org, import)?;
    let txn = store.begin_write().await?;
    let existing = activity::Entity::find()
        .filter(activity::Column::IatiIdentifier.eq(data.iati_identifier.as_str()))
        .one(&*txn)
        .await?;
    let result = match existing {
        None => {
            let record = insert(
                &*txn,
                store.features(),
                who,
                data,
                need_ids.unwrap_or(&[]),
                publish,
            )
            .await?;
            (record, UpsertOutcome::Created)
        }
        Some(model) => {
            let before = ActivityRecord::from_model(model)?;
            if !sees(&*txn, who, &before).await? {
                // Someone else's draft: do not reveal it, but do not overwrite it either.
                return Err(StoreError::Conflict(format!(
                    "an activity with IATI identifier `{}` is already registered",
                    data.iati_identifier
                )));
            }
            authorize_as(who, &before.data.reporting_org, import)?;
            let publication = if publish {
                Publication::Published
            } else {
                before.publication
            };
            let links_same = match need_ids {
                None => true,
                Some(ids) => {
                    let mut current = need_ids_of(&*txn, &[before.id])
                        .await?
                        .remove(&before.id)
                        .unwrap_or_default();
                    let mut wanted = ids.to_vec();
                    current.sort_unstable();
                    wanted.sort_unstable();
                    wanted.dedup();
                    current == wanted
                }
            };
            if before.data == data && before.publication == publication && links_same {
                // The same activity from a file written differently: keep the new form.
                let kept = match source {
                    Some(source) => crate::iati_sources::keep(&*txn, before.id, source).await?,
                    None => false,
                };
                if !kept {
                    return Ok((before, UpsertOutcome::Unchanged));
                }
                txn.commit().await?;
                return Ok((before, UpsertOutcome::Updated));
            }
            let record = apply_change(
                &*txn,
                store.features(),
                who,
                &before,
                Change {
                    data,
                    need_ids,
                    publication,
                    action: "upsert",
                    import,
                },
            )
            .await?;
            (record, UpsertOutcome::Updated)
        }
    };
    if let Some(source) = source {
        crate::iati_sources::keep(&*txn, result.0.id, source).await?;
    }
    txn.commit().await?;
    store.events().wake();
    Ok(result)
}

/// Changes an activity's publication state.
pub async fn set_publication(
    store: &Store,
    who: &Principal,
    id: i64,
    expected_version: i32,
    publication: Publication,
) -> Result<ActivityRecord, StoreError> {
    let txn = store.begin_write().await?;
    let before = load_for_change(&*txn, who, id, Some(expected_version)).await?;
    let action = match publication {
        Publication::Published => "publish",
        Publication::Draft => "withdraw",
    };
    let data = before.data.clone();
    let record = apply_change(
        &*txn,
        store.features(),
        who,
        &before,
        Change {
            data,
            need_ids: None,
            publication,
            action,
            import: false,
        },
    )
    .await?;
    txn.commit().await?;
    store.events().wake();
    Ok(record)
}

/// Changes an activity's IATI status (e.g. to CANCELLED).
pub async fn set_status(
    store: &Store,
    who: &Principal,
    id: i64,
    expected_version: i32,
    status: ActivityStatus,
) -> Result<ActivityRecord, StoreError> {
    let txn = store.begin_write().await?;
    let before = load_for_change(&*txn, who, id, Some(expected_version)).await?;
    let mut data = before.data.clone();
    data.status = status;
    let publication = before.publication;
    let record = apply_change(
        &*txn,
        store.features(),
        who,
        &before,
        Change {
            data,
            need_ids: None,
            publication,
            action: "set_status",
            import: false,
        },
    )
    .await?;
    txn.commit().await?;
    store.events().wake();
    Ok(record)
}

/// Links an activity to more needs (`link`) or removes links (`!link`).
pub async fn change_need_links(
    store: &Store,
    who: &Principal,
    id: i64,
    need_ids: &[i64],
    link: bool,
) -> Result<ActivityRecord, StoreError> {
    let txn = store.begin_write().await?;
    let before = load_for_change(&*txn, who, id, None).await?;
    let mut current = need_ids_of(&*txn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    if link {
        let mut v = Violations::default();
        check_needs(&*txn, who, &before.data, need_ids, "needIds", &mut v).await?;
        if !v.is_empty() {
            return Err(StoreError::Invalid(v));
        }
        current.extend_from_slice(need_ids);
    } else {
        current.retain(|n| !need_ids.contains(n));
    }
    current.sort_unstable();
    current.dedup();
    let data = before.data.clone();
    let publication = before.publication;
    let action = if link { "link_needs" } else { "unlink_needs" };
    let change = Change {
        data,
        need_ids: Some(&current),
        publication,
        action,
        import: false,
    };
    let record = apply_change(&*txn, store.features(), who, &before, change).await?;
    txn.commit().await?;
    store.events().wake();
    Ok(record)
}

/// Loads many new activities at once (bench data, bulk imports), without maintaining overlap
/// flags; run a recomputation afterwards. Each chunk is one transaction; the audit trail gets
/// one entry per activity.
pub async fn bulk_insert(
    store: &Store,
    who: &Principal,
    items: Vec<(ActivityData, Vec<i64>)>,
    publish: bool,
) -> Result<usize, StoreError> {
    let mut written = 0;
    let publication = if publish {
        Publication::Published
    } else {
        Publication::Draft
    };
    for chunk in items.chunks(500) {
        let txn = store.begin_write().await?;
        let mut refs: Vec<String> = Vec::new();
        for (data, _) in chunk {
            authorize(who, &data.reporting_org)?;
            refs.push(data.reporting_org.clone());
            refs.extend(data.participating_orgs.iter().map(|p| p.org_ref.clone()));
        }
        refs.sort();
        refs.dedup();
        let orgs = organisations::by_refs(&*txn, &refs).await?;
        let org_id = |r: &str| {
            orgs.get(r).map(|o| o.id).ok_or_else(|| {
                StoreError::invalid("reportingOrg", format!("unknown organisation `{r}`"))
            })
        };
        let now = Utc::now();
        let mut rows = Vec::with_capacity(chunk.len());
        for (data, _) in chunk {
            let window = data.window();
            rows.push(activity::ActiveModel {
                iati_identifier: Set(data.iati_identifier.clone()),
                reporting_org_id: Set(org_id(&data.reporting_org)?),
                status: Set(data.status.as_str().to_owned()),
                publication: Set(publication.as_str().to_owned()),
                title: Set(data.title(None).to_owned()),
                search_text: Set(data.search_text()),
                planned_start: Set(data.planned_start),
                window_start: Set(window.map(|w| w.start)),
                window_end: Set(window.map(|w| w.end)),
                start_key: Set(start_key(data)),
                document: Set(serde_json::to_string(data)?),
                version: Set(1),
                created_by: Set(who.subject.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        let inserted = activity::Entity::insert_many(rows)
            .exec_with_returning(&*txn)
            .await
            .on_unique(|| "an activity in the batch is already registered".to_owned())?;
        let ids: HashMap<&str, i64> = inserted
            .iter()
            .map(|m| (m.iati_identifier.as_str(), m.id))
            .collect();
        let mut rows = ChildRows::default();
        let mut needs = Vec::new();
        let mut audits = Vec::new();
        let mut edges = Vec::new();
        for (data, need_ids) in chunk {
            let id = ids
                .get(data.iati_identifier.as_str())
                .copied()
                .ok_or_else(|| StoreError::Corrupt("bulk insert lost a row".into()))?;
            let participants = data
                .participating_orgs
                .iter()
                .map(|p| org_id(&p.org_ref))
                .collect::<Result<Vec<i64>, _>>()?;
            rows.add(id, data, &participants);
            overlap::write_candidate_windows(&*txn, id, 1, publication, data).await?;
            for r in data
                .related_activities
                .iter()
                .filter(|r| r.kind.iati_code() <= 4)
            {
                for (a, b) in [
                    (&data.iati_identifier, &r.iati_identifier),
                    (&r.iati_identifier, &data.iati_identifier),
                ] {
                    edges.push(crate::entities::coordination_edge::ActiveModel {
                        a: Set(a.clone()),
                        b: Set(b.clone()),
                        source: Set(format!("related:{id}")),
                    });
                }
            }
            let mut seen = HashSet::new();
            needs.extend(need_ids.iter().filter(|n| seen.insert(**n)).map(|n| {
                activity_need::ActiveModel {
                    activity_id: Set(id),
                    need_id: Set(*n),
                    created_at: Set(now),
                }
            }));
            audits.push(crate::entities::audit_entry::ActiveModel {
                at: Set(now),
                actor: Set(who.subject.clone()),
                actor_role: Set(who.role.as_str().to_owned()),
                on_behalf_of: Set(None),
                entity: Set("activity".to_owned()),
                entity_id: Set(id),
                action: Set("bulk_insert".to_owned()),
                before_digest: Set(None),
                after_digest: Set(Some(audit::digest(data)?)),
                ..Default::default()
            });
        }
        rows.insert(&*txn).await?;
        insert_chunks(&*txn, needs).await?;
        insert_chunks(&*txn, audits).await?;
        for part in edges.chunks(400) {
            crate::entities::coordination_edge::Entity::insert_many(part.to_vec())
                .on_conflict_do_nothing()
                .exec(&*txn)
                .await?;
        }
        txn.commit().await?;
        written += chunk.len();
    }
    Ok(written)
}

async fn insert_chunks<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), StoreError>
where
    A: ActiveModelTrait + Clone + Send,
{
    for part in rows.chunks(400) {
        <A::Entity as EntityTrait>::insert_many(part.to_vec())
            .exec(conn)
            .await?;
    }
    Ok(())
}
