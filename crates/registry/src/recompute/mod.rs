//! Full recomputation of overlap flags, partitioned by recipient country: every published
//! activity's features are loaded once, the text corpus is rebuilt, candidate pairs are found
//! per country by sweeping windows sorted by start, and the stored flags are brought in line
//! (review decisions kept where the pair's inputs did not change).

use aidgraph_domain::overlap::config::{DEFAULT, OverlapConfig};
use aidgraph_domain::overlap::groups::{EdgeSource, Groups};
use aidgraph_domain::overlap::score::is_comparable;
use aidgraph_domain::overlap::{OverlapFeatures, TextVector};
use aidgraph_domain::vocab::{OverlapClass, Publication};
use aidgraph_engine::packed::Packed;
use aidgraph_engine::packed::sketch::{self, Sketch};
use aidgraph_engine::pair::{self, Judged, Side};
use aidgraph_persistence::activities::{self, ActivityRecord};
use aidgraph_persistence::entities::{
    activity, coordination_edge, overlap_flag, overlap_flag_country, term_df,
};
use aidgraph_persistence::overlap::{
    self, components_json, features_of, input_hash_after, input_hash_start,
};
use aidgraph_persistence::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use aidgraph_persistence::flag_rows::{NewFlag, insert_flags, json, record_written, update_flag};

mod load;
mod sweep;
mod writer;

use load::*;
use sweep::*;
use writer::*;

/// What a recomputation did.
#[derive(Debug, Clone, Default)]
pub struct RecomputeSummary {
    /// Published activities considered.
    pub activities: usize,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Of those, pairs whose text-free bound could raise a flag (their text was compared).
    pub pairs_past_bound: u64,
    /// Flags stored afterwards (in the countries recomputed).
    pub flags: usize,
    /// Flags added.
    pub added: usize,
    /// Flags changed.
    pub changed: usize,
    /// Flags removed.
    pub removed: usize,
    /// Seconds spent loading; scoring; and scoring and writing, which run together.
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

/// A flag as the scoring threads hand it to the writer, ready to write. A recomputation
/// hands millions of these to one writer, which frees them too, so each holds three strings.
struct Computed {
    pair: (i64, i64),
    score: u8,
    class: OverlapClass,
    /// The components as JSON.
    components: String,
    /// The pair's input hash.
    hash: String,
    /// The shared countries and the two reporting organisations, two JSON arrays joined by a
    /// comma; the countries end at `countries_end`.
    about: String,
    countries_end: usize,
}

impl Computed {
    /// `providers` are the two reporting organisations as JSON strings.
    fn new(
        pair: (i64, i64),
        score: u8,
        class: OverlapClass,
        components: String,
        hash: String,
        countries: &[&String],
        providers: [&str; 2],
    ) -> Computed {
        let mut about = String::with_capacity(
            countries.len() * 5 + providers[0].len() + providers[1].len() + 6,
        );
        if countries
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            // Country codes, which need no escaping.
            about.push('[');
            for (k, c) in countries.iter().enumerate() {
                if k > 0 {
                    about.push(',');
                }
                about.push('"');
                about.push_str(c);
                about.push('"');
            }
            about.push(']');
        } else {
            about.push_str(&json(countries));
        }
        let countries_end = about.len();
        about.push_str(",[");
        about.push_str(providers[0]);
        about.push(',');
        about.push_str(providers[1]);
        about.push(']');
        Computed {
            pair,
            score,
            class,
            components,
            hash,
            about,
            countries_end,
        }
    }

    fn new_flag(&self) -> NewFlag<&str> {
        NewFlag {
            pair: self.pair,
            score: self.score,
            class: self.class,
            components: &self.components,
            hash: &self.hash,
        }
    }

    /// The shared countries, a JSON array.
    fn countries(&self) -> &str {
        &self.about[..self.countries_end]
    }

    /// The two reporting organisations, a JSON array.
    fn providers(&self) -> &str {
        &self.about[self.countries_end + 1..]
    }
}

