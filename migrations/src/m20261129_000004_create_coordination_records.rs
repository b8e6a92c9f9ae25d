//! Coordination records: evaluations and the activities they evaluate, missions and analytic
//! work with their organisations, contributions to the coordinator's funds, coordination
//! mechanisms with their countries, members and links, and monthly exchange rates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the coordination record tables.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(
    from: &'static str,
    column: &'static str,
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, column)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &'static str,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(table).to_owned();
    for c in columns {
        index.col(*c);
    }
    manager.create_index(index).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("evaluations")
                    .col(big_pk_auto("id"))
                    .col(string("title"))
                    .col(date("evaluation_date"))
                    .col(boolean("independent"))
                    .col(text("search_text"))
                    .col(text("document"))
                    .col(string("recorded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("evaluation_activities")
                    .col(big_integer("evaluation_id"))
                    .col(big_integer("activity_id"))
                    .primary_key(Index::create().col("evaluation_id").col("activity_id"))
                    .foreign_key(&mut cascade(
                        "evaluation_activities",
                        "evaluation_id",
                        "evaluations",
                    ))
                    .foreign_key(&mut cascade(
                        "evaluation_activities",
                        "activity_id",
                        "activities",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_evaluation_activities_activity",
            "evaluation_activities",
            &["activity_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("joint_works")
                    .col(big_pk_auto("id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(string("country"))
                    .col(date("start_date"))
                    .col(date_null("end_date"))
                    .col(boolean("joint"))
                    .col(text("document"))
                    .col(string("recorded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_joint_works_kind_country",
            "joint_works",
            &["kind", "country", "start_date"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("joint_work_organisations")
                    .col(big_integer("joint_work_id"))
                    .col(big_integer("organisation_id"))
                    .primary_key(Index::create().col("joint_work_id").col("organisation_id"))
                    .foreign_key(&mut cascade(
                        "joint_work_organisations",
                        "joint_work_id",
                        "joint_works",
                    ))
                    .foreign_key(&mut cascade(
                        "joint_work_organisations",
                        "organisation_id",
                        "organisations",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_joint_work_organisations_org",
            "joint_work_organisations",
            &["organisation_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("contributions")
                    .col(big_pk_auto("id"))
                    .col(big_integer("donor_id"))
                    .col(string("fund"))
                    .col(string_null("earmark"))
                    .col(string("amount"))
                    .col(string("currency"))
                    .col(integer("year"))
                    .col(string("status"))
                    .col(date_null("contribution_date"))
                    .col(string("recorded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut cascade("contributions", "donor_id", "organisations"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_contributions_donor_year",
            "contributions",
            &["donor_id", "year"],
        )
        .await?;
        index(
            manager,
            "idx_contributions_year",
            "contributions",
            &["year"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("coordination_mechanisms")
                    .col(big_pk_auto("id"))
                    .col(string("name"))
                    .col(string("level"))
                    .col(text("document"))
                    .col(string("recorded_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mechanism_countries")
                    .col(big_integer("mechanism_id"))
                    .col(string("code"))
                    .primary_key(Index::create().col("mechanism_id").col("code"))
                    .foreign_key(&mut cascade(
                        "mechanism_countries",
                        "mechanism_id",
                        "coordination_mechanisms",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_mechanism_countries_code",
            "mechanism_countries",
            &["code"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("mechanism_members")
                    .col(big_integer("mechanism_id"))
                    .col(big_integer("organisation_id"))
                    .primary_key(Index::create().col("mechanism_id").col("organisation_id"))
                    .foreign_key(&mut cascade(
                        "mechanism_members",
                        "mechanism_id",
                        "coordination_mechanisms",
                    ))
                    .foreign_key(&mut cascade(
                        "mechanism_members",
                        "organisation_id",
                        "organisations",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_mechanism_members_org",
            "mechanism_members",
            &["organisation_id"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("mechanism_links")
                    .col(big_integer("mechanism_id"))
                    .col(string("target_kind"))
                    .col(big_integer("target_id"))
                    .primary_key(
                        Index::create()
                            .col("mechanism_id")
                            .col("target_kind")
                            .col("target_id"),
                    )
                    .foreign_key(&mut cascade(
                        "mechanism_links",
                        "mechanism_id",
                        "coordination_mechanisms",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_mechanism_links_target",
            "mechanism_links",
            &["target_kind", "target_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("exchange_rates")
                    .col(string("currency"))
                    .col(string("month"))
                    .col(string("units_per_usd"))
                    .col(timestamp_with_time_zone("loaded_at"))
                    .primary_key(Index::create().col("currency").col("month"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "exchange_rates",
            "mechanism_links",
            "mechanism_members",
            "mechanism_countries",
            "coordination_mechanisms",
            "contributions",
            "joint_work_organisations",
            "joint_works",
            "evaluation_activities",
            "evaluations",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
