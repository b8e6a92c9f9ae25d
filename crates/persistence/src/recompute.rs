//! Full recomputation of overlap flags, partitioned by recipient country: every published
//! activity's features are loaded once, the text corpus is rebuilt, candidate pairs are found
//! per country by sweeping windows sorted by start, and the stored flags are brought in line
//! (review decisions kept where the pair's inputs did not change).

use crate::activities::{self, ActivityRecord};
use crate::entities::{activity, coordination_edge, overlap_flag, overlap_flag_country, term_df};
use crate::error::StoreError;
use crate::events::{self, Pending, Topic};
use crate::overlap::{self, features_of, input_hash, stored_components};
use crate::store::Store;
use aidgraph_domain::overlap::config::{DEFAULT, OverlapConfig};
use aidgraph_domain::overlap::groups::Groups;
use aidgraph_domain::overlap::score::{flags, is_comparable, may_flag, quick_score};
use aidgraph_domain::overlap::{OverlapFeatures, TextVector, is_candidate, score_pair};
use aidgraph_domain::vocab::{OverlapClass, Publication, ReviewStatus};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// What a recomputation did.
#[derive(Debug, Clone, Default)]
pub struct RecomputeSummary {
    /// Published activities considered.
    pub activities: usize,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Flags stored afterwards (in the countries recomputed).
    pub flags: usize,
    /// Flags added.
    pub added: usize,
    /// Flags changed.
    pub changed: usize,
    /// Flags removed.
    pub removed: usize,
    /// Seconds spent loading, scoring and writing.
    pub seconds: (f64, f64, f64),
}

/// Progress reports: a phase name, work done and work in all.
pub trait Progress {
    /// Called as work advances.
    fn report(&mut self, phase: &str, done: u64, total: u64);
}

impl<F: FnMut(&str, u64, u64)> Progress for F {
    fn report(&mut self, phase: &str, done: u64, total: u64) {
        self(phase, done, total)
    }
}

struct Computed {
    pair: (i64, i64),
    score: u8,
    class: OverlapClass,
    components: String,
    hash: String,
    countries: Vec<String>,
    providers: [String; 2],
}

/// Loads every published activity with its features, in pages.
async fn load_all(
    store: &Store,
    progress: &mut impl Progress,
) -> Result<Vec<(ActivityRecord, OverlapFeatures)>, StoreError> {
    let total = activity::Entity::find()
        .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
        .count(store.db())
        .await?;
    let mut out = Vec::with_capacity(total as usize);
    let mut after = 0i64;
    loop {
        let records = activities::published_after(store.db(), after, 2000).await?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        after = last;
        let refs: Vec<&ActivityRecord> = records.iter().collect();
        let features = features_of(store.db(), &refs).await?;
        out.extend(records.into_iter().zip(features));
        progress.report("loading activities", out.len() as u64, total);
    }
    Ok(out)
}

/// Scores every candidate pair in `country` among `members` (indices into `all`); a pair
/// sharing several countries is scored only in the first of them.
fn score_country(
    country: &str,
    members: &[usize],
    all: &[(ActivityRecord, OverlapFeatures)],
    vectors: &[TextVector],
    groups: &Groups,
    config: &OverlapConfig,
    today: NaiveDate,
) -> (Vec<Computed>, u64) {
    let mut groups = groups.clone();
    let mut sorted: Vec<usize> = members
        .iter()
        .copied()
        .filter(|i| is_comparable(&all[*i].1, config, today))
        .collect();
    sorted.sort_by_key(|i| all[*i].1.window.map(|w| w.start));
    let mut out = Vec::new();
    let mut scored = 0;
    for (k, &i) in sorted.iter().enumerate() {
        let a = &all[i].1;
        let Some(wa) = a.window else { continue };
        for &j in &sorted[k + 1..] {
            let b = &all[j].1;
            let Some(wb) = b.window else { continue };
            if wb.start > wa.end {
                break;
            }
            let first_shared = a.countries.intersection(&b.countries).next();
            if first_shared.map(String::as_str) != Some(country) {
                continue;
            }
            if !is_candidate(a, b, config, today) {
                continue;
            }
            scored += 1;
            if !may_flag(a, b, config) {
                continue;
            }
            let (quick, quick_class) = quick_score(a, b, &vectors[i], &vectors[j], config);
            if !flags(quick, quick_class, config) {
                continue;
            }
            let score = score_pair(a, b, &vectors[i], &vectors[j], config);
            let class = if score.class != OverlapClass::DoubleReporting
                && groups.same(&a.identifier, &b.identifier)
            {
                OverlapClass::Coordinated
            } else {
                score.class
            };
            let (x, y) = if a.id < b.id { (i, j) } else { (j, i) };
            out.push(Computed {
                pair: (all[x].0.id, all[y].0.id),
                score: score.score,
                class,
                components: serde_json::to_string(&stored_components(&score)).unwrap_or_default(),
                hash: input_hash(a, b),
                countries: a.countries.intersection(&b.countries).cloned().collect(),
                providers: [
                    all[x].0.data.reporting_org.clone(),
                    all[y].0.data.reporting_org.clone(),
                ],
            });
        }
    }
    (out, scored)
}

