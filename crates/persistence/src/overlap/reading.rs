//! Reading flags, and the dry run behind `checkOverlap`.

use super::*;

/// Filters for flag lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FlagFilter {
    /// Pairs sharing this country.
    pub country: Option<String>,
    /// Pairs where this organisation reports one side.
    pub provider: Option<String>,
    /// Only these classes.
    pub classes: Vec<OverlapClass>,
    /// Only these review states.
    pub statuses: Vec<ReviewStatus>,
    /// Score at least this.
    pub min_score: Option<u8>,
    /// Pairs involving this activity.
    pub activity_id: Option<i64>,
}

/// The shared countries of each flag of `ids`.
pub async fn countries_of(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let rows = overlap_flag_country::Entity::find()
        .filter(overlap_flag_country::Column::FlagId.is_in(ids.iter().copied()))
        .order_by_asc(overlap_flag_country::Column::Code)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.flag_id).or_default().push(r.code);
    }
    Ok(out)
}

/// The records of stored flags, with their countries.
pub async fn records(
    conn: &impl ConnectionTrait,
    models: Vec<overlap_flag::Model>,
) -> Result<Vec<FlagRecord>, StoreError> {
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut countries = countries_of(conn, &ids).await?;
    models
        .into_iter()
        .map(|m| {
            let c = countries.remove(&m.id).unwrap_or_default();
            FlagRecord::from_model(m, c)
        })
        .collect()
}

/// The condition selecting the flags `filter` asks for (`None` when it selects none).
pub async fn flag_condition(
    conn: &impl ConnectionTrait,
    filter: &FlagFilter,
) -> Result<Option<Condition>, StoreError> {
    let mut cond = Condition::all();
    if let Some(country) = &filter.country {
        cond = cond.add(
            overlap_flag::Column::Id.in_subquery(
                Query::select()
                    .column(overlap_flag_country::Column::FlagId)
                    .from(overlap_flag_country::Entity)
                    .and_where(overlap_flag_country::Column::Code.eq(country.to_ascii_uppercase()))
                    .to_owned(),
            ),
        );
    }
    if let Some(provider) = &filter.provider {
        let Some(org) = organisations::by_ref(conn, provider).await? else {
            return Ok(None);
        };
        let reported = Query::select()
            .column(activity::Column::Id)
            .from(activity::Entity)
            .and_where(activity::Column::ReportingOrgId.eq(org.id))
            .to_owned();
        cond = cond.add(
            Condition::any()
                .add(overlap_flag::Column::ActivityAId.in_subquery(reported.clone()))
                .add(overlap_flag::Column::ActivityBId.in_subquery(reported)),
        );
    }
    if !filter.classes.is_empty() {
        cond =
            cond.add(overlap_flag::Column::Class.is_in(filter.classes.iter().map(|c| c.as_str())));
    }
    if !filter.statuses.is_empty() {
        cond = cond
            .add(overlap_flag::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(min) = filter.min_score {
        cond = cond.add(overlap_flag::Column::Score.gte(i32::from(min)));
    }
    if let Some(id) = filter.activity_id {
        cond = cond.add(
            Condition::any()
                .add(overlap_flag::Column::ActivityAId.eq(id))
                .add(overlap_flag::Column::ActivityBId.eq(id)),
        );
    }
    Ok(Some(cond))
}

/// The flags after `after` in list order: highest score first, then oldest.
pub fn after_in_rank(after: &Cursor) -> Condition {
    let score: i32 = after.key.parse().unwrap_or(0);
    Condition::any()
        .add(overlap_flag::Column::Score.lt(score))
        .add(
            Condition::all()
                .add(overlap_flag::Column::Score.eq(score))
                .add(overlap_flag::Column::Id.gt(after.id)),
        )
}

/// Lists flags, highest score first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &FlagFilter,
    page: &PageRequest,
) -> Result<Page<FlagRecord>, StoreError> {
    let Some(cond) = flag_condition(conn, filter).await? else {
        return Ok(Page::from_rows(Vec::new(), page, 0, |_: &FlagRecord| {
            Cursor {
                key: String::new(),
                id: 0,
            }
        }));
    };
    let total = page
        .total(conn, overlap_flag::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = overlap_flag::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(after_in_rank(after));
    }
    let models = query
        .order_by_desc(overlap_flag::Column::Score)
        .order_by_asc(overlap_flag::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    let rows = records(conn, models).await?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: r.score.to_string(),
        id: r.id,
    }))
}

