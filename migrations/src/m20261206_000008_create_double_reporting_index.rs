//! Double-reporting pairs, which needs coverage and indicators count once: a partial index
//! holding only those flags (a few in a registry of millions), so reading the pairs of a
//! thousand activities touches them alone rather than every flag of those activities.

use sea_orm_migration::prelude::*;

/// Creates `idx_overlap_flags_double`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_overlap_flags_double ON overlap_flags \
                 (activity_a_id, activity_b_id) WHERE class = 'DOUBLE_REPORTING'",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_overlap_flags_double")
            .await
            .map(|_| ())
    }
}
