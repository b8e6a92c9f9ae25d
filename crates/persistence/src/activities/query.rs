//! Finding activities: by id or identifier, visibility to the caller, and filtered, ordered
//! pages.

use super::*;

/// Filters for listing activities; all given filters must match.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Lists this recipient country.
    pub recipient_country: Option<String>,
    /// Lists this recipient region (IATI Region code).
    pub recipient_region: Option<String>,
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

pub(super) async fn visible(
    conn: &impl ConnectionTrait,
    who: &Principal,
    record: ActivityRecord,
) -> Result<Option<ActivityRecord>, StoreError> {
    Ok(sees(conn, who, &record).await?.then_some(record))
}

/// Whether `who` may see `record`: anyone a published activity, a draft only those
/// `Principal::sees_activity` lets see it.
pub async fn sees(
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

/// A provider's organisation row id, whose drafts it sees; `None` for other roles, whatever
/// their token carries.
pub(crate) async fn own_org_id(
    conn: &impl ConnectionTrait,
    who: &Principal,
) -> Result<Option<i64>, StoreError> {
    match who.own_org() {
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

pub(super) fn in_child(
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

pub(super) fn tag_cond(kind: &str, value: &str) -> sea_orm::sea_query::SimpleExpr {
    in_child(
        activity_tag::Column::ActivityId,
        activity_tag::Entity,
        Condition::all()
            .add(activity_tag::Column::Kind.eq(kind))
            .add(activity_tag::Column::Value.eq(value)),
    )
}

pub(super) fn provider_cond(org_id: i64) -> Condition {
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
pub(super) async fn condition(
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
    if let Some(region) = &filter.recipient_region {
        cond = cond.add(tag_cond(TAG_REGION, region.trim()));
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
