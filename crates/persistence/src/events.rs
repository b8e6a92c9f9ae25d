//! Events for subscribers, through an outbox: each change writes its events in its own
//! transaction, so none is lost or sent for a change that rolled back, and they are published
//! after commit. On PostgreSQL the transaction also sends `NOTIFY aidgraph_events` with the
//! event id, which PostgreSQL delivers at commit to every replica listening; on SQLite (one
//! process, writers serialised) a pump reads new outbox rows when a writer wakes it, and at
//! least once a second.

use crate::entities::outbox_event;
use crate::error::StoreError;
use crate::store::Store;
use crate::store::rows_per_statement;
use chrono::Utc;
use sea_orm::sea_query::Query;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// The PostgreSQL channel events are announced on.
pub const CHANNEL: &str = "aidgraph_events";

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// An overlap flag was raised, changed or reviewed; the subject is the flag id.
    OverlapFlag,
    /// A need was published; the subject is the need id.
    NeedPublished,
    /// A need's coverage may have changed; the subject is the need id.
    Coverage,
}

impl Topic {
    /// The topic's name in the outbox and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OverlapFlag => "overlap_flag",
            Topic::NeedPublished => "need_published",
            Topic::Coverage => "coverage",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "overlap_flag" => Some(Topic::OverlapFlag),
            "need_published" => Some(Topic::NeedPublished),
            "coverage" => Some(Topic::Coverage),
            _ => None,
        }
    }
}

/// A committed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Outbox id.
    pub id: i64,
    /// What it is about.
    pub topic: Topic,
    /// Recipient countries concerned.
    pub countries: Vec<String>,
    /// Reporting organisations concerned.
    pub providers: Vec<String>,
    /// The flag or need id.
    pub subject_id: i64,
}

fn joined(items: impl IntoIterator<Item = String>) -> String {
    let mut s = String::from(",");
    for item in items {
        s.push_str(&item);
        s.push(',');
    }
    s
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The events an outbox row holds: one, or (written by a recomputation) many of one topic,
/// each with its own subject, countries and providers.
fn events_of(m: outbox_event::Model) -> Result<Vec<Event>, StoreError> {
    let topic = Topic::parse(&m.topic)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown topic {}", m.topic)))?;
    let payload: serde_json::Value = serde_json::from_str(&m.payload)?;
    let Some(items) = payload["items"].as_array() else {
        return Ok(vec![Event {
            id: m.id,
            topic,
            countries: split(&m.countries),
            providers: split(&m.providers),
            subject_id: payload["id"].as_i64().unwrap_or_default(),
        }]);
    };
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Ok(items
        .iter()
        .map(|item| Event {
            id: m.id,
            topic,
            countries: strings(&item[1]),
            providers: strings(&item[2]),
            subject_id: item[0].as_i64().unwrap_or_default(),
        })
        .collect())
}

/// An event to write.
#[derive(Debug, Clone)]
pub struct Pending {
    /// What it is about.
    pub topic: Topic,
    /// Recipient countries concerned.
    pub countries: Vec<String>,
    /// Reporting organisations concerned.
    pub providers: Vec<String>,
    /// The flag or need id.
    pub subject_id: i64,
}

/// Writes an event in the caller's transaction.
pub async fn record(
    conn: &impl ConnectionTrait,
    topic: Topic,
    countries: &[String],
    providers: &[&str],
    subject_id: i64,
) -> Result<(), StoreError> {
    record_many(
        conn,
        vec![Pending {
            topic,
            countries: countries.to_vec(),
            providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            subject_id,
        }],
    )
    .await
}

/// Writes events in the caller's transaction; on PostgreSQL one notification announces the
/// range of ids written.
pub async fn record_many(
    conn: &impl ConnectionTrait,
    events: Vec<Pending>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let mut first = None;
    let mut last = None;
    for chunk in events.chunks(rows_per_statement(conn.get_database_backend(), 5)) {
        // A plain statement that returns only ids: outbox rows are written in bulk by
        // recomputations.
        let mut insert = Query::insert();
        insert.into_table(outbox_event::Entity).columns([
            outbox_event::Column::Topic,
            outbox_event::Column::Countries,
            outbox_event::Column::Providers,
            outbox_event::Column::Payload,
            outbox_event::Column::CreatedAt,
        ]);
        for e in chunk {
            insert.values_panic([
                e.topic.as_str().into(),
                joined(e.countries.iter().cloned()).into(),
                joined(e.providers.iter().cloned()).into(),
                format!("{{\"id\":{}}}", e.subject_id).into(),
                now.into(),
            ]);
        }
        if conn.get_database_backend() != DatabaseBackend::Postgres {
            // Only PostgreSQL's NOTIFY needs the ids.
            conn.execute(&insert).await?;
            continue;
        }
        insert.returning_col(outbox_event::Column::Id);
        for row in conn.query_all(&insert).await? {
            let id: i64 = row.try_get_by_index(0)?;
            first = Some(first.map_or(id, |f: i64| f.min(id)));
            last = Some(last.map_or(id, |l: i64| l.max(id)));
        }
    }
    if let (Some(first), Some(last)) = (first, last)
        && conn.get_database_backend() == DatabaseBackend::Postgres
    {
        conn.execute_unprepared(&format!("NOTIFY {CHANNEL}, '{first}-{last}'"))
            .await?;
    }
    Ok(())
}

/// Writes many events of one topic as one outbox row, in the caller's transaction: `items` is
/// the JSON of each, `[subject id, [countries], [providers]]`, joined with commas. Subscribers
/// receive them one by one, as if written apart. A recomputation writes its flag events so.
pub async fn record_batch(
    conn: &impl ConnectionTrait,
    topic: Topic,
    items: &str,
) -> Result<(), StoreError> {
    let mut insert = Query::insert();
    insert
        .into_table(outbox_event::Entity)
        .columns([
            outbox_event::Column::Topic,
            outbox_event::Column::Countries,
            outbox_event::Column::Providers,
            outbox_event::Column::Payload,
            outbox_event::Column::CreatedAt,
        ])
        .values_panic([
            topic.as_str().into(),
            joined([]).into(),
            joined([]).into(),
            format!("{{\"items\":[{items}]}}").into(),
            Utc::now().into(),
        ]);
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        conn.execute(&insert).await?;
        return Ok(());
    }
    insert.returning_col(outbox_event::Column::Id);
    if let Some(row) = conn.query_one(&insert).await? {
        let id: i64 = row.try_get_by_index(0)?;
        conn.execute_unprepared(&format!("NOTIFY {CHANNEL}, '{id}-{id}'"))
            .await?;
    }
    Ok(())
}

