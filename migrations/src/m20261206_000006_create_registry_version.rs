//! The registry version: one counter that every committed write transaction raises, in the
//! same transaction. Readers that keep results (the API's response cache) key them by it, so a
//! result is never served after a write has committed, on any replica sharing the database.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `registry_version` with its one row.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("registry_version")
                    .col(integer("id").primary_key())
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO registry_version (id, version) VALUES (1, 1)")
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("registry_version").to_owned())
            .await
    }
}
