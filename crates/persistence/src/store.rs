//! The database handle: connecting (with SQLite tuned for a service), migrating, and the write
//! lock that keeps SQLite writers from tripping over each other.

use crate::analytics::SlimRecords;
use aidgraph_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, Statement, TransactionTrait,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};
use tokio::task::JoinHandle;

/// A connection pool, the write lock and the checkpointer: what the repositories need beside
/// the connection. The overlap engine and the event bus are built beside it at start-up
/// (see `aidgraph_registry::Registry` and [`EventBus::of`](crate::events::EventBus::of)).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    url: String,
    /// Published activities without their texts, which analytics read.
    slim: SlimRecords,
    /// Notified after every commit: the event publisher waits on it.
    committed: Arc<Notify>,
    /// SQLite allows one writer at a time; writers queue here rather than fail with
    /// "database is locked" when a read transaction upgrades. `None` on PostgreSQL.
    write_lock: Option<Arc<Mutex<()>>>,
    /// The background checkpointer, woken after a write commits (see [`checkpoint_on_wake`]);
    /// `None` on PostgreSQL, in memory, and for a [`Store::single_connection`].
    checkpoints: Option<Arc<Checkpointer>>,
}

/// What the background checkpointer is woken and stopped by.
#[derive(Debug, Default)]
struct Checkpointer {
    wake: Notify,
    closing: AtomicBool,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// A write transaction; on SQLite it also holds the write lock until dropped.
pub struct WriteTxn {
    /// The transaction, read through `Deref`: committing goes through [`WriteTxn::commit`],
    /// which wakes the checkpointer.
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
    checkpoints: Option<Arc<Checkpointer>>,
    committed: Arc<Notify>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl WriteTxn {
    /// Raises the registry version and commits the transaction. The raise comes last, so on
    /// PostgreSQL concurrent writers queue on the counter's row only from here to the commit.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn
            .execute_unprepared("UPDATE registry_version SET version = version + 1 WHERE id = 1")
            .await?;
        self.txn.commit().await?;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.wake.notify_one();
        }
        self.committed.notify_one();
        Ok(())
    }
}

impl Store {
    /// The pool's connections: open, and idle among them.
    pub fn pool_state(&self) -> (u32, usize) {
        match self.backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    /// Connects to `url` (`sqlite://…` or `postgres://…`) with a pool of `max_connections`.
    ///
    /// On a SQLite file a background task on a connection of its own checkpoints the
    /// write-ahead log after writes commit. A commit would otherwise run the checkpoint
    /// itself once the log passed 4 MiB: a write in a crowded country adds about 3 MiB of
    /// index pages, so nearly every such write copied the log into the database and waited
    /// on the disk twice, some 30 ms, before answering. Commits still checkpoint past 64 MiB,
    /// should the task fall behind.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        Self::connect_with(url, max_connections, Duration::from_secs(30)).await
    }

