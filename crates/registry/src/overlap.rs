//! The overlap engine's write path: flags kept current in the transaction that changes an
//! activity, review decisions, the dry run behind `checkOverlap`, and the cache warmed at
//! start-up. The storage it reads and writes is `aidgraph_persistence::overlap`'s; the rule
//! for a pair is the engine's.

use crate::Registry;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::overlap::OverlapFeatures;
use aidgraph_domain::overlap::config::{DEFAULT, OverlapConfig};
use aidgraph_domain::overlap::groups::EdgeSource;
use aidgraph_domain::overlap::score::is_comparable;
use aidgraph_domain::vocab::{Publication, ReviewStatus};
use aidgraph_engine::scan::{Scored, Subject, score_candidates};
use aidgraph_engine::{FeatureCache, Prepared};
use aidgraph_persistence::activities::{self, ActivityRecord};
use aidgraph_persistence::audit::{self, AuditEvent};
use aidgraph_persistence::entities::{activity, coordination_edge, overlap_flag};
use aidgraph_persistence::events::{self, Topic};
use aidgraph_persistence::flag_rows;
use aidgraph_persistence::overlap::*;
use aidgraph_persistence::{StoreError, today};
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    let mut new_flags: Vec<flag_rows::NewFlag<String>> = Vec::new();
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
            flag_rows::json(&countries),
            flag_rows::json(&[
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
                let updated = flag_rows::NewFlag {
                    pair,
                    score: score.score,
                    class,
                    components,
                    hash,
                };
                flag_rows::update_flag(conn, flag.id, !same_inputs, &updated, now).await?;
                written.push((Some(flag.id), about.0, about.1));
            }
            None => {
                new_flags.push(flag_rows::NewFlag {
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
    let mut new_ids = flag_rows::insert_flags(conn, &new_flags, now)
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
    flag_rows::record_written(conn, &rows).await?;
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

/// Records a review decision. Coordinators and admins may review any flag; providers only
/// flags on their own activities.
pub async fn review(
    registry: &Registry,
    who: &Principal,
    id: i64,
    status: ReviewStatus,
    note: Option<String>,
) -> Result<FlagRecord, StoreError> {
    if !who.may_review_flags() {
        return Err(StoreError::Forbidden(
            "only coordinators and the providers involved may review overlap flags".into(),
        ));
    }
    let txn = registry.store().begin_write().await?;
    let flag = overlap_flag::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| StoreError::not_found("overlap flag", id))?;
    let pair = activities::by_ids(&*txn, &[flag.activity_a_id, flag.activity_b_id]).await?;
    let (Some(a), Some(b)) = (pair.get(&flag.activity_a_id), pair.get(&flag.activity_b_id)) else {
        return Err(StoreError::Corrupt(format!("flag {id} lost an activity")));
    };
    if !who.may_review_flag(&a.data.reporting_org, &b.data.reporting_org) {
        return Err(StoreError::Forbidden(
            "providers may review only flags on their own activities".into(),
        ));
    }
    let before = flag.status.clone();
    let source = EdgeSource::Review(id);
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(source.to_string()))
        .exec(&*txn)
        .await?;
    if status.coordinates() {
        link_edges(
            &*txn,
            &a.data.iati_identifier,
            std::iter::once(b.data.iati_identifier.as_str()),
            source,
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
    refresh(&*txn, registry.engine(), &a, Some((&a.data, a.publication))).await?;
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
    by_ids(registry.store().db(), &[id])
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

/// Fills the feature cache with every published activity, so the first writes and dry runs
/// after start-up do not parse thousands of stored documents. Returns how many were cached.
pub async fn warm_cache(registry: &Registry) -> Result<usize, StoreError> {
    let mut after = 0i64;
    let mut cached = 0;
    loop {
        let records = activities::published_after(registry.store().db(), after, 2000).await?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        after = last;
        let refs: Vec<&ActivityRecord> = records.iter().collect();
        let features = features_of(registry.store().db(), &refs).await?;
        let engine = registry.engine();
        for (record, f) in records.iter().zip(features) {
            engine.put(record.id, record.version, engine.prepare(f));
        }
        cached += records.len();
    }
    Ok(cached)
}

/// The candidates of `keys` (activity id and version) that pass `a`'s screens, from the cache
/// where it holds their version and read from the registry (and cached) where not, in id
/// order.
pub(crate) async fn screened_candidates(
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

/// How [`score_against_candidates`] treats the activity it scores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scoring {
    /// Whether the activity is counted in the corpus already (a planned one is not).
    pub(crate) in_corpus: bool,
    /// Whether to build the components and reasons of the flags found.
    pub(crate) reasons: bool,
}

/// Scores `a` against its candidates and classes each pair, coordination groups considered.
pub(crate) async fn score_against_candidates(
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
