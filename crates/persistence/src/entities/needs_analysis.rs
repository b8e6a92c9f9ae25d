//! The `needs_analyses` table.
#![allow(missing_docs, reason = "columns are documented by the migration")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "needs_analyses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recipient_country: String,
    pub source: String,
    pub reference: Option<String>,
    pub status: String,
    pub published_at: Option<DateTimeUtc>,
    pub supersedes_id: Option<i64>,
    pub created_by: String,
    pub on_behalf: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
