//! Bringing stored flags in line with the computed ones, review decisions kept where the pair's inputs did not change.

use super::*;

/// What a recomputation compares of a stored flag.
pub(super) struct Stored {
    pub(super) id: i64,
    pub(super) score: i32,
    pub(super) class: String,
    pub(super) input_hash: String,
    /// A digest of the stored components, which may be long.
    pub(super) components: u64,
}

pub(super) fn digest(s: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The flags of one transaction of a recomputation.
#[derive(Default)]
pub(super) struct Planned {
    /// Stored flags that change: id, whether the pair's inputs changed, and the new flag.
    pub(super) changed: Vec<(i64, bool, Computed)>,
    pub(super) inserts: Vec<Computed>,
}

impl Planned {
    pub(super) fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.inserts.is_empty()
    }

    /// Writes the flags in one transaction of `store`, with their countries and events.
    pub(super) async fn apply(self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
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
        Ok(())
    }
}

/// Brings stored flags in line with computed ones, a transaction per chunk.
pub(super) struct Writer<'a> {
    pub(super) store: &'a Store,
    /// Flags in scope not (yet) computed again; what is left at the end is stale.
    pub(super) existing: HashMap<(i64, i64), Stored>,
    pub(super) summary: RecomputeSummary,
    pub(super) now: DateTime<Utc>,
}

impl<'a> Writer<'a> {
    /// Reads the flags in scope (those sharing `country`, or all).
    pub(super) async fn start(store: &'a Store, country: Option<&str>) -> Result<Self, StoreError> {
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
    pub(super) fn plan(&mut self, mut computed: Vec<Computed>) -> Vec<Planned> {
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
    pub(super) async fn finish(
        mut self,
        corpus: &[(String, u64)],
    ) -> Result<RecomputeSummary, StoreError> {
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