/// Recomputes every flag (or those of pairs sharing `country`), reporting progress.
pub async fn recompute(
    store: &Store,
    country: Option<&str>,
    mut progress: impl Progress,
) -> Result<RecomputeSummary, StoreError> {
    let config = &DEFAULT;
    let today = overlap::today();
    let country = country.map(str::to_ascii_uppercase);
    let started = Instant::now();
    let all = load_all(store, &mut progress).await?;

    // The corpus, rebuilt from the published activities.
    let mut df: HashMap<&str, u64> = HashMap::new();
    for (_, f) in &all {
        for (t, _) in &f.terms {
            *df.entry(t.as_str()).or_insert(0) += 1;
        }
    }
    let n = all.len() as u64;
    df.insert(overlap::DOCUMENT_COUNT, n);
    let vectors: Vec<TextVector> = all
        .iter()
        .map(|(_, f)| TextVector::new(&f.terms, n, |t| df.get(t).copied().unwrap_or(0)))
        .collect();

    let mut groups = Groups::default();
    for e in coordination_edge::Entity::find().all(store.db()).await? {
        groups.link(&e.a, &e.b);
    }

    let mut by_country: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, f)) in all.iter().enumerate() {
        for c in &f.countries {
            if country.as_deref().is_none_or(|only| only == c) {
                by_country.entry(c.as_str()).or_default().push(i);
            }
        }
    }
    let loaded = started.elapsed().as_secs_f64();

    // Score the countries on every core, largest first.
    let scoring = Instant::now();
    let mut work: Vec<(&str, Vec<usize>)> = by_country.into_iter().collect();
    work.sort_by_key(|(_, m)| std::cmp::Reverse(m.len()));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total_countries = work.len() as u64;
    let mut computed: Vec<Computed> = Vec::new();
    let mut pairs_scored = 0;
    let (all_ref, vectors_ref, groups_ref) = (&all, &vectors, &groups);
    let results: Vec<(Vec<Computed>, u64)> = std::thread::scope(|scope| {
        let mut buckets: Vec<Vec<(&str, Vec<usize>)>> = (0..threads).map(|_| Vec::new()).collect();
        for (k, item) in work.into_iter().enumerate() {
            buckets[k % threads].push(item);
        }
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|bucket| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut scored = 0;
                    for (c, members) in bucket {
                        let (flags, n) = score_country(
                            c,
                            &members,
                            all_ref,
                            vectors_ref,
                            groups_ref,
                            config,
                            today,
                        );
                        out.extend(flags);
                        scored += n;
                    }
                    (out, scored)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (flags, scored) in results {
        computed.extend(flags);
        pairs_scored += scored;
    }
    progress.report("scoring countries", total_countries, total_countries);
    let scored_secs = scoring.elapsed().as_secs_f64();

    let writing = Instant::now();
    let summary = write(store, country.as_deref(), &df, computed, &mut progress).await?;
    Ok(RecomputeSummary {
        activities: all.len(),
        pairs_scored,
        seconds: (loaded, scored_secs, writing.elapsed().as_secs_f64()),
        ..summary
    })
}

/// A flag's countries to write once its id is known (`None` until inserted).
type PendingCountries<'a> = (Option<i64>, (i64, i64), &'a [String]);

