//! Keeping flags current in the transaction that changes an activity, and review
//! decisions.

use super::*;

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

pub(super) async fn flags_touching(
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

pub(super) async fn delete_flag(
    conn: &impl ConnectionTrait,
    flag: &overlap_flag::Model,
) -> Result<(), StoreError> {
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(EdgeSource::Review(flag.id).to_string()))
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
    let today = crate::today();
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
    store: &Store,
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
    let txn = store.begin_write().await?;
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
