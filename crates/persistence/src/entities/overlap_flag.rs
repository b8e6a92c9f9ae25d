//! The `overlap_flags` table.
#![allow(missing_docs, reason = "columns are documented by the migration")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "overlap_flags")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub activity_a_id: i64,
    pub activity_b_id: i64,
    pub score: i32,
    pub class: String,
    #[sea_orm(column_type = "Text")]
    pub components: String,
    pub config_version: String,
    pub input_hash: String,
    pub status: String,
    pub reviewed_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub raised_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
