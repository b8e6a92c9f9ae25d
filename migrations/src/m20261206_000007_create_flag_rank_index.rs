//! Flags in the order lists show them (highest score first, then oldest): a page of
//! `overlapFlags` walks this index and stops after the page, rather than sorting every flag.

use sea_orm_migration::prelude::*;

/// Creates `idx_overlap_flags_rank`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_overlap_flags_rank ON overlap_flags (score DESC, id)",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_overlap_flags_rank")
            .await
            .map(|_| ())
    }
}