/// Flags written per transaction. Each commit appends every index page it changed to the
/// write-ahead log, and flags land on pages all over the pair indexes, so small transactions
/// write the same pages again and again. 50,000 flags add about 45 MB to a SQLite database
/// and take it about a second, which other writers wait for.
const WRITE_CHUNK: usize = 50_000;

/// Recomputes every flag (or those of pairs sharing `country`), reporting progress.
///
/// Scoring runs on every core while this task writes what it finds, so a recomputation takes
/// about as long as the slower of the two, and holds only the flags not yet written.
pub async fn recompute(
    store: &Store,
    country: Option<&str>,
    mut progress: impl Progress,
) -> Result<RecomputeSummary, StoreError> {
    let config = &DEFAULT;
    let today = aidgraph_persistence::today();
    let country = country.map(str::to_ascii_uppercase);
    let started = Instant::now();
    let all = load_all(store, &mut progress).await?;

    // The corpus, rebuilt from the published activities, and the text vectors over it with
    // terms numbered in word order (numbers compare faster and give the same cosines).
    let (corpus, vectors) = {
        let mut df: HashMap<&str, u64> = HashMap::new();
        for (_, f) in &all {
            for (t, _) in &f.terms {
                *df.entry(t.as_str()).or_insert(0) += 1;
            }
        }
        let n = all.len() as u64;
        df.insert(overlap::DOCUMENT_COUNT, n);
        let mut words: Vec<(&str, u64)> = df.iter().map(|(t, n)| (*t, *n)).collect();
        words.sort_unstable();
        let number: HashMap<&str, u32> = words
            .iter()
            .enumerate()
            .map(|(k, (w, _))| (*w, u32::try_from(k).unwrap_or(u32::MAX)))
            .collect();
        let vectors: Vec<TextVector<u32>> = all
            .iter()
            .map(|(_, f)| {
                TextVector::new(&f.terms, n, |t| df.get(t).copied().unwrap_or(0))
                    .numbered(|t| number.get(t).copied().unwrap_or(u32::MAX))
            })
            .collect();
        let corpus: Vec<(String, u64)> =
            words.into_iter().map(|(w, n)| (w.to_owned(), n)).collect();
        (corpus, vectors)
    };
    let packed: Vec<Packed> = all.iter().map(|(_, f)| Packed::of(f)).collect();

    let mut groups = Groups::default();
    for e in coordination_edge::Entity::find().all(store.db()).await? {
        groups.link(&e.a, &e.b);
    }
    let group_of: Vec<usize> = all
        .iter()
        .map(|(_, f)| groups.group_of(&f.identifier))
        .collect();

    let mut by_country: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, f)) in all.iter().enumerate() {
        if !is_comparable(f, config, today) {
            continue;
        }
        for c in &f.countries {
            if country.as_deref().is_none_or(|only| only == c) {
                by_country.entry(c.as_str()).or_default().push(i);
            }
        }
    }
    let countries: Vec<Country> = by_country
        .into_iter()
        .map(|(code, mut sorted)| {
            sorted.sort_by_key(|i| packed[*i].start());
            Country {
                code: code.to_owned(),
                packed_code: Packed::country_code(code),
                packed: sorted.iter().map(|i| packed[*i].clone()).collect(),
                sketches: sorted.iter().map(|i| packed[*i].sketch()).collect(),
                sorted,
            }
        })
        .collect();
    // The work is cut into runs of rows so that one crowded country is shared too, and each
    // thread takes the next run when it is done with one.
    let mut units: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (c, country) in countries.iter().enumerate() {
        let n = country.sorted.len();
        units.extend(
            (0..n)
                .step_by(ROWS_PER_UNIT)
                .map(|k| (c, k..(k + ROWS_PER_UNIT).min(n))),
        );
    }
    let activities = all.len();
    let registry = Arc::new(SweepState {
        fingerprints: all.iter().map(|_| OnceLock::new()).collect(),
        providers: all
            .iter()
            .map(|(record, _)| json(&record.data.reporting_org))
            .collect(),
        all,
        vectors,
        groups: group_of,
        countries,
        units,
        next: AtomicUsize::new(0),
    });
    let writing = store.single_connection().await?;
    let mut writer = Writer::start(&writing, country.as_deref()).await?;
    // PostgreSQL writes each transaction on one core, and the scoring threads wait for it
    // when it falls behind: a second connection writes the next chunk meanwhile. SQLite has
    // one writer at a time, which keeps its page cache on its one connection.
    let mut idle = vec![writing.clone()];
    if store.backend() == DatabaseBackend::Postgres {
        idle.push(store.single_connection().await?);
    }
    let loaded = started.elapsed().as_secs_f64();

    let scoring = Instant::now();
    let (sender, mut found) = tokio::sync::mpsc::channel::<Vec<Computed>>(64);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (registry, sender) = (registry.clone(), sender.clone());
            std::thread::spawn(move || registry.score_units(&sender, config, today))
        })
        .collect();
    drop(sender);
    let total_units = registry.units.len() as u64;
    // Flags are gathered into chunks while earlier ones are written, so the scoring threads
    // go on through the writer's pauses (a checkpoint waits for the disk for a second or
    // two) and wait only when it is several chunks behind.
    let (chunks, mut to_write) = tokio::sync::mpsc::channel::<Vec<Computed>>(3);
    let gather = async move {
        let mut pending: Vec<Computed> = Vec::new();
        while let Some(batch) = found.recv().await {
            pending.extend(batch);
            if pending.len() >= WRITE_CHUNK
                && chunks.send(std::mem::take(&mut pending)).await.is_err()
            {
                // The writer failed; dropping `found` stops the scoring threads.
                return scoring.elapsed().as_secs_f64();
            }
        }
        let _ = chunks.send(pending).await;
        scoring.elapsed().as_secs_f64()
    };
    let write = async {
        let mut running = tokio::task::JoinSet::new();
        let mut sent = async {
            while let Some(chunk) = to_write.recv().await {
                for plan in writer.plan(chunk) {
                    if plan.is_empty() {
                        continue;
                    }
                    if idle.is_empty()
                        && let Some(done) = running.join_next().await
                    {
                        idle.push(finished(done)?);
                    }
                    let (conn, now) = (idle.pop().unwrap_or_else(|| writing.clone()), writer.now);
                    running.spawn(async move { plan.apply(&conn, now).await.map(|()| conn) });
                }
                let taken = registry.next.load(Ordering::Relaxed) as u64;
                progress.report("scoring and writing", taken.min(total_units), total_units);
            }
            Ok::<_, StoreError>(())
        }
        .await;
        // After a failure the gathering stops at its next send (and the scoring threads with
        // it), and the writes under way finish rather than being cut off mid-commit.
        to_write.close();
        while let Some(done) = running.join_next().await {
            let done = finished(done);
            if let (Ok(()), Err(e)) = (&sent, done) {
                sent = Err(e);
            }
        }
        sent
    };
    let (scored_secs, written) = tokio::join!(gather, write);
    // Every sender is gone: the workers are done.
    let mut counts = Counts::default();
    for worker in workers {
        counts += worker.join().unwrap_or_default();
    }
    written?;
    progress.report("scoring and writing", total_units, total_units);
    let summary = writer.finish(&corpus).await?;
    Ok(RecomputeSummary {
        activities,
        pairs_scored: counts.scored,
        pairs_past_bound: counts.past_bound,
        seconds: (loaded, scored_secs, scoring.elapsed().as_secs_f64()),
        ..summary
    })
}

/// The connection back from a write that finished, or why it failed (a write that panicked
/// panics here; none is aborted: every one is joined).
fn finished(
    done: Result<Result<Store, StoreError>, tokio::task::JoinError>,
) -> Result<Store, StoreError> {
    done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
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
