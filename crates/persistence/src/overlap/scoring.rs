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
pub(super) async fn labels(
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
            names.insert(r, org.data.name);
        }
    }
    Ok((titles, names))
}

/// Published, not cancelled activities (id and version) that share a country with `a` and
/// whose windows overlap it within the look-back, read from `candidate_windows` alone.
pub(super) async fn candidates(
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
pub(crate) async fn write_candidate_windows(
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

/// The candidates of `keys` (activity id and version) that pass `a`'s screens, from the cache
/// where it holds their version and read from the registry (and cached) where not, in id
/// order.
pub(super) async fn screened_candidates(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    a: &Subject<'_>,
    keys: &[(i64, i32)],
    config: &OverlapConfig,
    today: NaiveDate,
) -> Result<Vec<Arc<Prepared>>, StoreError> {
    let (mut hits, misses) = a.screened(cache, keys, config, today);
    for chunk in misses.chunks(1000) {
        let found = activities::by_ids(conn, chunk).await?;
        let records: Vec<&ActivityRecord> = found.values().collect();
        let features = features_of(conn, &records).await?;
        for (record, f) in records.into_iter().zip(features) {
            let f = cache.prepare(f);
            cache.put(record.id, record.version, f.clone());
            if a.screen(&f, config, today) {
                hits.push(f);
            }
        }
    }
    // In id order, whichever were cached: a dry run lists its flags in this order.
    hits.sort_unstable_by_key(|f| f.id);
    Ok(hits)
}

/// The `key:value` items of a value joined with commas (`group_concat`, `string_agg`).
pub(super) fn split_pairs(joined: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    joined
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter_map(|item| item.split_once(':'))
}

/// The `term_df` row that counts the documents in the corpus: no text yields an empty term.
pub const DOCUMENT_COUNT: &str = "";

/// The number of published activities and the document frequency of each term asked for.
/// The terms travel as one JSON parameter: a dry run in a crowded country asks for thousands.
pub(super) async fn corpus(
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
pub(super) async fn update_corpus(
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
pub(crate) async fn group_of(
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
pub(crate) async fn link_groups(
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
pub(super) async fn write_edges(
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

pub(super) async fn link_edges<'a>(
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

/// How [`score_against_candidates`] treats the activity it scores.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scoring {
    /// Whether the activity is counted in the corpus already (a planned one is not).
    pub(super) in_corpus: bool,
    /// Whether to build the components and reasons of the flags found.
    pub(super) reasons: bool,
}

/// Scores `a` against its candidates and classes each pair, coordination groups considered.
pub(super) async fn score_against_candidates(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    a: &OverlapFeatures,
    exclude: Option<i64>,
    how: Scoring,
    config: &OverlapConfig,
    today: NaiveDate,
) -> Result<Vec<Scored>, StoreError> {
    let Scoring { in_corpus, reasons } = how;
    if !is_comparable(a, config, today) {
        return Ok(Vec::new());
    }
    let started = std::time::Instant::now();
    // The group does not depend on the candidates: on a pool both reads run at once, each on
    // a connection of its own (in a transaction they take turns on its one connection).
    let (keys, mut groups) = tokio::try_join!(
        candidates(conn, a, exclude, config, today),
        group_of(conn, &a.identifier, &a.coordination_links),
    )?;
    let listed = started.elapsed();
    // Pairs that could not raise a flag whatever their text need no vectors, and their words
    // no corpus lookups.
    let subject = Subject::new(a);
    let features = screened_candidates(conn, cache, &subject, &keys, config, today).await?;
    let bounded = started.elapsed();
    let mut space = cache
        .word_numbers()
        .space(&a.terms, features.iter().map(|f| f.numbers.as_slice()));
    let (mut n, mut df) = corpus(conn, space.words()).await?;
    if !in_corpus {
        // A dry run counts the planned activity as part of the registry.
        n += 1;
        for (t, _) in &a.terms {
            *df.entry(t.clone()).or_insert(0) += 1;
        }
    }
    space.weigh(n, &df);
    let looked_up = started.elapsed();
    let own_group = groups.group_of(&a.identifier);
    let flagged = score_candidates(
        &subject,
        &features,
        &space,
        |b| groups.find(&b.identifier) == Some(own_group),
        reasons,
        config,
    );
    tracing::debug!(
        candidates = keys.len(),
        past_bound = features.len(),
        terms = df.len(),
        flagged = flagged.len(),
        listed_ms = listed.as_secs_f64() * 1e3,
        bounded_ms = bounded.as_secs_f64() * 1e3,
        looked_up_ms = looked_up.as_secs_f64() * 1e3,
        scored_ms = started.elapsed().as_secs_f64() * 1e3,
        "overlap candidates scored"
    );
    Ok(flagged)
}