/// Fans committed events out to this process's subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    wake: Arc<Notify>,
    /// The highest outbox id read so far, for the publisher's lag.
    read_up_to: Arc<std::sync::atomic::AtomicI64>,
}

impl EventBus {
    /// The bus of `store`'s events, woken by its commits; [`EventBus::start`] starts it.
    pub fn of(store: &Store) -> Self {
        EventBus {
            sender: broadcast::channel(1024).0,
            wake: store.commits(),
            read_up_to: Arc::default(),
        }
    }

    /// A receiver of events committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// The highest outbox id this process's publisher has read: the outbox's last id minus
    /// this is how far publishing lags behind commits.
    pub fn read_up_to(&self) -> i64 {
        self.read_up_to.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn note_read(&self, id: i64) {
        self.read_up_to
            .fetch_max(id, std::sync::atomic::Ordering::Relaxed);
    }

    /// Tells the pump that a writer committed events (every commit on the store does).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts publishing `store`'s events: on PostgreSQL by listening on [`CHANNEL`], on SQLite
    /// by pumping the outbox after each commit.
    pub async fn start(&self, store: &Store) -> Result<(), StoreError> {
        let (db, url) = (store.db().clone(), store.url());
        let last = last_id(&db).await?.unwrap_or(0);
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let listener = listen(url).await.map_err(|e| {
                    StoreError::Database(sea_orm::DbErr::Custom(format!(
                        "listening for events: {e}"
                    )))
                })?;
                tokio::spawn(self.clone().relay(db, url.to_owned(), listener, last));
            }
            _ => {
                let bus = self.clone();
                tokio::spawn(async move {
                    let mut last = last;
                    loop {
                        tokio::select! {
                            () = bus.wake.notified() => {},
                            () = tokio::time::sleep(Duration::from_secs(1)) => {},
                        }
                        if db.ping().await.is_err() {
                            return;
                        }
                        last = bus.publish_rows(&db, last, None, None).await;
                    }
                });
            }
        }
        Ok(())
    }

    /// Relays PostgreSQL's notifications for as long as the process lives. When the
    /// connection is lost, notifications sent meanwhile are lost with it, but not their rows:
    /// once listening again (retrying with backoff for as long as it takes), the rows
    /// committed since are read from the outbox and published, each once.
    async fn relay(
        self,
        db: DatabaseConnection,
        url: String,
        mut listener: PgListener,
        mut high: i64,
    ) {
        let mut sent = Recent::default();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => {
                    let range = note
                        .payload()
                        .split_once('-')
                        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)));
                    if let Some((first, last)) = range {
                        self.publish_rows(&db, first - 1, Some(last), Some(&mut sent))
                            .await;
                        high = high.max(last);
                    }
                }
                Ok(None) | Err(_) => {
                    tracing::warn!("the event listener lost its database connection; reconnecting");
                    listener = listen_again(&url).await;
                    // Transactions commit out of id order, so a margin before the highest id
                    // seen is read again; rows already sent are passed over.
                    let mut after = high.saturating_sub(CATCH_UP_MARGIN).max(0);
                    loop {
                        let last = self.publish_rows(&db, after, None, Some(&mut sent)).await;
                        if last == after {
                            break;
                        }
                        after = last;
                    }
                    high = high.max(after);
                    tracing::info!(
                        up_to = high,
                        "the event listener is back; missed events published"
                    );
                }
            }
        }
    }

    /// Broadcasts outbox rows after `after` (up to `until`), passing over those in `sent` (and
    /// noting the others there); returns the last id read.
    async fn publish_rows(
        &self,
        db: &DatabaseConnection,
        after: i64,
        until: Option<i64>,
        mut sent: Option<&mut Recent>,
    ) -> i64 {
        if self.sender.receiver_count() == 0 {
            // No one listens, and a subscriber hears only what commits after it subscribed:
            // the rows up to the last one committed are passed over unread, if still no one
            // listens once that is known. A recomputation writes millions of events, which
            // would otherwise be parsed beside its scoring.
            let last = match until {
                Some(until) => Ok(Some(until)),
                None => last_id(db).await,
            };
            match last {
                Ok(last) if self.sender.receiver_count() == 0 => {
                    let last = last.unwrap_or(after).max(after);
                    self.note_read(last);
                    return last;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading the event outbox failed");
                    return after;
                }
            }
        }
        let mut query = outbox_event::Entity::find()
            .filter(outbox_event::Column::Id.gt(after))
            .order_by_asc(outbox_event::Column::Id)
            .limit(5000);
        if let Some(until) = until {
            query = query.filter(outbox_event::Column::Id.lte(until));
        }
        let rows = match query.all(db).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "reading the event outbox failed");
                return after;
            }
        };
        let mut last = after;
        for row in rows {
            last = row.id;
            if let Some(sent) = sent.as_deref_mut()
                && !sent.insert(row.id)
            {
                continue;
            }
            match events_of(row) {
                // No subscriber is not an error.
                Ok(events) => {
                    for event in events {
                        metrics::counter!("aidgraph_events_published_total", "topic" => event.topic.as_str())
                            .increment(1);
                        drop(self.sender.send(event));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "unreadable outbox event"),
            }
        }
        self.note_read(last);
        last
    }
}

