//! Flags without foreign keys. Flags are derived data, written by the millions in a
//! recomputation and by the hundreds in one write, and PostgreSQL checks every referencing row
//! with a query of its own: the checks were a third of its work writing flags. What they
//! guarded holds without them: activities are never deleted (they are cancelled), and the code
//! that deletes a flag deletes its countries and review edges first.
//!
//! PostgreSQL drops the constraints; SQLite, which cannot, rebuilds the two tables, the child
//! first so that dropping the parent cascades to nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

/// Drops the foreign keys of `overlap_flags` and `overlap_flag_countries`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the rebuild is all or nothing, on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return run(
                manager,
                &[
                    "ALTER TABLE overlap_flag_countries \
                     DROP CONSTRAINT IF EXISTS overlap_flag_countries_flag_id_fkey",
                    "ALTER TABLE overlap_flags \
                     DROP CONSTRAINT IF EXISTS overlap_flags_activity_a_id_fkey, \
                     DROP CONSTRAINT IF EXISTS overlap_flags_activity_b_id_fkey",
                ],
            )
            .await;
        }
        rebuild(manager, false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return run(
                manager,
                &[
                    "ALTER TABLE overlap_flags \
                     ADD FOREIGN KEY (activity_a_id) REFERENCES activities (id) ON DELETE CASCADE, \
                     ADD FOREIGN KEY (activity_b_id) REFERENCES activities (id) ON DELETE CASCADE",
                    "ALTER TABLE overlap_flag_countries \
                     ADD FOREIGN KEY (flag_id) REFERENCES overlap_flags (id) ON DELETE CASCADE",
                ],
            )
            .await;
        }
        rebuild(manager, true).await
    }
}

/// Runs `statements` in turn (the SQLite driver runs only the first of several in one).
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(statement)
            .await?;
    }
    Ok(())
}

/// Rebuilds both tables on SQLite with or without their foreign keys, keeping their rows,
/// indexes and the flags' id sequence.
async fn rebuild(manager: &SchemaManager<'_>, foreign_keys: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let mut countries = Table::create();
    countries
        .table("overlap_flag_countries_new")
        .col(big_integer("flag_id"))
        .col(string("code"))
        .primary_key(Index::create().col("flag_id").col("code"));
    let mut flags = Table::create();
    flags
        .table("overlap_flags_new")
        .col(big_pk_auto("id"))
        .col(big_integer("activity_a_id"))
        .col(big_integer("activity_b_id"))
        .col(integer("score"))
        .col(string("class"))
        .col(text("components"))
        .col(string("config_version"))
        .col(string("input_hash"))
        .col(string("status"))
        .col(string_null("reviewed_by"))
        .col(text_null("note"))
        .col(timestamp_with_time_zone_null("reviewed_at"))
        .col(timestamp_with_time_zone("raised_at"))
        .col(timestamp_with_time_zone("updated_at"));
    if foreign_keys {
        countries.foreign_key(
            ForeignKey::create()
                .from("overlap_flag_countries_new", "flag_id")
                .to("overlap_flags", "id")
                .on_delete(ForeignKeyAction::Cascade),
        );
        for column in ["activity_a_id", "activity_b_id"] {
            flags.foreign_key(
                ForeignKey::create()
                    .from("overlap_flags_new", column)
                    .to("activities", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            );
        }
    }

    // With foreign keys back, the countries' table refers to the flags' and is rebuilt last.
    let flag_columns = "id, activity_a_id, activity_b_id, score, class, components, \
                        config_version, input_hash, status, reviewed_by, note, reviewed_at, \
                        raised_at, updated_at";
    let country_columns = "flag_id, code";
    let order: [(&str, &str, &TableCreateStatement); 2] = if foreign_keys {
        [
            ("overlap_flags", flag_columns, &flags),
            ("overlap_flag_countries", country_columns, &countries),
        ]
    } else {
        [
            ("overlap_flag_countries", country_columns, &countries),
            ("overlap_flags", flag_columns, &flags),
        ]
    };
    let sequence = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT seq FROM sqlite_sequence WHERE name = 'overlap_flags'",
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?;
    for (table, columns, create) in order {
        manager.create_table(create.clone()).await?;
        run(
            manager,
            &[
                &format!("INSERT INTO {table}_new ({columns}) SELECT {columns} FROM {table}"),
                &format!("DROP TABLE {table}"),
                &format!("ALTER TABLE {table}_new RENAME TO {table}"),
            ],
        )
        .await?;
    }
    // The new table's sequence starts from the rows copied (none when every flag was
    // removed since the last was raised): the old one is put back, so ids once given are not
    // given again.
    if let Some(seq) = sequence {
        run(
            manager,
            &[
                &format!(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT 'overlap_flags', {seq} \
                     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'overlap_flags')"
                ),
                &format!(
                    "UPDATE sqlite_sequence SET seq = MAX(seq, {seq}) WHERE name = 'overlap_flags'"
                ),
            ],
        )
        .await?;
    }
    run(
        manager,
        &[
            "CREATE UNIQUE INDEX idx_overlap_flags_pair \
             ON overlap_flags (activity_a_id, activity_b_id)",
            "CREATE INDEX idx_overlap_flags_b ON overlap_flags (activity_b_id)",
            "CREATE INDEX idx_overlap_flag_countries_code \
             ON overlap_flag_countries (code, flag_id)",
        ],
    )
    .await
}