/// A page of each activity's flags matching `filter`, highest score first, for the activities
/// of one list page at once: a few statements whatever the number of activities.
///
/// Each side of a pair is read by its own index (`activity_a_id`, then `activity_b_id`), the
/// first `page.first + 1` flags per activity numbered by a window function; the two ranked
/// halves are merged per activity and only the chosen flags are read whole.
pub async fn of_activities(
    conn: &impl ConnectionTrait,
    activity_ids: &[i64],
    filter: &FlagFilter,
    page: &PageRequest,
) -> Result<HashMap<i64, Page<FlagRecord>>, StoreError> {
    let cursor = |r: &FlagRecord| Cursor {
        key: r.score.to_string(),
        id: r.id,
    };
    let empty = || Page::from_rows(Vec::new(), page, 0, cursor);
    let Some(mut cond) = flag_condition(conn, filter).await? else {
        return Ok(activity_ids.iter().map(|id| (*id, empty())).collect());
    };
    if let Some(after) = &page.after {
        cond = cond.add(after_in_rank(after));
    }
    let backend = conn.get_database_backend();
    // (score, id, owner) of each activity's first flags, from either side of the pair.
    let mut ranked: HashMap<i64, Vec<(i32, i64)>> = HashMap::new();
    let mut totals: HashMap<i64, u64> = HashMap::new();
    for (side, side_name) in [
        (overlap_flag::Column::ActivityAId, "activity_a_id"),
        (overlap_flag::Column::ActivityBId, "activity_b_id"),
    ] {
        let mine = cond.clone().add(side.is_in(activity_ids.iter().copied()));
        let numbered = Query::select()
            .column(overlap_flag::Column::Id)
            .column(overlap_flag::Column::Score)
            .expr_as(Expr::col(side), "owner")
            .expr_as(
                Expr::cust(format!(
                    "ROW_NUMBER() OVER (PARTITION BY {side_name} ORDER BY score DESC, id ASC)"
                )),
                "rn",
            )
            .from(overlap_flag::Entity)
            .cond_where(mine.clone())
            .to_owned();
        let first = Query::select()
            .columns(["id", "score", "owner"])
            .from_subquery(numbered, "numbered")
            .and_where(Expr::col("rn").lte(page.first as i64 + 1))
            .to_owned();
        for row in conn.query_all_raw(backend.build(&first)).await? {
            let id: i64 = row.try_get("", "id")?;
            let score: i32 = row.try_get("", "score")?;
            let owner: i64 = row.try_get("", "owner")?;
            ranked.entry(owner).or_default().push((score, id));
        }
        if page.count {
            let counted = Query::select()
                .expr_as(Expr::col(side), "owner")
                .expr_as(Expr::cust("COUNT(*)"), "n")
                .from(overlap_flag::Entity)
                .cond_where(mine)
                .group_by_col(side)
                .to_owned();
            for row in conn.query_all_raw(backend.build(&counted)).await? {
                let owner: i64 = row.try_get("", "owner")?;
                let n: i64 = row.try_get("", "n")?;
                *totals.entry(owner).or_default() += u64::try_from(n).unwrap_or_default();
            }
        }
    }
    for flags in ranked.values_mut() {
        flags.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        flags.truncate(page.first as usize + 1);
    }
    let wanted: Vec<i64> = ranked
        .values()
        .flatten()
        .map(|(_, id)| *id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut found = HashMap::new();
    for chunk in wanted.chunks(1_000) {
        found.extend(by_ids(conn, chunk).await?);
    }
    Ok(activity_ids
        .iter()
        .map(|id| {
            let rows: Vec<FlagRecord> = ranked
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|(_, flag)| found.get(flag).cloned())
                .collect();
            let total = totals.get(id).copied().unwrap_or_default();
            (*id, Page::from_rows(rows, page, total, cursor))
        })
        .collect())
}

/// Loads flags by id.
pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, FlagRecord>, StoreError> {
    let models = overlap_flag::Entity::find()
        .filter(overlap_flag::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(records(conn, models)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect())
}

/// Needs addressed per activity, for callers that only have ids.
pub async fn activity_need_ids(
    conn: &impl ConnectionTrait,
    need_id: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(activity_need::Entity::find()
        .filter(activity_need::Column::NeedId.eq(need_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.activity_id)
        .collect())
}
