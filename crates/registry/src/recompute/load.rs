//! Loading every published activity once, with its features, packed forms, text vector and coordination group.

use super::*;

/// Loads every published activity with its features, in pages, in id order. The upper half
/// of the ids loads on a task of its own while this one loads the lower half: reading the
/// documents and building features is work for both cores.
pub(super) async fn load_all(
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
pub(super) async fn load_range(
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
pub(super) struct Country {
    pub(super) code: String,
    pub(super) packed_code: Option<u16>,
    pub(super) sorted: Vec<usize>,
    /// Their packed features, in the same order: the sweep reads them in turn, and copies
    /// made in order sit together in memory rather than scattered over the registry.
    pub(super) packed: Vec<Packed>,
    /// Their sketches, in the same order: most pairs are turned away on these alone.
    pub(super) sketches: Vec<Sketch>,
}

/// What the scoring threads share.
pub(super) struct SweepState {
    pub(super) all: Vec<(ActivityRecord, OverlapFeatures)>,
    /// Text vectors with numbered terms.
    pub(super) vectors: Vec<TextVector<u32>>,
    /// Coordination group of each activity.
    pub(super) groups: Vec<usize>,
    /// Each activity's reporting organisation as a JSON string, as its flags' events name it.
    pub(super) providers: Vec<String>,
    /// Fingerprints for input hashes, made when an activity is first in a flag, with the
    /// hash begun with it (for pairs where it has the lower id).
    pub(super) fingerprints: Vec<OnceLock<(String, sha2::Sha256)>>,
    pub(super) countries: Vec<Country>,
    /// Units of work: a country and a run of rows of its sorted list.
    pub(super) units: Vec<(usize, std::ops::Range<usize>)>,
    /// The next unit not yet taken.
    pub(super) next: AtomicUsize,
}

impl SweepState {
    /// Takes units until none is left, sending the flags of each to the writer; stops early
    /// when the writer has gone (it failed).
    pub(super) fn score_units(
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
