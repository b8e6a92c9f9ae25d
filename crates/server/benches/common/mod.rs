//! What the benchmarks share: their size lists, percentiles, and a fresh PostgreSQL database
//! per run.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::time::Duration;

/// Registry sizes from `--activities 10000,100000`.
pub fn sizes(list: Option<String>) -> Vec<usize> {
    list.unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The `p`th percentile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A fresh database `name` on the PostgreSQL server at `server`, dropped again by
/// [`FreshDatabase::drop`].
pub struct FreshDatabase {
    admin: DatabaseConnection,
    name: String,
    /// Its URL.
    pub url: String,
}

impl FreshDatabase {
    /// Creates `name` on `server`, dropping a database left by an earlier run first.
    pub async fn create(server: &str, name: &str) -> anyhow::Result<Self> {
        let admin = Database::connect(server).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        // The database name follows the last `/` of the path; a query string (such as
        // `?host=/var/run/postgresql` for the Unix socket) is kept.
        let (path, query) = server
            .split_once('?')
            .map_or((server, String::new()), |(p, q)| (p, format!("?{q}")));
        let base = path.rsplit_once('/').map_or(path, |(b, _)| b);
        Ok(FreshDatabase {
            admin,
            url: format!("{base}/{name}{query}"),
            name: name.to_owned(),
        })
    }

    /// Drops the database.
    pub async fn drop(self) -> anyhow::Result<()> {
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}