async fn write(
    store: &Store,
    country: Option<&str>,
    df: &HashMap<&str, u64>,
    computed: Vec<Computed>,
    progress: &mut impl Progress,
) -> Result<RecomputeSummary, StoreError> {
    let mut summary = RecomputeSummary {
        flags: computed.len(),
        ..RecomputeSummary::default()
    };
    // Existing flags in scope.
    let mut existing: HashMap<(i64, i64), overlap_flag::Model> = HashMap::new();
    let mut after = 0;
    loop {
        let mut query = overlap_flag::Entity::find()
            .filter(overlap_flag::Column::Id.gt(after))
            .order_by_asc(overlap_flag::Column::Id)
            .limit(10_000);
        if let Some(c) = country {
            query = query.filter(
                overlap_flag::Column::Id.in_subquery(
                    Query::select()
                        .column(overlap_flag_country::Column::FlagId)
                        .from(overlap_flag_country::Entity)
                        .and_where(overlap_flag_country::Column::Code.eq(c))
                        .to_owned(),
                ),
            );
        }
        let rows = query.all(store.db()).await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        after = last;
        existing.extend(
            rows.into_iter()
                .map(|r| ((r.activity_a_id, r.activity_b_id), r)),
        );
    }

    let now = Utc::now();
    let total = computed.len() as u64;
    let mut done = 0;
    for chunk in computed.chunks(2000) {
        let txn = store.begin_write().await?;
        let mut inserts = Vec::new();
        let mut pending_countries: Vec<PendingCountries<'_>> = Vec::new();
        let mut pending_events = Vec::new();
        for c in chunk {
            match existing.remove(&c.pair) {
                Some(flag) => {
                    let same_inputs = flag.input_hash == c.hash;
                    if same_inputs
                        && flag.score == i32::from(c.score)
                        && flag.class == c.class.as_str()
                        && flag.components == c.components
                    {
                        continue;
                    }
                    let mut active: overlap_flag::ActiveModel = flag.clone().into();
                    if !same_inputs {
                        coordination_edge::Entity::delete_many()
                            .filter(
                                coordination_edge::Column::Source.eq(format!("review:{}", flag.id)),
                            )
                            .exec(&*txn)
                            .await?;
                        active.status = Set(ReviewStatus::Open.as_str().to_owned());
                        active.reviewed_by = Set(None);
                        active.note = Set(None);
                        active.reviewed_at = Set(None);
                    }
                    active.score = Set(i32::from(c.score));
                    active.class = Set(c.class.as_str().to_owned());
                    active.components = Set(c.components.clone());
                    active.config_version = Set(DEFAULT.version.to_owned());
                    active.input_hash = Set(c.hash.clone());
                    active.updated_at = Set(now);
                    active.update(&*txn).await?;
                    overlap_flag_country::Entity::delete_many()
                        .filter(overlap_flag_country::Column::FlagId.eq(flag.id))
                        .exec(&*txn)
                        .await?;
                    pending_countries.push((Some(flag.id), c.pair, &c.countries));
                    summary.changed += 1;
                }
                None => {
                    inserts.push(overlap_flag::ActiveModel {
                        activity_a_id: Set(c.pair.0),
                        activity_b_id: Set(c.pair.1),
                        score: Set(i32::from(c.score)),
                        class: Set(c.class.as_str().to_owned()),
                        components: Set(c.components.clone()),
                        config_version: Set(DEFAULT.version.to_owned()),
                        input_hash: Set(c.hash.clone()),
                        status: Set(ReviewStatus::Open.as_str().to_owned()),
                        raised_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    });
                    pending_countries.push((None, c.pair, &c.countries));
                    summary.added += 1;
                }
            }
            pending_events.push(c);
        }
        let mut ids: HashMap<(i64, i64), i64> = HashMap::new();
        for part in inserts.chunks(500) {
            let rows = overlap_flag::Entity::insert_many(part.to_vec())
                .exec_with_returning(&*txn)
                .await?;
            ids.extend(
                rows.into_iter()
                    .map(|m| ((m.activity_a_id, m.activity_b_id), m.id)),
            );
        }
        let mut rows = Vec::new();
        for (id, pair, countries) in &pending_countries {
            if let Some(id) = id.or_else(|| ids.get(pair).copied()) {
                ids.insert(*pair, id);
                rows.extend(
                    countries
                        .iter()
                        .map(|code| overlap_flag_country::ActiveModel {
                            flag_id: Set(id),
                            code: Set(code.clone()),
                        }),
                );
            }
        }
        for part in rows.chunks(1000) {
            overlap_flag_country::Entity::insert_many(part.to_vec())
                .exec(&*txn)
                .await?;
        }
        let events: Vec<Pending> = pending_events
            .iter()
            .filter_map(|c| {
                ids.get(&c.pair).map(|id| Pending {
                    topic: Topic::OverlapFlag,
                    countries: c.countries.clone(),
                    providers: c.providers.to_vec(),
                    subject_id: *id,
                })
            })
            .collect();
        events::record_many(&*txn, events).await?;
        txn.commit().await?;
        store.events().wake();
        done += chunk.len() as u64;
        progress.report("writing flags", done, total);
    }

    // Flags whose pair no longer overlaps.
    let stale: Vec<overlap_flag::Model> = existing.into_values().collect();
    for chunk in stale.chunks(1000) {
        let txn = store.begin_write().await?;
        let ids: Vec<i64> = chunk.iter().map(|f| f.id).collect();
        coordination_edge::Entity::delete_many()
            .filter(
                coordination_edge::Column::Source
                    .is_in(ids.iter().map(|id| format!("review:{id}"))),
            )
            .exec(&*txn)
            .await?;
        overlap_flag_country::Entity::delete_many()
            .filter(overlap_flag_country::Column::FlagId.is_in(ids.iter().copied()))
            .exec(&*txn)
            .await?;
        overlap_flag::Entity::delete_many()
            .filter(overlap_flag::Column::Id.is_in(ids))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        summary.removed += chunk.len();
    }

    // The corpus, rebuilt whole (only on a full recompute: a partial one saw every activity
    // too, so its counts are complete either way).
    let txn = store.begin_write().await?;
    term_df::Entity::delete_many().exec(&*txn).await?;
    let mut terms: Vec<(&&str, &u64)> = df.iter().collect();
    terms.sort();
    for part in terms.chunks(1000) {
        term_df::Entity::insert_many(part.iter().map(|(t, n)| term_df::ActiveModel {
            term: Set((**t).to_owned()),
            df: Set(i64::try_from(**n).unwrap_or(i64::MAX)),
        }))
        .exec(&*txn)
        .await?;
    }
    txn.commit().await?;
    Ok(summary)
}