    /// Like [`Store::connect`], with the longest a caller waits for a pooled connection: while
    /// the database is down, each call fails after `acquire_timeout` with an error for which
    /// [`StoreError::is_unavailable`](crate::StoreError::is_unavailable) holds.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let mut store = Self::open(url, max_connections, true, acquire_timeout).await?;
        if store.backend() == DatabaseBackend::Sqlite && !store.is_in_memory() {
            let own = Self::open(url, 1, false, acquire_timeout).await?;
            let checkpointer = Arc::new(Checkpointer::default());
            let task = tokio::spawn(checkpoint_on_wake(own.db, Arc::downgrade(&checkpointer)));
            if let Ok(mut slot) = checkpointer.task.lock() {
                *slot = Some(task);
            }
            store.checkpoints = Some(checkpointer);
        }
        Ok(store)
    }

    /// A pool, on SQLite with the inline checkpoint threshold of a store that has a background
    /// checkpointer when `backstop` is set.
    async fn open(
        url: &str,
        max_connections: u32,
        backstop: bool,
        acquire_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(acquire_timeout.min(Duration::from_secs(10)))
            .acquire_timeout(acquire_timeout)
            // A ping on every checkout is a round trip per query: a dry run in a crowded
            // country makes several. Only a connection idle for a second is tested: under
            // load none is, and after a database restart (which takes longer than that)
            // every stale connection is, so it is replaced instead of failing a request.
            .test_before_acquire_if_idle_for(Duration::from_secs(1))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .create_if_missing(true)
                    // 8 MiB of page cache per connection (the default is 2 MiB): a write in
                    // a crowded country changes about a thousand index pages, which stay
                    // cached until it commits. No larger: a connection drops its whole cache
                    // when another has written, one free() per page, and with 64 MiB that
                    // took some 10 ms at the start of the next request on that connection.
                    .pragma("cache_size", "-8192")
                    .pragma(
                        "wal_autocheckpoint",
                        if backstop { "16384" } else { "1000" },
                    )
            });
        let mut db = Database::connect(options).await?;
        db.set_metric_callback(|info| {
            metrics::histogram!(
                "aidgraph_db_statement_duration_seconds",
                "outcome" => if info.failed { "failed" } else { "ok" }
            )
            .record(info.elapsed.as_secs_f64());
        });
        let write_lock = (db.get_database_backend() == DatabaseBackend::Sqlite)
            .then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            db,
            url: url.to_owned(),
            slim: SlimRecords::default(),
            committed: Arc::new(Notify::new()),
            write_lock,
            checkpoints: None,
        })
    }

    /// A store on one connection of its own that shares this one's write lock, caches and
    /// events, for a long run of write transactions (a recomputation): SQLite keeps a page
    /// cache per connection and drops it when another connection has written, so writes that
    /// take turns on pooled connections re-read every index page. An in-memory database has
    /// no second connection; the store itself is returned.
    ///
    /// On a SQLite file the connection:
    /// - keeps a 512 MiB page cache, which holds the flag indexes: evicted pages are read
    ///   again for the next transaction;
    /// - checkpoints every GiB of write-ahead log (262,144 pages of 4 KiB) itself, so an index
    ///   page changed by many transactions is copied to the database once per checkpoint
    ///   rather than after each; the log is cut back to 64 MiB after. Its commits do not wake
    ///   the background checkpointer, which would copy the log after each of them.
    ///
    /// Only this connection: requests' commits leave checkpoints to the background task.
    pub async fn single_connection(&self) -> Result<Store, DbErr> {
        if self.is_in_memory() {
            return Ok(self.clone());
        }
        let one = Store::open(&self.url, 1, false, Duration::from_secs(30)).await?;
        if one.backend() == DatabaseBackend::Sqlite {
            for pragma in [
                "PRAGMA cache_size = -524288",
                "PRAGMA wal_autocheckpoint = 262144",
                "PRAGMA journal_size_limit = 67108864",
            ] {
                one.db.execute_unprepared(pragma).await?;
            }
        }
        Ok(Store {
            db: one.db,
            url: self.url.clone(),
            slim: self.slim.clone(),
            committed: self.committed.clone(),
            write_lock: self.write_lock.clone(),
            // Its commits come in a long run with checkpoints of their own (above).
            checkpoints: None,
        })
    }

    fn is_in_memory(&self) -> bool {
        self.url.contains(":memory:") || self.url.contains("mode=memory")
    }

    /// Published activities without their texts, for analytics (see `analytics`).
    pub fn slim_records(&self) -> &SlimRecords {
        &self.slim
    }

    /// Notified after every commit on this store (or a store sharing its write lock).
    pub fn commits(&self) -> Arc<Notify> {
        self.committed.clone()
    }

    /// The database URL it connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    /// The pool, for reads.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which database this is.
    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Starts a write transaction (queuing behind other writers on SQLite).
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let txn = self.db.begin().await?;
        Ok(WriteTxn {
            txn,
            _guard: guard,
            checkpoints: self.checkpoints.clone(),
            committed: self.committed.clone(),
        })
    }

    /// The registry version: raised by every committed write, whichever process or replica
    /// made it. A result read after this returned reflects at least this version.
    pub async fn registry_version(&self) -> Result<i64, DbErr> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.backend(),
                "SELECT version FROM registry_version WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("registry_version has no row".into()))?;
        row.try_get("", "version")
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        // The checkpointer's connection first: the pool's last connection to close then
        // checkpoints the whole log and removes it.
        if let Some(checkpointer) = &self.checkpoints {
            checkpointer.closing.store(true, Ordering::SeqCst);
            checkpointer.wake.notify_one();
            let task = checkpointer.task.lock().ok().and_then(|mut t| t.take());
            if let Some(task) = task {
                drop(task.await);
            }
        }
        self.db.close().await
    }

    /// After a bulk load on PostgreSQL, refreshes the planner's statistics of `tables` (all
    /// tables when empty) and, with `vacuum`, their visibility maps, which index-only scans
    /// read. Until then the planner guesses from an empty table: a crowded country's candidates
    /// are read through the heap rather than from the index alone. Autovacuum does the same
    /// in time where it runs; a server may run without it. Nothing on SQLite.
    pub async fn refresh_statistics(&self, tables: &[&str], vacuum: bool) -> Result<(), DbErr> {
        if self.backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let command = if vacuum {
            "VACUUM (ANALYZE)"
        } else {
            "ANALYZE"
        };
        self.db
            .execute_unprepared(&format!("{command} {}", tables.join(", ")))
            .await
            .map(|_| ())
    }

    /// Runs a statement on the pool, for health checks and tools.
    pub async fn execute_unprepared(&self, sql: &str) -> Result<(), DbErr> {
        self.db.execute_unprepared(sql).await.map(|_| ())
    }
}

/// Checkpoints the write-ahead log on `conn` each time a write wakes it, until the store is
/// closed or every store that could wake it is gone. A passive checkpoint copies what no
/// reader still needs and waits on no one; writes that commit while one runs wake the next,
/// after a pause that lets a burst of writes share one.
async fn checkpoint_on_wake(conn: DatabaseConnection, checkpointer: Weak<Checkpointer>) {
    while let Some(c) = checkpointer.upgrade() {
        // Woken at least every few seconds to see whether the stores are gone.
        let woken = tokio::time::timeout(Duration::from_secs(5), c.wake.notified()).await;
        if c.closing.load(Ordering::SeqCst) {
            break;
        }
        drop(c);
        if woken.is_err() {
            continue;
        }
        if let Err(e) = conn
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
        {
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(conn.close().await);
}

/// Rows per multi-row statement when each row binds `values`: as many as the database accepts
/// in one statement (SQLite 32,766 bound values, PostgreSQL 65,535), at most 5,000. Fewer
/// statements matter on PostgreSQL: sqlx 0.9.0 leaves Nagle's algorithm on, so a statement
/// larger than a packet can wait about 40 ms for the server's delayed acknowledgement.
pub(crate) fn rows_per_statement(backend: DatabaseBackend, values: usize) -> usize {
    let limit = match backend {
        DatabaseBackend::Postgres => 65_535,
        _ => 32_766,
    };
    (limit / values.max(1)).clamp(1, 5_000)
}
