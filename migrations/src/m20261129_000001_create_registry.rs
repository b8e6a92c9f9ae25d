//! The registry core: organisations, needs analyses and needs, activities with their indexed
//! parts, links from activities to needs, and the audit trail.
//!
//! Each activity's full validated content lives in `activities.document` (JSON text); the
//! child tables hold the parts that queries filter on, so no dialect-specific JSON operator is
//! needed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the registry core.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organisations")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("ref"))
                    .col(string("name"))
                    .col(string("kind"))
                    .col(string_null("iati_type"))
                    .col(string_null("country"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("needs_analyses")
                    .col(big_pk_auto("id"))
                    .col(string("recipient_country"))
                    .col(string("source"))
                    .col(string_null("reference"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(big_integer_null("supersedes_id"))
                    .col(string("created_by"))
                    .col(boolean("on_behalf"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("needs_analyses", "supersedes_id", "needs_analyses"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "needs_analyses",
                "idx_needs_analyses_country",
                &["recipient_country", "status"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("needs")
                    .col(big_pk_auto("id"))
                    .col(big_integer("analysis_id"))
                    .col(string("recipient_country"))
                    .col(string("title"))
                    .col(string("priority_area"))
                    .col(string("priority"))
                    .col(string("visibility"))
                    .col(text("document"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("needs", "analysis_id", "needs_analyses"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("needs", "idx_needs_analysis", &["analysis_id"]))
            .await?;
        manager
            .create_index(index(
                "needs",
                "idx_needs_country_area",
                &["recipient_country", "priority_area"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("need_provisions")
                    .col(big_integer("need_id"))
                    .col(string("provision"))
                    .primary_key(Index::create().col("need_id").col("provision"))
                    .foreign_key(&mut fk("need_provisions", "need_id", "needs"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "need_provisions",
                "idx_need_provisions_provision",
                &["provision"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activities")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("iati_identifier"))
                    .col(big_integer("reporting_org_id"))
                    .col(string("status"))
                    .col(string("publication"))
                    .col(string("title"))
                    .col(text("search_text"))
                    .col(date_null("planned_start"))
                    .col(date_null("window_start"))
                    .col(date_null("window_end"))
                    .col(string("start_key"))
                    .col(text("document"))
                    .col(integer("version"))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("activities", "reporting_org_id", "organisations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activities",
                "idx_activities_reporting_org",
                &["reporting_org_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "activities",
                "idx_activities_start_key",
                &["start_key", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_countries")
                    .col(big_integer("activity_id"))
                    .col(string("code"))
                    .col(string_null("percentage"))
                    .primary_key(Index::create().col("activity_id").col("code"))
                    .foreign_key(&mut fk("activity_countries", "activity_id", "activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_countries",
                "idx_activity_countries_code",
                &["code", "activity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_sectors")
                    .col(big_integer("activity_id"))
                    .col(string("vocabulary"))
                    .col(string("code"))
                    .col(string_null("percentage"))
                    .primary_key(
                        Index::create()
                            .col("activity_id")
                            .col("vocabulary")
                            .col("code"),
                    )
                    .foreign_key(&mut fk("activity_sectors", "activity_id", "activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_sectors",
                "idx_activity_sectors_code",
                &["code", "activity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_tags")
                    .col(big_integer("activity_id"))
                    .col(string("kind"))
                    .col(string("value"))
                    .primary_key(Index::create().col("activity_id").col("kind").col("value"))
                    .foreign_key(&mut fk("activity_tags", "activity_id", "activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_tags",
                "idx_activity_tags_value",
                &["kind", "value", "activity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_participants")
                    .col(big_pk_auto("id"))
                    .col(big_integer("activity_id"))
                    .col(big_integer("organisation_id"))
                    .col(string("role"))
                    .col(string_null("activity_ref"))
                    .foreign_key(&mut fk(
                        "activity_participants",
                        "activity_id",
                        "activities",
                    ))
                    .foreign_key(&mut fk(
                        "activity_participants",
                        "organisation_id",
                        "organisations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_participants",
                "idx_activity_participants_activity",
                &["activity_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "activity_participants",
                "idx_activity_participants_org",
                &["organisation_id", "activity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_related")
                    .col(big_integer("activity_id"))
                    .col(string("related_identifier"))
                    .col(string("kind"))
                    .primary_key(
                        Index::create()
                            .col("activity_id")
                            .col("related_identifier")
                            .col("kind"),
                    )
                    .foreign_key(&mut fk("activity_related", "activity_id", "activities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_related",
                "idx_activity_related_identifier",
                &["related_identifier"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activity_needs")
                    .col(big_integer("activity_id"))
                    .col(big_integer("need_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("activity_id").col("need_id"))
                    .foreign_key(&mut fk("activity_needs", "activity_id", "activities"))
                    .foreign_key(&mut fk("activity_needs", "need_id", "needs"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "activity_needs",
                "idx_activity_needs_need",
                &["need_id", "activity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_entries")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string("actor"))
                    .col(string("actor_role"))
                    .col(string_null("on_behalf_of"))
                    .col(string("entity"))
                    .col(big_integer("entity_id"))
                    .col(string("action"))
                    .col(string_null("before_digest"))
                    .col(string_null("after_digest"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "audit_entries",
                "idx_audit_entries_entity",
                &["entity", "entity_id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_entries",
            "activity_needs",
            "activity_related",
            "activity_participants",
            "activity_tags",
            "activity_sectors",
            "activity_countries",
            "activities",
            "need_provisions",
            "needs",
            "needs_analyses",
            "organisations",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
