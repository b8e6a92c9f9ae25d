//! The overlap engine's storage side: flags kept up to date in the transaction that changes an
//! activity, document frequencies for TF-IDF, coordination edges, review decisions, and the
//! dry run behind `checkOverlap`.
//!
//! Only published activities take part: a draft raises no flag and adds nothing to the text
//! corpus until it is published. Candidates never cross a recipient country.

use crate::activities::{self, ActivityRecord};
use crate::audit::{self, AuditEvent};
use crate::entities::{
    activity, activity_need, candidate_window, coordination_edge, need, overlap_flag,
    overlap_flag_country, term_df,
};
use crate::error::StoreError;
use crate::events::{self, Topic};
use crate::feature_cache::{FeatureCache, Prepared, in_halves};
use crate::organisations;
use crate::page::{Cursor, Page, PageRequest};
use crate::recompute;
use crate::store::Store;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::overlap::config::{DEFAULT, OverlapConfig};
use aidgraph_domain::overlap::packed::sketch::{self, Sketch};
use aidgraph_domain::overlap::packed::{self, Packed};
use aidgraph_domain::overlap::score::{flags, is_comparable, quick_score};
use aidgraph_domain::overlap::{Component, OverlapFeatures, PairScore, is_candidate, score_pair};
use aidgraph_domain::vocab::{OverlapClass, Publication, ReviewStatus, Role};
use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// One scored component as stored with a flag, as a JSON array `[key, value, weight, reason]`
/// (a third shorter than an object: a registry stores millions). Components stored as objects
/// with those names are read too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "StoredForm")]
pub struct StoredComponent {
    /// Component key.
    pub key: String,
    /// Value in [0, 1].
    pub value: f64,
    /// Weight (0 for the geo and time gates, which multiply).
    pub weight: f64,
    /// Why.
    pub reason: String,
}

impl Serialize for StoredComponent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.key, self.value, self.weight, &self.reason).serialize(serializer)
    }
}

/// The stored forms of a component.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredForm {
    Compact(String, f64, f64, String),
    Named {
        key: String,
        value: f64,
        weight: f64,
        reason: String,
    },
}

impl From<StoredForm> for StoredComponent {
    fn from(form: StoredForm) -> Self {
        let (key, value, weight, reason) = match form {
            StoredForm::Compact(key, value, weight, reason) => (key, value, weight, reason),
            StoredForm::Named {
                key,
                value,
                weight,
                reason,
            } => (key, value, weight, reason),
        };
        StoredComponent {
            key,
            value,
            weight,
            reason,
        }
    }
}

/// A stored overlap flag.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRecord {
    /// Row id.
    pub id: i64,
    /// The activity with the smaller id.
    pub activity_a_id: i64,
    /// The other activity.
    pub activity_b_id: i64,
    /// 0–100.
    pub score: u8,
    /// Class.
    pub class: OverlapClass,
    /// Gates and components with reasons.
    pub components: Vec<StoredComponent>,
    /// The rule version that computed it.
    pub config_version: String,
    /// Review state.
    pub status: ReviewStatus,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// When it was first raised.
    pub raised_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Countries the pair shares.
    pub countries: Vec<String>,
}

fn corrupt(e: aidgraph_domain::UnknownValue) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl FlagRecord {
    fn from_model(m: overlap_flag::Model, countries: Vec<String>) -> Result<Self, StoreError> {
        Ok(FlagRecord {
            id: m.id,
            activity_a_id: m.activity_a_id,
            activity_b_id: m.activity_b_id,
            score: u8::try_from(m.score).unwrap_or(0),
            class: m.class.parse().map_err(corrupt)?,
            components: serde_json::from_str(&m.components)?,
            config_version: m.config_version,
            status: m.status.parse().map_err(corrupt)?,
            reviewed_by: m.reviewed_by,
            note: m.note,
            reviewed_at: m.reviewed_at,
            raised_at: m.raised_at,
            updated_at: m.updated_at,
            countries,
        })
    }
}

