//! The IATI element each imported activity came from, kept so that an export gives back what
//! the registry does not model (results, locations, contacts, publishers' own elements).

use sea_orm_migration::prelude::*;

/// Creates `iati_sources`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IatiSources {
    Table,
    ActivityId,
    IatiVersion,
    Element,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IatiSources::Table)
                    .col(
                        ColumnDef::new(IatiSources::ActivityId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(IatiSources::IatiVersion).string().not_null())
                    .col(ColumnDef::new(IatiSources::Element).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(IatiSources::Table, IatiSources::ActivityId)
                            .to(Alias::new("activities"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IatiSources::Table).to_owned())
            .await
    }
}
