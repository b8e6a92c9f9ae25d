//! Full recomputation of overlap flags, partitioned by recipient country: every published
//! activity's features are loaded once, the text corpus is rebuilt, candidate pairs are found
//! per country by sweeping windows sorted by start, and the stored flags are brought in line
//! (review decisions kept where the pair's inputs did not change).

use crate::activities::{self, ActivityRecord};
use crate::entities::{activity, coordination_edge, overlap_flag, overlap_flag_country, term_df};
use crate::error::StoreError;
use crate::events::{self, Topic};
use crate::overlap::{self, components_json, features_of, input_hash_after, input_hash_start};
use crate::store::Store;
use aidgraph_domain::overlap::config::{DEFAULT, OverlapConfig};
use aidgraph_domain::overlap::groups::{EdgeSource, Groups};
use aidgraph_domain::overlap::packed::Packed;
use aidgraph_domain::overlap::packed::sketch::{self, Sketch};
use aidgraph_domain::overlap::pair::{self, Judged, Side};
use aidgraph_domain::overlap::score::is_comparable;
use aidgraph_domain::overlap::{OverlapFeatures, TextVector};
use aidgraph_domain::vocab::{OverlapClass, Publication, ReviewStatus};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm::{ActiveValue, Statement};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

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

/// A new flag as [`insert_flags`] writes it, with its texts owned or borrowed.
pub(crate) struct NewFlag<S> {
    pub pair: (i64, i64),
    pub score: u8,
    pub class: OverlapClass,
    /// The components as JSON.
    pub components: S,
    pub hash: S,
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

/// JSON text of strings and lists of strings, which always serialise.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Loads every published activity with its features, in pages, in id order. The upper half
/// of the ids loads on a task of its own while this one loads the lower half: reading the
/// documents and building features is work for both cores.
async fn load_all(
    store: &Store,
    progress: &mut impl Progress,
) -> Result<Vec<(ActivityRecord, OverlapFeatures)>, StoreError> {
    let published = || {
        activity::Entity::find()
            .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
    };
    let total = published().count(store.db()).await?;
    // The first id of the upper half.
    let middle: Option<i64> = published()
        .select_only()
        .column(activity::Column::Id)
        .order_by_asc(activity::Column::Id)
        .offset(total / 2)
        .limit(1)
        .into_tuple()
        .one(store.db())
        .await?;
    let loaded = Arc::new(AtomicU64::new(0));
    let upper = middle.map(|m| {
        let db = store.db().clone();
        let loaded = loaded.clone();
        tokio::spawn(async move { load_range(&db, m - 1, None, &loaded, |_| {}).await })
    });
    let mut out = Vec::with_capacity(total as usize);
    out.extend(
        load_range(store.db(), 0, middle.map(|m| m - 1), &loaded, |n| {
            progress.report("loading activities", n, total);
        })
        .await?,
    );
    if let Some(upper) = upper {
        let rest = upper
            .await
            .map_err(|e| DbErr::Custom(format!("loading activities stopped: {e}")))??;
        out.extend(rest);
    }
    progress.report("loading activities", out.len() as u64, total);
    Ok(out)
}

/// Loads the published activities with ids after `after` and up to `upto`, in pages, adding
/// each page's size to `loaded` and reporting the sum.
async fn load_range(
    conn: &DatabaseConnection,
    mut after: i64,
    upto: Option<i64>,
    loaded: &AtomicU64,
    mut report: impl FnMut(u64),
) -> Result<Vec<(ActivityRecord, OverlapFeatures)>, StoreError> {
    let mut out = Vec::new();
    loop {
        let mut query = activity::Entity::find()
            .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
            .filter(activity::Column::Id.gt(after));
        if let Some(upto) = upto {
            query = query.filter(activity::Column::Id.lte(upto));
        }
        let records = query
            .order_by_asc(activity::Column::Id)
            .limit(2000)
            .all(conn)
            .await?
            .into_iter()
            .map(activities::record_from_model)
            .collect::<Result<Vec<_>, _>>()?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        after = last;
        let refs: Vec<&ActivityRecord> = records.iter().collect();
        let features = features_of(conn, &refs).await?;
        let n = loaded.fetch_add(records.len() as u64, Ordering::Relaxed) + records.len() as u64;
        out.extend(records.into_iter().zip(features));
        report(n);
    }
    Ok(out)
}

/// One country's comparable activities (indices into the registry), sorted by start.
struct Country {
    code: String,
    packed_code: Option<u16>,
    sorted: Vec<usize>,
    /// Their packed features, in the same order: the sweep reads them in turn, and copies
    /// made in order sit together in memory rather than scattered over the registry.
    packed: Vec<Packed>,
    /// Their sketches, in the same order: most pairs are turned away on these alone.
    sketches: Vec<Sketch>,
}

/// What the scoring threads share.
struct Registry {
    all: Vec<(ActivityRecord, OverlapFeatures)>,
    /// Text vectors with numbered terms.
    vectors: Vec<TextVector<u32>>,
    /// Coordination group of each activity.
    groups: Vec<usize>,
    /// Each activity's reporting organisation as a JSON string, as its flags' events name it.
    providers: Vec<String>,
    /// Fingerprints for input hashes, made when an activity is first in a flag, with the
    /// hash begun with it (for pairs where it has the lower id).
    fingerprints: Vec<OnceLock<(String, sha2::Sha256)>>,
    countries: Vec<Country>,
    /// Units of work: a country and a run of rows of its sorted list.
    units: Vec<(usize, std::ops::Range<usize>)>,
    /// The next unit not yet taken.
    next: AtomicUsize,
}

impl Registry {
    /// Takes units until none is left, sending the flags of each to the writer; stops early
    /// when the writer has gone (it failed).
    fn score_units(
        &self,
        out: &tokio::sync::mpsc::Sender<Vec<Computed>>,
        config: &OverlapConfig,
        today: NaiveDate,
    ) -> Counts {
        let mut counts = Counts::default();
        loop {
            let u = self.next.fetch_add(1, Ordering::Relaxed);
            let Some((c, rows)) = self.units.get(u) else {
                return counts;
            };
            let (flags, n) = score_rows(self, &self.countries[*c], rows.clone(), config, today);
            counts += n;
            if !flags.is_empty() && out.blocking_send(flags).is_err() {
                return counts;
            }
        }
    }
}

/// Scores the candidate pairs whose earlier-starting side is at `rows` of `country`'s sorted
/// list; a pair sharing several countries is scored only in the first of them.
fn score_rows(
    registry: &Registry,
    country: &Country,
    rows: std::ops::Range<usize>,
    config: &OverlapConfig,
    today: NaiveDate,
) -> (Vec<Computed>, Counts) {
    let Registry {
        all,
        vectors,
        groups,
        fingerprints,
        providers,
        ..
    } = registry;
    let fingerprint = |i: usize| {
        fingerprints[i].get_or_init(|| {
            let print = all[i].1.fingerprint();
            let started = input_hash_start(&print);
            (print, started)
        })
    };
    let sorted = &country.sorted;
    let mut out = Vec::new();
    let mut counts = Counts::default();
    for k in rows {
        let i = sorted[k];
        let (pa, sa) = (&country.packed[k], &country.sketches[k]);
        let Some(end) = sa.end() else { continue };
        let later = sorted[k + 1..]
            .iter()
            .zip(&country.sketches[k + 1..])
            .zip(&country.packed[k + 1..]);
        for ((&j, sb), pb) in later {
            let Some(start) = sb.start() else { continue };
            if start > end {
                break;
            }
            let (a, b) = (&all[i].1, &all[j].1);
            let exact = sa.is_exact() && sb.is_exact();
            let first_here = match country.packed_code {
                // Both are in this country, so one with a single country shares only it.
                Some(code) if exact => {
                    sa.has_one_country()
                        || sb.has_one_country()
                        || pa.first_shared_country(pb) == Some(code)
                }
                _ => a.countries.intersection(&b.countries).next() == Some(&country.code),
            };
            if !first_here {
                continue;
            }
            counts.scored += 1;
            // Exactly packed, the pair is a candidate by construction: both comparable, in
            // this country, and the sweep keeps only windows that overlap.
            if !sketch::may_flag(sa, sb, config)
                || !pair::screen(a, b, pa, pb, exact, config, today)
            {
                continue;
            }
            counts.past_bound += 1;
            let side = |features, packed, text| Side {
                features,
                packed,
                text,
            };
            let Some(Judged {
                score,
                class,
                full: Some(full),
            }) = pair::judge(
                side(a, pa, &vectors[i]),
                side(b, pb, &vectors[j]),
                || groups[i] == groups[j],
                true,
                config,
            )
            else {
                continue;
            };
            let (x, y) = if a.id < b.id { (i, j) } else { (j, i) };
            let countries: Vec<&String> = a.countries.intersection(&b.countries).collect();
            out.push(Computed::new(
                (all[x].0.id, all[y].0.id),
                score,
                class,
                components_json(&full),
                input_hash_after(fingerprint(x).1.clone(), &fingerprint(y).0),
                &countries,
                [&providers[x], &providers[y]],
            ));
        }
    }
    (out, counts)
}

/// Rows of a country's sorted list scored as one unit of work.
const ROWS_PER_UNIT: usize = 256;

/// Pairs scored, and pairs whose text was compared.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    scored: u64,
    past_bound: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.scored += other.scored;
        self.past_bound += other.past_bound;
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
    let today = crate::today();
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
    let registry = Arc::new(Registry {
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

/// Inserts new flags in one statement, returning their ids in order. A recomputation may
/// write millions of flags, and a statement with a parameter per value costs more to build
/// and bind than to run, so the rows travel in a few large parameters.
///
/// On SQLite the rows are one JSON parameter which the database takes apart, and the
/// components, the bulk of each row, travel apart from it: all of them in one blob
/// parameter, each row giving where its own begin and how long they are. Taking them out of
/// the JSON spares the database parsing them and writing them back out as text, which was a
/// quarter of its work in a recomputation. The ids are given rather than read back (each
/// row read back is a message from the database thread): the transaction holds the only
/// write lock, so the ids after the largest ever used (`sqlite_sequence`, as AUTOINCREMENT
/// keeps it) are free. Another process writing meanwhile makes the insert fail rather than
/// collide.
///
/// On PostgreSQL each column travels as an array, bound in binary, which the database reads
/// as it is (rows in JSON were lexed again for each field taken out, a third of its work in a
/// recomputation), and unnests in the select list, side by side, rather than in `FROM`,
/// which would first copy the rows into a temporary file.
pub(crate) async fn insert_flags(
    conn: &impl ConnectionTrait,
    flags: &[NewFlag<impl AsRef<str>>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if flags.is_empty() {
        return Ok(Vec::new());
    }
    let open = ReviewStatus::Open.as_str();
    let backend = conn.get_database_backend();
    if backend == DatabaseBackend::Sqlite {
        let (rows, components) = sqlite_rows(flags);
        let row = conn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'overlap_flags'), 0), \
                 COALESCE((SELECT MAX(id) FROM overlap_flags), 0))",
            ))
            .await?;
        let first = row
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0)
            + 1;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT OR FAIL INTO overlap_flags (id, activity_a_id, activity_b_id, score, class, \
             components, config_version, input_hash, status, raised_at, updated_at) \
             SELECT ?1 + key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
             CAST(substr(?6, value ->> 4, value ->> 5) AS TEXT), ?2, value ->> 6, ?3, ?4, ?4 \
             FROM jsonb_each(?5)",
            [
                first.into(),
                DEFAULT.version.into(),
                open.into(),
                now.into(),
                rows.into(),
                components.into(),
            ],
        ))
        .await?;
        return Ok((first..).take(flags.len()).collect());
    }
    let a: Vec<i64> = flags.iter().map(|f| f.pair.0).collect();
    let b: Vec<i64> = flags.iter().map(|f| f.pair.1).collect();
    let score: Vec<i32> = flags.iter().map(|f| i32::from(f.score)).collect();
    let class: Vec<String> = flags.iter().map(|f| f.class.as_str().to_owned()).collect();
    let components: Vec<String> = flags
        .iter()
        .map(|f| f.components.as_ref().to_owned())
        .collect();
    let hash: Vec<String> = flags.iter().map(|f| f.hash.as_ref().to_owned()).collect();
    let returned = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO overlap_flags (activity_a_id, activity_b_id, score, class, components, \
             config_version, input_hash, status, raised_at, updated_at) \
             SELECT unnest($4::bigint[]), unnest($5::bigint[]), unnest($6::integer[]), \
             unnest($7::text[]), unnest($8::text[]), $1, unnest($9::text[]), $2, $3, $3 \
             RETURNING id, activity_a_id, activity_b_id",
            [
                DEFAULT.version.into(),
                open.into(),
                now.into(),
                a.into(),
                b.into(),
                score.into(),
                class.into(),
                components.into(),
                hash.into(),
            ],
        ))
        .await?;
    let mut ids = HashMap::with_capacity(returned.len());
    for row in returned {
        let id: i64 = row.try_get_by_index(0)?;
        let a: i64 = row.try_get_by_index(1)?;
        let b: i64 = row.try_get_by_index(2)?;
        ids.insert((a, b), id);
    }
    flags
        .iter()
        .map(|f| {
            ids.get(&f.pair)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no id for flag {:?}", f.pair)))
        })
        .collect()
}

