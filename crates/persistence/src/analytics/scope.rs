//! The activities in an analytics question's scope, read slim from the store's cache where it holds their version.

use super::*;

/// Published activities matching what SQL can filter, without their texts: from the store's
/// cache where it holds their version, parsed from their documents otherwise.
pub(super) async fn published(
    store: &Store,
    country: Option<&str>,
    provider: Option<&str>,
    priority_area: Option<PriorityArea>,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let conn = store.db();
    let mut cond =
        Condition::all().add(activity::Column::Publication.eq(Publication::Published.as_str()));
    if let Some(country) = country {
        cond = cond.add(
            activity::Column::Id.in_subquery(
                Query::select()
                    .column(activity_country::Column::ActivityId)
                    .from(activity_country::Entity)
                    .and_where(activity_country::Column::Code.eq(country))
                    .to_owned(),
            ),
        );
    }
    if let Some(provider) = provider {
        match organisations::by_ref(conn, provider).await? {
            Some(org) => cond = cond.add(activity::Column::ReportingOrgId.eq(org.id)),
            None => return Ok(Vec::new()),
        }
    }
    if let Some(area) = priority_area {
        cond = cond.add(
            activity::Column::Id.in_subquery(
                Query::select()
                    .column(activity_tag::Column::ActivityId)
                    .from(activity_tag::Entity)
                    .and_where(activity_tag::Column::Kind.eq(TAG_PRIORITY_AREA))
                    .and_where(activity_tag::Column::Value.eq(area.as_str()))
                    .to_owned(),
            ),
        );
    }
    slim_where(store, cond).await
}

/// The published activities among `ids`, slim (see [`published`]), by id.
pub(crate) async fn published_by_ids(
    store: &Store,
    ids: &[i64],
) -> Result<HashMap<i64, Arc<ActivityRecord>>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let cond = Condition::all()
            .add(activity::Column::Publication.eq(Publication::Published.as_str()))
            .add(activity::Column::Id.is_in(chunk.iter().copied()));
        out.extend(
            slim_where(store, cond)
                .await?
                .into_iter()
                .map(|r| (r.id, r)),
        );
    }
    Ok(out)
}

/// The activities `cond` selects, which must all be published, slim: from the store's cache
/// where it holds their version, parsed from their documents otherwise.
pub(super) async fn slim_where(
    store: &Store,
    cond: Condition,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let conn = store.db();
    let keys: Vec<(i64, i32)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::Id)
        .column(activity::Column::Version)
        .filter(cond)
        .into_tuple()
        .all(conn)
        .await?;
    let cache = store.slim_records();
    let (mut found, misses) = cache.get_many(&keys);
    // Only the columns a record needs: not the search text, which is as long as the texts.
    type Row = (i64, i64, i32, String, DateTime<Utc>, DateTime<Utc>);
    for chunk in misses.chunks(BATCH) {
        let rows: Vec<Row> = activity::Entity::find()
            .select_only()
            .column(activity::Column::Id)
            .column(activity::Column::ReportingOrgId)
            .column(activity::Column::Version)
            .column(activity::Column::Document)
            .column(activity::Column::CreatedAt)
            .column(activity::Column::UpdatedAt)
            .filter(activity::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, reporting_org_id, version, document, created_at, updated_at) in rows {
            let record = Arc::new(ActivityRecord {
                id,
                reporting_org_id,
                publication: Publication::Published,
                version,
                data: serde_json::from_str::<ActivityData>(&document)?.slim(),
                created_at,
                updated_at,
            });
            cache.put(record.clone());
            found.push(record);
        }
    }
    found.sort_unstable_by_key(|r| r.id);
    Ok(found)
}

/// The activities in scope of `filter`, active as it says.
pub(super) async fn in_scope(
    store: &Store,
    filter: &AnalyticsFilter,
    with_country: bool,
    today: NaiveDate,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let country = filter.country.as_deref().filter(|_| with_country);
    let mut found = published(
        store,
        country,
        filter.provider.as_deref(),
        filter.priority_area,
    )
    .await?;
    found.retain(|a| {
        is_active(&a.data, filter.year, today)
            && filter
                .region
                .as_ref()
                .is_none_or(|r| a.data.recipient_regions.iter().any(|x| &x.code == r))
            && filter.sector.as_ref().is_none_or(|s| {
                a.data
                    .sectors
                    .iter()
                    .any(|x| x.vocabulary == "1" && &x.code == s)
            })
    });
    Ok(found)
}

/// What an activity contributes to one place and column: its converted budget share.
pub(super) fn add_budget(
    total: &mut Total,
    rates: &Rates,
    record: &ActivityRecord,
    place_share: Decimal,
    column_share: Decimal,
    currency: &str,
    year: i32,
) -> Decimal {
    let Some(budget) = &record.data.budget else {
        return Decimal::ZERO;
    };
    let amount = budget.amount * place_share * column_share;
    total
        .add(rates, amount, &budget.currency, currency, year)
        .unwrap_or(Decimal::ZERO)
}

/// Most records [`SlimRecords`] keeps; past this it starts over (a registry is re-read lazily).
const SLIM_CAPACITY: usize = 500_000;

/// Slim published activities by id, with the version each was read at: a changed activity has
/// a new version, so a stale record is never used, whichever replica made the change.
#[derive(Debug, Clone, Default)]
pub struct SlimRecords {
    records: Arc<std::sync::RwLock<HashMap<i64, Arc<ActivityRecord>>>>,
}

impl SlimRecords {
    /// The records held at the version asked for, and the ids of the others.
    fn get_many(&self, keys: &[(i64, i32)]) -> (Vec<Arc<ActivityRecord>>, Vec<i64>) {
        let Ok(records) = self.records.read() else {
            return (Vec::new(), keys.iter().map(|(id, _)| *id).collect());
        };
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for &(id, version) in keys {
            match records.get(&id) {
                Some(record) if record.version == version => found.push(record.clone()),
                _ => missing.push(id),
            }
        }
        (found, missing)
    }

    fn put(&self, record: Arc<ActivityRecord>) {
        if let Ok(mut records) = self.records.write() {
            if records.len() >= SLIM_CAPACITY {
                records.clear();
            }
            records.insert(record.id, record);
        }
    }
}