/// Rebuilds only the text corpus (document frequencies) from the published activities, for
/// registries loaded in bulk whose flags are computed later (or not at all, in benchmarks).
pub async fn rebuild_corpus(store: &Store) -> Result<usize, StoreError> {
    let mut df: HashMap<String, u64> = HashMap::new();
    let mut n = 0u64;
    let mut after = 0i64;
    loop {
        let records = activities::published_after(store.db(), after, 5000).await?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        after = last;
        for record in records {
            let f = OverlapFeatures::of(record.id, &record.data, BTreeMap::new(), &BTreeMap::new());
            for (t, _) in f.terms {
                *df.entry(t).or_insert(0) += 1;
            }
            n += 1;
        }
    }
    let txn = store.begin_write().await?;
    term_df::Entity::delete_many().exec(&*txn).await?;
    let mut terms: Vec<(String, u64)> = df.into_iter().collect();
    terms.push((overlap::DOCUMENT_COUNT.to_owned(), n));
    terms.sort();
    for part in terms.chunks(1000) {
        term_df::Entity::insert_many(part.iter().map(|(t, c)| term_df::ActiveModel {
            term: Set(t.clone()),
            df: Set(i64::try_from(*c).unwrap_or(i64::MAX)),
        }))
        .exec(&*txn)
        .await?;
    }
    txn.commit().await?;
    Ok(terms.len())
}