/// A pair a planned activity would be flagged with.
#[derive(Debug, Clone)]
pub struct PlannedFlag {
    /// The registered activity's id.
    pub activity_id: i64,
    /// Its score against the planned one, 0–100.
    pub score: u8,
    /// The class, coordination groups considered.
    pub class: OverlapClass,
    /// The gates and components with their reasons, when asked for (empty otherwise).
    pub components: Vec<Component>,
}

/// Today's UTC date, the reference for windows and look-backs.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

// ---------------------------------------------------------------------------------------------
// Features, candidates, corpus and groups

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
async fn labels(
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
async fn candidates(
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

/// The features of the activities asked for that `keep` accepts, from the cache where it
/// holds their version; `rough` may turn away early what `keep` would (see
/// [`FeatureCache::get_many_where`]).
async fn cached_features(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    keys: &[(i64, i32)],
    rough: impl Fn(&Sketch) -> bool + Sync,
    keep: impl Fn(&Prepared) -> bool + Sync,
) -> Result<Vec<Arc<Prepared>>, StoreError> {
    let (mut hits, misses) = cache.get_many_where(keys, &rough, &keep);
    for chunk in misses.chunks(1000) {
        let found = activities::by_ids(conn, chunk).await?;
        let records: Vec<&ActivityRecord> = found.values().collect();
        let features = features_of(conn, &records).await?;
        for (record, f) in records.into_iter().zip(features) {
            let f = cache.prepare(f);
            cache.put(record.id, record.version, f.clone());
            if keep(&f) {
                hits.push(f);
            }
        }
    }
    // In id order, whichever were cached: a dry run lists its flags in this order.
    hits.sort_unstable_by_key(|f| f.id);
    Ok(hits)
}

/// The `key:value` items of a value joined with commas (`group_concat`, `string_agg`).
fn split_pairs(joined: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    joined
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter_map(|item| item.split_once(':'))
}

/// The `term_df` row that counts the documents in the corpus: no text yields an empty term.
pub const DOCUMENT_COUNT: &str = "";

/// The number of published activities and the document frequency of each term asked for.
/// The terms travel as one JSON parameter: a dry run in a crowded country asks for thousands.
async fn corpus(
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
async fn update_corpus(
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

/// The identifiers in the coordination group of `identifier`, following stored edges and, for a
/// planned activity, its own related-activity links.
pub(crate) async fn group_of(
    conn: &impl ConnectionTrait,
    identifier: &str,
    own_links: &BTreeSet<String>,
) -> Result<HashSet<String>, StoreError> {
    let mut members: HashSet<String> = HashSet::from([identifier.to_owned()]);
    members.extend(own_links.iter().cloned());
    let mut frontier: Vec<String> = members.iter().cloned().collect();
    while !frontier.is_empty() && members.len() < 10_000 {
        let mut next = Vec::new();
        for chunk in frontier.chunks(500) {
            let rows = coordination_edge::Entity::find()
                .filter(coordination_edge::Column::A.is_in(chunk.iter().cloned()))
                .all(conn)
                .await?;
            for row in rows {
                if members.insert(row.b.clone()) {
                    next.push(row.b);
                }
            }
        }
        frontier = next;
    }
    Ok(members)
}

/// Rewrites the coordination edges an activity's related-activity links create.
async fn write_edges(
    conn: &impl ConnectionTrait,
    id: i64,
    identifier: &str,
    links: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let source = format!("related:{id}");
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(source.clone()))
        .exec(conn)
        .await?;
    link_edges(conn, identifier, links.iter().map(String::as_str), &source).await
}

async fn link_edges<'a>(
    conn: &impl ConnectionTrait,
    identifier: &str,
    others: impl Iterator<Item = &'a str>,
    source: &str,
) -> Result<(), StoreError> {
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

/// Candidates past the bound from which [`score_against_candidates`] scores on two threads
/// (see [`in_halves`]): about a millisecond of work.
const SCORE_SPLIT: usize = 1024;

/// How [`score_against_candidates`] treats the activity it scores.
#[derive(Debug, Clone, Copy)]
struct Scoring {
    /// Whether the activity is counted in the corpus already (a planned one is not).
    in_corpus: bool,
    /// Whether to build the components and reasons of the flags found.
    reasons: bool,
}

/// Scores `a` against its candidates and classes each pair, coordination groups considered.
async fn score_against_candidates(
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
    let (keys, group) = tokio::try_join!(
        candidates(conn, a, exclude, config, today),
        group_of(conn, &a.identifier, &a.coordination_links),
    )?;
    let listed = started.elapsed();
    // Pairs that could not raise a flag whatever their text need no vectors, and their words
    // no corpus lookups.
    let packed = Packed::of(a);
    let sketch = packed.sketch();
    let features = cached_features(
        conn,
        cache,
        &keys,
        |b| sketch::may_flag(&sketch, b, config),
        |b| {
            packed::may_flag(&packed, &b.packed, config)
                && is_candidate(a, &b.features, config, today)
        },
    )
    .await?;
    let bounded = started.elapsed();
    let mut space = cache
        .vocabulary()
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
    let past_bound = features.len();
    let va = space.own_vector(&a.terms);
    let score = |b: &Arc<Prepared>| {
        let vb = space.vector(&b.terms, &b.numbers);
        let text = (!va.is_empty() && !vb.is_empty()).then(|| va.cosine(&vb));
        let (quick, quick_class) = packed::quick_score(&packed, &b.packed, text, config)
            .unwrap_or_else(|| quick_score(a, b, &va, &vb, config));
        if !flags(quick, quick_class, config) {
            return None;
        }
        // The quick score is the full score without its reasons (a property test holds them
        // equal), so reasons are built only when asked for.
        let full = reasons.then(|| score_pair(a, b, &va, &vb, config));
        let class = if quick_class != OverlapClass::DoubleReporting
            && (group.contains(&b.identifier)
                || !b.coordination_links.is_disjoint(&a.coordination_links)
                || b.coordination_links.contains(&a.identifier))
        {
            OverlapClass::Coordinated
        } else {
            quick_class
        };
        Some(Scored {
            features: b.clone(),
            score: quick,
            class,
            full,
        })
    };
    // Halves kept in id order.
    let flagged = in_halves(
        &features,
        SCORE_SPLIT,
        |part| part.iter().filter_map(score).collect::<Vec<_>>(),
        |mut first, second| {
            first.extend(second);
            first
        },
    );
    tracing::debug!(
        candidates = keys.len(),
        past_bound,
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

/// A candidate with its features, score and class (coordination groups considered), and its
/// full score with reasons when they were asked for.
struct Scored {
    features: Arc<Prepared>,
    score: u8,
    class: OverlapClass,
    full: Option<PairScore>,
}

// ---------------------------------------------------------------------------------------------
// Keeping flags current

/// The digest a review decision is kept against: the fingerprints of the pair's lower and
/// higher id (see [`OverlapFeatures::fingerprint`]).
pub(crate) fn input_hash_of(first: &str, second: &str) -> String {
    input_hash_after(input_hash_start(first), second)
}

/// [`input_hash_of`] begun with the first fingerprint, to be finished with
/// [`input_hash_after`]: an activity in many flags is hashed once as the first of the pair.
pub(crate) fn input_hash_start(first: &str) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(first.as_bytes());
    hasher.update(b"\x1f");
    hasher
}

/// Finishes an input hash begun with [`input_hash_start`].
pub(crate) fn input_hash_after(mut started: Sha256, second: &str) -> String {
    started.update(second.as_bytes());
    hex::encode(started.finalize())
}

/// The components of a score as a flag stores them (see [`StoredComponent`]).
pub(crate) fn components_json(score: &PairScore) -> String {
    let parts: Vec<(&str, f64, f64, &str)> = score
        .components
        .iter()
        .map(|c| {
            (
                c.key,
                (c.value * 1e6).round() / 1e6,
                c.weight,
                c.reason.as_str(),
            )
        })
        .collect();
    serde_json::to_string(&parts).unwrap_or_default()
}

async fn flags_touching(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<overlap_flag::Model>, StoreError> {
    Ok(overlap_flag::Entity::find()
        .filter(
            Condition::any()
                .add(overlap_flag::Column::ActivityAId.eq(id))
                .add(overlap_flag::Column::ActivityBId.eq(id)),
        )
        .all(conn)
        .await?)
}

async fn delete_flag(
    conn: &impl ConnectionTrait,
    flag: &overlap_flag::Model,
) -> Result<(), StoreError> {
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(format!("review:{}", flag.id)))
        .exec(conn)
        .await?;
    overlap_flag_country::Entity::delete_many()
        .filter(overlap_flag_country::Column::FlagId.eq(flag.id))
        .exec(conn)
        .await?;
    overlap_flag::Entity::delete_by_id(flag.id)
        .exec(conn)
        .await?;
    Ok(())
}

/// What a refresh did, for events.
#[derive(Debug, Clone, Default)]
pub struct RefreshOutcome {
    /// Flags raised or changed.
    pub changed: Vec<i64>,
    /// Flags removed (pair no longer overlapping).
    pub removed: usize,
}

/// Recomputes the flags of one activity after it changed, in the caller's transaction.
/// `previous` is its data and publication before the change (`None` when new).
pub async fn refresh(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    record: &ActivityRecord,
    previous: Option<(&ActivityData, Publication)>,
) -> Result<RefreshOutcome, StoreError> {
    let config = &DEFAULT;
    let today = today();
    let features = features_of(conn, &[record]).await?.remove(0);
    write_candidate_windows(
        conn,
        record.id,
        record.version,
        record.publication,
        &record.data,
    )
    .await?;
    write_edges(
        conn,
        record.id,
        &record.data.iati_identifier,
        &features.coordination_links,
    )
    .await?;
    let old_terms = previous
        .filter(|(_, p)| *p == Publication::Published)
        .map(|(d, _)| OverlapFeatures::of(0, d, BTreeMap::new(), &BTreeMap::new()).terms);
    let published = record.publication == Publication::Published;
    update_corpus(
        conn,
        old_terms.as_deref(),
        published.then_some(features.terms.as_slice()),
    )
    .await?;

    let mut existing: HashMap<i64, overlap_flag::Model> = flags_touching(conn, record.id)
        .await?
        .into_iter()
        .map(|f| {
            let partner = if f.activity_a_id == record.id {
                f.activity_b_id
            } else {
                f.activity_a_id
            };
            (partner, f)
        })
        .collect();
    let mut outcome = RefreshOutcome::default();
    let scored = if published {
        score_against_candidates(
            conn,
            cache,
            &features,
            Some(record.id),
            Scoring {
                in_corpus: true,
                reasons: true,
            },
            config,
            today,
        )
        .await?
    } else {
        Vec::new()
    };
    let now = Utc::now();
    let own_fingerprint = features.fingerprint();
    // New flags, and for every flag written its id (`None` until inserted), shared countries
    // and two reporting organisations, the last two as JSON arrays.
    let mut new_flags: Vec<recompute::NewFlag<String>> = Vec::new();
    let mut written: Vec<(Option<i64>, String, String)> = Vec::new();
    for Scored {
        features: other_features,
        class,
        full,
        ..
    } in scored
    {
        let score = full.ok_or_else(|| StoreError::Corrupt("a flag without reasons".into()))?;
        if !score.is_flag(config) {
            continue;
        }
        let hash = if record.id < other_features.id {
            input_hash_of(&own_fingerprint, other_features.fingerprint())
        } else {
            input_hash_of(other_features.fingerprint(), &own_fingerprint)
        };
        let pair = (
            Ord::min(record.id, other_features.id),
            Ord::max(record.id, other_features.id),
        );
        let components = components_json(&score);
        let countries: Vec<&String> = features
            .countries
            .intersection(&other_features.countries)
            .collect();
        let about = (
            recompute::json(&countries),
            recompute::json(&[
                record.data.reporting_org.as_str(),
                other_features.reporting_org.as_str(),
            ]),
        );
        match existing.remove(&other_features.id) {
            Some(flag) => {
                let same_inputs = flag.input_hash == hash;
                let unchanged = same_inputs
                    && flag.score == i32::from(score.score)
                    && flag.class == class.as_str()
                    && flag.components == components
                    && flag.config_version == config.version;
                if unchanged {
                    continue;
                }
                let updated = recompute::NewFlag {
                    pair,
                    score: score.score,
                    class,
                    components,
                    hash,
                };
                recompute::update_flag(conn, flag.id, !same_inputs, &updated, now).await?;
                written.push((Some(flag.id), about.0, about.1));
            }
            None => {
                new_flags.push(recompute::NewFlag {
                    pair,
                    score: score.score,
                    class,
                    components,
                    hash,
                });
                written.push((None, about.0, about.1));
            }
        }
    }
    // In one statement each, as a recomputation writes them: an activity in a crowded country
    // may raise hundreds of flags.
    let writing = std::time::Instant::now();
    let inserted = new_flags.len();
    let mut new_ids = recompute::insert_flags(conn, &new_flags, now)
        .await?
        .into_iter();
    let mut rows = Vec::with_capacity(written.len());
    for (id, countries, providers) in &written {
        let id = match id {
            Some(id) => *id,
            None => new_ids
                .next()
                .ok_or_else(|| StoreError::Corrupt("a new flag has no id".to_owned()))?,
        };
        rows.push((id, countries.as_str(), providers.as_str()));
        outcome.changed.push(id);
    }
    let flags_written = writing.elapsed();
    recompute::record_written(conn, &rows).await?;
    let recorded = writing.elapsed();
    for flag in existing.values() {
        delete_flag(conn, flag).await?;
        outcome.removed += 1;
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    tracing::debug!(
        inserted,
        written = rows.len(),
        removed = outcome.removed,
        flags_ms = ms(flags_written),
        countries_and_events_ms = ms(recorded - flags_written),
        removing_ms = ms(writing.elapsed() - recorded),
        "overlap flags written"
    );
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Reading, reviewing, dry runs

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

async fn countries_of(
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

async fn records(
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

async fn flag_condition(
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
fn after_in_rank(after: &Cursor) -> Condition {
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

/// Records a review decision. Coordinators and admins may review any flag; providers only
/// flags on their own activities.
pub async fn review(
    store: &Store,
    who: &Principal,
    id: i64,
    status: ReviewStatus,
    note: Option<String>,
) -> Result<FlagRecord, StoreError> {
    if !matches!(who.role, Role::Admin | Role::Coordinator | Role::Provider) {
        return Err(StoreError::Forbidden(
            "only coordinators and the providers involved may review overlap flags".into(),
        ));
    }
    let txn = store.begin_write().await?;
    let flag = overlap_flag::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| StoreError::not_found("overlap flag", id))?;
    let pair = activities::by_ids(&*txn, &[flag.activity_a_id, flag.activity_b_id]).await?;
    let (Some(a), Some(b)) = (pair.get(&flag.activity_a_id), pair.get(&flag.activity_b_id)) else {
        return Err(StoreError::Corrupt(format!("flag {id} lost an activity")));
    };
    if who.role == Role::Provider
        && !(who.may_manage_activity(&a.data.reporting_org)
            || who.may_manage_activity(&b.data.reporting_org))
    {
        return Err(StoreError::Forbidden(
            "providers may review only flags on their own activities".into(),
        ));
    }
    let before = flag.status.clone();
    let source = format!("review:{id}");
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(source.clone()))
        .exec(&*txn)
        .await?;
    if status.coordinates() {
        link_edges(
            &*txn,
            &a.data.iati_identifier,
            std::iter::once(b.data.iati_identifier.as_str()),
            &source,
        )
        .await?;
    }
    let now = Utc::now();
    let mut active: overlap_flag::ActiveModel = flag.into();
    active.status = Set(status.as_str().to_owned());
    active.note = Set(note.clone());
    active.reviewed_by = Set(Some(who.subject.clone()));
    active.reviewed_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(&*txn).await?;
    // The decision may change the pair's class (and coverage): recompute from one side.
    let a = a.clone();
    refresh(&*txn, store.features(), &a, Some((&a.data, a.publication))).await?;
    audit::record(
        &*txn,
        who,
        AuditEvent {
            entity: "overlap_flag",
            entity_id: id,
            action: "review",
            before: Some(&before),
            after: Some(&(status.as_str(), &note)),
            on_behalf_of: None,
        },
    )
    .await?;
    events::record(
        &*txn,
        Topic::OverlapFlag,
        &[],
        &[&a.data.reporting_org, &b.data.reporting_org],
        id,
    )
    .await?;
    // The decision may merge or split coordination groups, so coverage may change.
    let links = activities::need_ids_of(&*txn, &[a.id, b.id]).await?;
    for (activity_id, need_ids) in links {
        let org = if activity_id == a.id {
            &a.data.reporting_org
        } else {
            &b.data.reporting_org
        };
        activities::coverage_events(&*txn, &need_ids, org).await?;
    }
    txn.commit().await?;
    store.events().wake();
    by_ids(store.db(), &[id])
        .await?
        .remove(&id)
        .ok_or_else(|| StoreError::not_found("overlap flag", id))
}

/// The flags a planned activity would raise if registered and published now; nothing is
/// stored. An activity already registered under the same identifier is left out. Their
/// components and reasons are built only when `reasons` is set: a planned activity in a
/// crowded country may raise hundreds of flags, and a caller may want only their scores.
pub async fn dry_run(
    conn: &impl ConnectionTrait,
    cache: &FeatureCache,
    data: &ActivityData,
    need_ids: &[i64],
    reasons: bool,
) -> Result<Vec<PlannedFlag>, StoreError> {
    let config = &DEFAULT;
    // A planned activity already registered under its identifier is not its own candidate.
    let existing = activity::Entity::find()
        .select_only()
        .column(activity::Column::Id)
        .filter(activity::Column::IatiIdentifier.eq(data.iati_identifier.as_str()))
        .into_tuple::<i64>()
        .one(conn);
    let planned = [data];
    let ((titles, names), existing) =
        tokio::try_join!(labels(conn, &planned, need_ids.iter().copied()), async {
            Ok(existing.await?)
        },)?;
    let needs = need_ids
        .iter()
        .map(|n| (*n, titles.get(n).cloned().unwrap_or_default()))
        .collect();
    let features = OverlapFeatures::of(0, data, needs, &names);
    let scored = score_against_candidates(
        conn,
        cache,
        &features,
        existing,
        Scoring {
            in_corpus: false,
            reasons,
        },
        config,
        today(),
    )
    .await?;
    Ok(scored
        .into_iter()
        .map(|s| PlannedFlag {
            activity_id: s.features.id,
            score: s.score,
            class: s.class,
            components: s.full.map(|f| f.components).unwrap_or_default(),
        })
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

/// Fills the feature cache with every published activity, so the first writes and dry runs
/// after start-up do not parse thousands of stored documents. Returns how many were cached.
pub async fn warm_cache(store: &Store) -> Result<usize, StoreError> {
    let mut after = 0i64;
    let mut cached = 0;
    loop {
        let records = activities::published_after(store.db(), after, 2000).await?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        after = last;
        let refs: Vec<&ActivityRecord> = records.iter().collect();
        let features = features_of(store.db(), &refs).await?;
        for (record, f) in records.iter().zip(features) {
            store
                .features()
                .put(record.id, record.version, store.features().prepare(f));
        }
        cached += records.len();
    }
    Ok(cached)
}

#[cfg(test)]
mod tests {
    use super::StoredComponent;

    #[test]
    fn components_are_stored_as_arrays_and_read_in_either_form() -> serde_json::Result<()> {
        let time = StoredComponent {
            key: "time".into(),
            value: 0.55283,
            weight: 0.0,
            reason: "Overlap 293 of 530 days".into(),
        };
        let stored = serde_json::to_string(&[&time])?;
        assert_eq!(
            stored,
            r#"[["time",0.55283,0.0,"Overlap 293 of 530 days"]]"#
        );
        let read: Vec<StoredComponent> = serde_json::from_str(&stored)?;
        assert_eq!(read, std::slice::from_ref(&time));
        let named =
            r#"[{"key":"time","value":0.55283,"weight":0.0,"reason":"Overlap 293 of 530 days"}]"#;
        let read: Vec<StoredComponent> = serde_json::from_str(named)?;
        assert_eq!(read, [time]);
        Ok(())
    }
}
