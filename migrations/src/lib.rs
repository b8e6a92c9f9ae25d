//! aidgraph's database migrations: one per file, append-only, giving SQLite and PostgreSQL
//! the same tables. A shipped migration is never edited; a change is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_registry;
mod m20261129_000002_create_overlap;
mod m20261129_000003_create_candidate_windows;
mod m20261129_000004_create_coordination_records;
mod m20261130_000005_drop_flag_foreign_keys;
mod m20261206_000006_create_registry_version;
mod m20261206_000007_create_flag_rank_index;
mod m20261206_000008_create_double_reporting_index;
mod m20261206_000009_create_iati_sources;
mod m20261207_000010_tag_activity_regions;

/// Runs aidgraph's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_registry::Migration),
            Box::new(m20261129_000002_create_overlap::Migration),
            Box::new(m20261129_000003_create_candidate_windows::Migration),
            Box::new(m20261129_000004_create_coordination_records::Migration),
            Box::new(m20261130_000005_drop_flag_foreign_keys::Migration),
            Box::new(m20261206_000006_create_registry_version::Migration),
            Box::new(m20261206_000007_create_flag_rank_index::Migration),
            Box::new(m20261206_000008_create_double_reporting_index::Migration),
            Box::new(m20261206_000009_create_iati_sources::Migration),
            Box::new(m20261207_000010_tag_activity_regions::Migration),
        ]
    }
}
