//! Features, candidates, the text corpus and coordination groups, and scoring one
//! activity against its candidates.

use super::*;

/// Builds overlap features for stored activities, with their need titles and implementer
/// names.
pub async fn features_of(
    conn: &impl ConnectionTrait,
    records: &[&ActivityRecord],
) -> Result<Vec<OverlapFeatures>, StoreError> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in ids.chunks(500) {
        links.extend(activities::need_ids_of(conn, chunk).await?);
    }
    let data: Vec<&ActivityData> = records.iter().map(|r| &r.data).collect();
    let (titles, names) = labels(conn, &data, links.values().flatten().copied()).await?;
    Ok(records
        .iter()
        .map(|r| {
            let needs = links
                .get(&r.id)
                .into_iter()
                .flatten()
                .map(|n| (*n, titles.get(n).cloned().unwrap_or_default()))
                .collect();
            OverlapFeatures::of(r.id, &r.data, needs, &names)
        })
        .collect())
}

/// Need titles and organisation names for reasons.
pub async fn labels(
    conn: &impl ConnectionTrait,
    data: &[&ActivityData],
    need_ids: impl Iterator<Item = i64>,
) -> Result<(HashMap<i64, String>, BTreeMap<String, String>), StoreError> {
    let need_ids: BTreeSet<i64> = need_ids.collect();
    let mut titles = HashMap::new();
    let need_ids: Vec<i64> = need_ids.into_iter().collect();
    for chunk in need_ids.chunks(500) {
        let rows = need::Entity::find()
            .filter(need::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        titles.extend(rows.into_iter().map(|n| (n.id, n.title)));
    }
    let refs: BTreeSet<String> = data
        .iter()
        .flat_map(|d| d.participating_orgs.iter().map(|p| p.org_ref.clone()))
        .collect();
    let refs: Vec<String> = refs.into_iter().collect();
    let mut names = BTreeMap::new();
    for chunk in refs.chunks(500) {
        for (r, org) in organisations::by_refs(conn, chunk).await? {
            names.insert(r, org.data.into_fields().name);
        }
    }
    Ok((titles, names))
}

/// Published, not cancelled activities (id and version) that share a country with `a` and
/// whose windows overlap it within the look-back, read from `candidate_windows` alone.
pub async fn candidates(
    conn: &impl ConnectionTrait,
    a: &OverlapFeatures,
    exclude: Option<i64>,
    config: &OverlapConfig,
    today: NaiveDate,
) -> Result<Vec<(i64, i32)>, StoreError> {
    let Some(window) = a.window else {
        return Ok(Vec::new());
    };
    let horizon = today
        .checked_sub_months(Months::new(12 * config.lookback_years))
        .unwrap_or(NaiveDate::MIN);
    let postgres = conn.get_database_backend() == DatabaseBackend::Postgres;
    // In a crowded country there are thousands, read as one row: the SQLite driver hands
    // every row from its own thread to the caller's, which costs more than the query. On
    // PostgreSQL two arrays of numbers, aggregated in the same order and read in binary,
    // which spares the server writing each out as text; on SQLite one text.
    let mut query = candidate_window::Entity::find().select_only();
    if postgres {
        query = query
            .column_as(Expr::cust("array_agg(activity_id)"), "ids")
            .column_as(Expr::cust("array_agg(version)"), "versions");
    } else {
        query = query.column_as(
            Expr::cust("group_concat(activity_id || ':' || version, ',')"),
            "pairs",
        );
    }
    let mut query = query
        .filter(candidate_window::Column::Code.is_in(a.countries.iter().cloned()))
        .filter(candidate_window::Column::WindowStart.lte(window.end))
        .filter(candidate_window::Column::WindowEnd.gte(Ord::max(window.start, horizon)));
    if let Some(id) = exclude {
        query = query.filter(candidate_window::Column::ActivityId.ne(id));
    }
    let mut rows: Vec<(i64, i32)> = if postgres {
        type Listed = (Option<Vec<i64>>, Option<Vec<i32>>);
        let (ids, versions) = query
            .into_tuple::<Listed>()
            .one(conn)
            .await?
            .unwrap_or_default();
        ids.into_iter()
            .flatten()
            .zip(versions.into_iter().flatten())
            .collect()
    } else {
        let pairs: Option<String> = query.into_tuple().one(conn).await?.flatten();
        split_pairs(pairs.as_deref())
            .filter_map(|(id, version)| Some((id.parse().ok()?, version.parse().ok()?)))
            .collect()
    };
    // A multi-country activity appears once per shared country.
    rows.sort_unstable();
    rows.dedup();
    Ok(rows)
}

/// Keeps an activity's `candidate_windows` rows in line with its data: one per recipient
/// country while it is published, not cancelled and has a window.
pub async fn write_candidate_windows(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    publication: Publication,
    data: &ActivityData,
) -> Result<(), StoreError> {
    candidate_window::Entity::delete_many()
        .filter(candidate_window::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    let eligible = publication == Publication::Published
        && data.status != aidgraph_domain::vocab::ActivityStatus::Cancelled;
    if let (true, Some(window)) = (eligible, data.window())
        && !data.recipient_countries.is_empty()
    {
        candidate_window::Entity::insert_many(data.recipient_countries.iter().map(|c| {
            candidate_window::ActiveModel {
                code: Set(c.code.clone()),
                activity_id: Set(id),
                window_start: Set(window.start),
                window_end: Set(window.end),
                version: Set(version),
            }
        }))
        .on_conflict_do_nothing()
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// The `key:value` items of a value joined with commas (`group_concat`, `string_agg`).
pub fn split_pairs(joined: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    joined
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter_map(|item| item.split_once(':'))
}

/// The `term_df` row that counts the documents in the corpus: no text yields an empty term.
pub const DOCUMENT_COUNT: &str = "";

/// The number of published activities and the document frequency of each term asked for.
/// The terms travel as one JSON parameter: a dry run in a crowded country asks for thousands.
pub async fn corpus(
    conn: &impl ConnectionTrait,
    terms: impl Iterator<Item = &str>,
) -> Result<(u64, HashMap<String, u64>), StoreError> {
    let mut asked: Vec<&str> = terms.collect();
    asked.push(DOCUMENT_COUNT);
    let backend = conn.get_database_backend();
    let sql = if backend == DatabaseBackend::Postgres {
        "SELECT string_agg(term || ':' || df, ',') FROM term_df \
         WHERE term IN (SELECT json_array_elements_text($1::json))"
    } else {
        "SELECT group_concat(term || ':' || df, ',') FROM term_df \
         WHERE term IN (SELECT value FROM json_each(?1))"
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [serde_json::to_string(&asked)?.into()],
        ))
        .await?;
    // Terms are letters and digits only, so they join safely.
    let pairs: Option<String> = row.map(|r| r.try_get_by_index(0)).transpose()?.flatten();
    let mut df: HashMap<String, u64> = split_pairs(pairs.as_deref())
        .filter_map(|(term, n)| Some((term.to_owned(), n.parse::<u64>().ok()?)))
        .collect();
    let n = df.remove(DOCUMENT_COUNT).unwrap_or(0);
    Ok((n, df))
}

/// Moves an activity's terms in or out of the corpus: `old` and `new` are its term sets
/// before and after (`None` when it was or is not published).
pub async fn update_corpus(
    conn: &impl ConnectionTrait,
    old: Option<&[(String, u32)]>,
    new: Option<&[(String, u32)]>,
) -> Result<(), StoreError> {
    // The empty term, which no text yields, counts the documents.
    let mut old_set: BTreeSet<&str> = old.into_iter().flatten().map(|(t, _)| t.as_str()).collect();
    if old.is_some() {
        old_set.insert(DOCUMENT_COUNT);
    }
    let mut new_set: BTreeSet<&str> = new.into_iter().flatten().map(|(t, _)| t.as_str()).collect();
    if new.is_some() {
        new_set.insert(DOCUMENT_COUNT);
    }
    let (old, new) = (old_set, new_set);
    let removed: Vec<String> = old.difference(&new).map(|t| (*t).to_owned()).collect();
    let added: Vec<&str> = new.difference(&old).copied().collect();
    for chunk in removed.chunks(500) {
        term_df::Entity::update_many()
            .col_expr(term_df::Column::Df, Expr::col(term_df::Column::Df).sub(1))
            .filter(term_df::Column::Term.is_in(chunk.iter().cloned()))
            .exec(conn)
            .await?;
    }
    // Sorted terms: concurrent writers lock rows in one order.
    for chunk in added.chunks(200) {
        term_df::Entity::insert_many(chunk.iter().map(|t| term_df::ActiveModel {
            term: Set((*t).to_owned()),
            df: Set(1),
        }))
        .on_conflict(
            OnConflict::column(term_df::Column::Term)
                .value(
                    term_df::Column::Df,
                    Expr::col((term_df::Entity, term_df::Column::Df)).add(1),
                )
                .to_owned(),
        )
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// The coordination group of `identifier`: the stored edges walked from it and, for a planned
/// activity, from its own related-activity links, which link it too.
pub async fn group_of(
    conn: &impl ConnectionTrait,
    identifier: &str,
    own_links: &BTreeSet<String>,
) -> Result<Groups, StoreError> {
    let mut groups = Groups::default();
    for link in own_links {
        groups.link(identifier, link);
    }
    let start = std::iter::once(identifier.to_owned()).chain(own_links.iter().cloned());
    walk_edges(conn, start, |_| MAX_WALKED, |a, b| groups.link(a, b)).await?;
    Ok(groups)
}

/// Links in `groups` every activity of `identifiers` with the members of its coordination
/// group, walking the stored edges from all of them at once: a round trip per step of the walk
/// (and per 500 identifiers), not per activity. Walks past at most `MAX_WALKED` identifiers
/// beyond those given, as [`group_of`] does for one activity.
pub async fn link_groups(
    conn: &impl ConnectionTrait,
    identifiers: impl IntoIterator<Item = String>,
    groups: &mut Groups,
) -> Result<(), StoreError> {
    walk_edges(
        conn,
        identifiers,
        |given| given + MAX_WALKED,
        |a, b| groups.link(a, b),
    )
    .await?;
    Ok(())
}

/// Most identifiers a walk of the coordination graph reaches.
const MAX_WALKED: usize = 10_000;

/// Walks the stored coordination edges breadth-first from `start`, calling `on_edge` for each
/// edge read, until no identifier is new or `limit(start count)` identifiers are known; the
/// identifiers reached, `start` included.
async fn walk_edges(
    conn: &impl ConnectionTrait,
    start: impl IntoIterator<Item = String>,
    limit: impl FnOnce(usize) -> usize,
    mut on_edge: impl FnMut(&str, &str),
) -> Result<HashSet<String>, StoreError> {
    let mut seen: HashSet<String> = start.into_iter().collect();
    let limit = limit(seen.len());
    let mut frontier: Vec<String> = seen.iter().cloned().collect();
    while !frontier.is_empty() && seen.len() < limit {
        let mut next = Vec::new();
        for chunk in frontier.chunks(500) {
            let edges: Vec<(String, String)> = coordination_edge::Entity::find()
                .select_only()
                .column(coordination_edge::Column::A)
                .column(coordination_edge::Column::B)
                .filter(coordination_edge::Column::A.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(conn)
                .await?;
            for (a, b) in edges {
                on_edge(&a, &b);
                if seen.insert(b.clone()) {
                    next.push(b);
                }
            }
        }
        frontier = next;
    }
    Ok(seen)
}

/// Rewrites the coordination edges an activity's related-activity links create.
pub async fn write_edges(
    conn: &impl ConnectionTrait,
    id: i64,
    identifier: &str,
    links: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let source = EdgeSource::Related(id);
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(source.to_string()))
        .exec(conn)
        .await?;
    link_edges(conn, identifier, links.iter().map(String::as_str), source).await
}

/// Links `identifier` with each of `others`, in both directions, for `source`.
pub async fn link_edges<'a>(
    conn: &impl ConnectionTrait,
    identifier: &str,
    others: impl Iterator<Item = &'a str>,
    source: EdgeSource,
) -> Result<(), StoreError> {
    let source = source.to_string();
    let mut rows = Vec::new();
    for other in others {
        for (a, b) in [(identifier, other), (other, identifier)] {
            rows.push(coordination_edge::ActiveModel {
                a: Set(a.to_owned()),
                b: Set(b.to_owned()),
                source: Set(source.to_owned()),
            });
        }
    }
    if !rows.is_empty() {
        coordination_edge::Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec(conn)
            .await?;
    }
    Ok(())
}