/// The events of outbox rows with ids strictly between `after` and `before`, oldest first, at
/// most `limit` rows: what a subscriber that fell behind the broadcast missed.
pub async fn between(
    db: &DatabaseConnection,
    after: i64,
    before: i64,
    limit: u64,
) -> Result<Vec<Event>, StoreError> {
    let rows = outbox_event::Entity::find()
        .filter(outbox_event::Column::Id.gt(after))
        .filter(outbox_event::Column::Id.lt(before))
        .order_by_asc(outbox_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        events.extend(events_of(row)?);
    }
    Ok(events)
}

/// How many ids before the highest one seen are read again after the listener reconnects.
const CATCH_UP_MARGIN: i64 = 1000;

/// The ids of the outbox rows published most recently, so none is sent twice.
#[derive(Debug, Default)]
struct Recent {
    order: std::collections::VecDeque<i64>,
    ids: std::collections::HashSet<i64>,
}

impl Recent {
    const CAPACITY: usize = 20_000;

    /// Notes `id`; false when it was already noted.
    fn insert(&mut self, id: i64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

/// A listener on [`CHANNEL`].
async fn listen(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A listener on [`CHANNEL`] once the database takes connections again: retried with backoff
/// from half a second to 30 seconds, each failure logged.
async fn listen_again(url: &str) -> PgListener {
    let mut wait = Duration::from_millis(500);
    loop {
        match listen(url).await {
            Ok(listener) => return listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "the event listener cannot reach the database");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The id of the last outbox row committed, if any.
pub async fn last_id(db: &DatabaseConnection) -> Result<Option<i64>, StoreError> {
    Ok(outbox_event::Entity::find()
        .select_only()
        .column_as(outbox_event::Column::Id.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(countries: &str, providers: &str, payload: &str) -> outbox_event::Model {
        outbox_event::Model {
            id: 9,
            topic: "overlap_flag".into(),
            countries: countries.into(),
            providers: providers.into(),
            payload: payload.into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_batch_row_gives_each_flag_its_own_event() -> Result<(), StoreError> {
        let batch = row(
            ",",
            ",",
            r#"{"items":[[41,["KE"],["XM-A","XM-B"]],[42,["KE","TZ"],["XM-C","XM-A"]]]}"#,
        );
        let events = events_of(batch)?;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].subject_id, 41);
        assert_eq!(events[0].countries, ["KE"]);
        assert_eq!(events[0].providers, ["XM-A", "XM-B"]);
        assert_eq!(events[1].subject_id, 42);
        assert_eq!(events[1].countries, ["KE", "TZ"]);
        assert_eq!(events[1].providers, ["XM-C", "XM-A"]);
        assert!(
            events
                .iter()
                .all(|e| e.topic == Topic::OverlapFlag && e.id == 9)
        );
        Ok(())
    }

    #[test]
    fn a_single_row_gives_one_event() -> Result<(), StoreError> {
        let single = row(",KE,", ",XM-A,XM-B,", r#"{"id":7}"#);
        let events = events_of(single)?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].subject_id, 7);
        assert_eq!(events[0].countries, ["KE"]);
        assert_eq!(events[0].providers, ["XM-A", "XM-B"]);
        Ok(())
    }
}
