//! Candidate windows: one row per published, not cancelled activity and recipient country, with
//! its effective window and version, so the overlap engine finds an activity's candidates from
//! one covering index without reading activity documents.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates and fills `candidate_windows`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("candidate_windows")
                    .col(string("code"))
                    .col(big_integer("activity_id"))
                    .col(date("window_start"))
                    .col(date("window_end"))
                    .col(integer("version"))
                    .primary_key(Index::create().col("code").col("activity_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("candidate_windows", "activity_id")
                            .to("activities", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_candidate_windows_lookup")
                    .table("candidate_windows")
                    .col("code")
                    .col("window_start")
                    .col("window_end")
                    .col("activity_id")
                    .col("version")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_candidate_windows_activity")
                    .table("candidate_windows")
                    .col("activity_id")
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO candidate_windows (code, activity_id, window_start, window_end, version) \
                 SELECT ac.code, a.id, a.window_start, a.window_end, a.version \
                 FROM activity_countries ac JOIN activities a ON a.id = ac.activity_id \
                 WHERE a.publication = 'PUBLISHED' AND a.status <> 'CANCELLED' \
                 AND a.window_start IS NOT NULL AND a.window_end IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("candidate_windows").to_owned())
            .await
    }
}
