//! The overlap engine's storage: flags with their countries, document frequencies for TF-IDF,
//! coordination edges, and the event outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the overlap engine's tables.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("overlap_flags")
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
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("overlap_flags", "activity_a_id")
                            .to("activities", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("overlap_flags", "activity_b_id")
                            .to("activities", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_overlap_flags_pair")
                    .table("overlap_flags")
                    .col("activity_a_id")
                    .col("activity_b_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_overlap_flags_b")
                    .table("overlap_flags")
                    .col("activity_b_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("overlap_flag_countries")
                    .col(big_integer("flag_id"))
                    .col(string("code"))
                    .primary_key(Index::create().col("flag_id").col("code"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("overlap_flag_countries", "flag_id")
                            .to("overlap_flags", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_overlap_flag_countries_code")
                    .table("overlap_flag_countries")
                    .col("code")
                    .col("flag_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("term_df")
                    .col(string("term").primary_key())
                    .col(big_integer("df"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("coordination_edges")
                    .col(string("a"))
                    .col(string("b"))
                    .col(string("source"))
                    .primary_key(Index::create().col("a").col("b").col("source"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_coordination_edges_source")
                    .table("coordination_edges")
                    .col("source")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("outbox_events")
                    .col(big_pk_auto("id"))
                    .col(string("topic"))
                    .col(string("countries"))
                    .col(string("providers"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "outbox_events",
            "coordination_edges",
            "term_df",
            "overlap_flag_countries",
            "overlap_flags",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
