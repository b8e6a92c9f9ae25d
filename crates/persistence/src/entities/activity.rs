//! The `activities` table.
#![allow(missing_docs, reason = "columns are documented by the migration")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub iati_identifier: String,
    pub reporting_org_id: i64,
    pub status: String,
    pub publication: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    pub planned_start: Option<Date>,
    pub window_start: Option<Date>,
    pub window_end: Option<Date>,
    pub start_key: String,
    #[sea_orm(column_type = "Text")]
    pub document: String,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