/// Flags as SQLite's insert takes them: one JSON array of rows `[a, b, score, class,
/// components' first byte (from 1), their length, input hash]`, and the components of all
/// of them in one blob.
fn sqlite_rows<S: AsRef<str>>(flags: &[NewFlag<S>]) -> (String, Vec<u8>) {
    use std::fmt::Write;
    let size: usize = flags.iter().map(|f| f.hash.as_ref().len() + 80).sum();
    let mut rows = String::with_capacity(size + 2);
    let mut components =
        Vec::with_capacity(flags.iter().map(|f| f.components.as_ref().len()).sum());
    rows.push('[');
    for (k, f) in flags.iter().enumerate() {
        if k > 0 {
            rows.push(',');
        }
        let _ = write!(
            rows,
            "[{},{},{},\"{}\",{},{},\"{}\"]",
            f.pair.0,
            f.pair.1,
            f.score,
            f.class.as_str(),
            components.len() + 1,
            f.components.as_ref().len(),
            f.hash.as_ref()
        );
        components.extend_from_slice(f.components.as_ref().as_bytes());
    }
    rows.push(']');
    (rows, components)
}

/// Rewrites stored flag `id` with `flag`'s score, class, components and input hash. When the
/// pair's inputs changed, an earlier review no longer applies: it is reset, and the
/// coordination edge it made goes. The flag's countries are deleted, for
/// [`record_written`] to write again.
pub(crate) async fn update_flag(
    conn: &impl ConnectionTrait,
    id: i64,
    inputs_changed: bool,
    flag: &NewFlag<impl AsRef<str>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut active = overlap_flag::ActiveModel {
        id: ActiveValue::Unchanged(id),
        ..Default::default()
    };
    if inputs_changed {
        coordination_edge::Entity::delete_many()
            .filter(coordination_edge::Column::Source.eq(EdgeSource::Review(id).to_string()))
            .exec(conn)
            .await?;
        active.status = Set(ReviewStatus::Open.as_str().to_owned());
        active.reviewed_by = Set(None);
        active.note = Set(None);
        active.reviewed_at = Set(None);
    }
    active.score = Set(i32::from(flag.score));
    active.class = Set(flag.class.as_str().to_owned());
    active.components = Set(flag.components.as_ref().to_owned());
    active.config_version = Set(DEFAULT.version.to_owned());
    active.input_hash = Set(flag.hash.as_ref().to_owned());
    active.updated_at = Set(now);
    active.update(conn).await?;
    overlap_flag_country::Entity::delete_many()
        .filter(overlap_flag_country::Column::FlagId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Writes the countries of flags just written and their change events (one outbox row for
/// all): `written` holds each flag's id, shared countries and two reporting organisations, the
/// last two as JSON arrays.
pub(crate) async fn record_written(
    conn: &impl ConnectionTrait,
    written: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    if written.is_empty() {
        return Ok(());
    }
    // The events' `[id, [countries], [providers]], …`.
    use std::fmt::Write;
    let size: usize = written.iter().map(|(_, c, p)| c.len() + p.len() + 24).sum();
    let mut items = String::with_capacity(size);
    for (k, (id, c, p)) in written.iter().enumerate() {
        if k > 0 {
            items.push(',');
        }
        let _ = write!(items, "[{id},{c},{p}]");
    }
    let backend = conn.get_database_backend();
    let insert = if backend == DatabaseBackend::Postgres {
        // A row per flag and country, as two arrays.
        let (mut ids, mut codes) = (Vec::new(), Vec::new());
        for (id, c, _) in written {
            let countries: Vec<String> = serde_json::from_str(c)
                .map_err(|e| StoreError::Corrupt(format!("flag countries {c}: {e}")))?;
            ids.extend(std::iter::repeat_n(*id, countries.len()));
            codes.extend(countries);
        }
        Statement::from_sql_and_values(
            backend,
            "INSERT INTO overlap_flag_countries (flag_id, code) \
             SELECT unnest($1::bigint[]), unnest($2::text[])",
            [ids.into(), codes.into()],
        )
    } else {
        // `[[id, [countries]], …]`
        let mut countries = String::with_capacity(size + 2);
        countries.push('[');
        for (k, (id, c, _)) in written.iter().enumerate() {
            if k > 0 {
                countries.push(',');
            }
            let _ = write!(countries, "[{id},{c}]");
        }
        countries.push(']');
        Statement::from_sql_and_values(
            backend,
            "INSERT OR FAIL INTO overlap_flag_countries (flag_id, code) \
             SELECT f.value ->> 0, c.value FROM jsonb_each(?1) AS f, \
             json_each(f.value, '$[1]') AS c",
            [countries.into()],
        )
    };
    conn.execute_raw(insert).await?;
    events::record_batch(conn, Topic::OverlapFlag, &items).await
}

/// What a recomputation compares of a stored flag.
struct Stored {
    id: i64,
    score: i32,
    class: String,
    input_hash: String,
    /// A digest of the stored components, which may be long.
    components: u64,
}

fn digest(s: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The flags of one transaction of a recomputation.
#[derive(Default)]
struct Planned {
    /// Stored flags that change: id, whether the pair's inputs changed, and the new flag.
    changed: Vec<(i64, bool, Computed)>,
    inserts: Vec<Computed>,
}

impl Planned {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.inserts.is_empty()
    }

    /// Writes the flags in one transaction of `store`, with their countries and events.
    async fn apply(self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let txn = store.begin_write().await?;
        let mut written: Vec<(i64, &Computed)> = Vec::new();
        for (id, inputs_changed, c) in &self.changed {
            update_flag(&*txn, *id, *inputs_changed, &c.new_flag(), now).await?;
            written.push((*id, c));
        }
        let new: Vec<NewFlag<&str>> = self.inserts.iter().map(Computed::new_flag).collect();
        let ids = insert_flags(&*txn, &new, now).await?;
        written.extend(ids.into_iter().zip(&self.inserts));
        let written: Vec<(i64, &str, &str)> = written
            .iter()
            .map(|(id, c)| (*id, c.countries(), c.providers()))
            .collect();
        record_written(&*txn, &written).await?;
        txn.commit().await?;
        store.events().wake();
        Ok(())
    }
}

/// Brings stored flags in line with computed ones, a transaction per chunk.
struct Writer<'a> {
    store: &'a Store,
    /// Flags in scope not (yet) computed again; what is left at the end is stale.
    existing: HashMap<(i64, i64), Stored>,
    summary: RecomputeSummary,
    now: DateTime<Utc>,
}

impl<'a> Writer<'a> {
    /// Reads the flags in scope (those sharing `country`, or all).
    async fn start(store: &'a Store, country: Option<&str>) -> Result<Self, StoreError> {
        use overlap_flag::Column as C;
        let mut existing = HashMap::new();
        let mut after = 0;
        loop {
            let mut query = overlap_flag::Entity::find()
                .select_only()
                .columns([
                    C::Id,
                    C::ActivityAId,
                    C::ActivityBId,
                    C::Score,
                    C::Class,
                    C::InputHash,
                    C::Components,
                ])
                .filter(C::Id.gt(after))
                .order_by_asc(C::Id)
                .limit(10_000);
            if let Some(c) = country {
                query = query.filter(
                    C::Id.in_subquery(
                        Query::select()
                            .column(overlap_flag_country::Column::FlagId)
                            .from(overlap_flag_country::Entity)
                            .and_where(overlap_flag_country::Column::Code.eq(c))
                            .to_owned(),
                    ),
                );
            }
            let rows: Vec<(i64, i64, i64, i32, String, String, String)> =
                query.into_tuple().all(store.db()).await?;
            let Some(last) = rows.last().map(|r| r.0) else {
                break;
            };
            after = last;
            existing.extend(rows.into_iter().map(
                |(id, a, b, score, class, input_hash, components)| {
                    let components = digest(&components);
                    let stored = Stored {
                        id,
                        score,
                        class,
                        input_hash,
                        components,
                    };
                    ((a, b), stored)
                },
            ));
        }
        Ok(Writer {
            store,
            existing,
            summary: RecomputeSummary::default(),
            now: Utc::now(),
        })
    }

    /// Sorts out computed flags into what to write, a transaction's worth per [`Planned`]:
    /// new ones to insert, changed ones to update (their review reset when the pair's inputs
    /// changed); unchanged ones are left alone.
    fn plan(&mut self, mut computed: Vec<Computed>) -> Vec<Planned> {
        // In pair order, so the pair index grows in runs rather than at random pages.
        computed.sort_unstable_by_key(|c| c.pair);
        self.summary.flags += computed.len();
        let mut plans = Vec::new();
        let mut plan = Planned::default();
        for c in computed {
            if plan.changed.len() + plan.inserts.len() == WRITE_CHUNK {
                plans.push(std::mem::take(&mut plan));
            }
            match self.existing.remove(&c.pair) {
                Some(flag) => {
                    let same_inputs = flag.input_hash == c.hash;
                    if same_inputs
                        && flag.score == i32::from(c.score)
                        && flag.class == c.class.as_str()
                        && flag.components == digest(&c.components)
                    {
                        continue;
                    }
                    plan.changed.push((flag.id, !same_inputs, c));
                    self.summary.changed += 1;
                }
                None => {
                    plan.inserts.push(c);
                    self.summary.added += 1;
                }
            }
        }
        plans.push(plan);
        plans
    }

    /// Removes the flags whose pair no longer overlaps and rewrites the corpus.
    async fn finish(mut self, corpus: &[(String, u64)]) -> Result<RecomputeSummary, StoreError> {
        let stale: Vec<i64> = self.existing.values().map(|f| f.id).collect();
        for ids in stale.chunks(1000) {
            let txn = self.store.begin_write().await?;
            coordination_edge::Entity::delete_many()
                .filter(
                    coordination_edge::Column::Source
                        .is_in(ids.iter().map(|id| EdgeSource::Review(*id).to_string())),
                )
                .exec(&*txn)
                .await?;
            overlap_flag_country::Entity::delete_many()
                .filter(overlap_flag_country::Column::FlagId.is_in(ids.iter().copied()))
                .exec(&*txn)
                .await?;
            overlap_flag::Entity::delete_many()
                .filter(overlap_flag::Column::Id.is_in(ids.iter().copied()))
                .exec(&*txn)
                .await?;
            txn.commit().await?;
            self.summary.removed += ids.len();
        }

        // The corpus, rebuilt whole (a recomputation for one country saw every activity
        // too, so its counts are complete either way).
        let txn = self.store.begin_write().await?;
        term_df::Entity::delete_many().exec(&*txn).await?;
        for part in corpus.chunks(1000) {
            term_df::Entity::insert_many(part.iter().map(|(t, n)| term_df::ActiveModel {
                term: Set(t.clone()),
                df: Set(i64::try_from(*n).unwrap_or(i64::MAX)),
            }))
            .exec(&*txn)
            .await?;
        }
        txn.commit().await?;

        // PostgreSQL plans from table statistics, which a bulk rewrite leaves stale until
        // autovacuum comes round: without them it scanned every flag for each chunk of a
        // dashboard's flag reads (a coverage matrix at 100k activities went past the request
        // timeout). SQLite's planner takes the indexes without statistics.
        self.store
            .refresh_statistics(
                &["overlap_flags", "overlap_flag_countries", "term_df"],
                false,
            )
            .await?;
        Ok(self.summary)
    }
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
