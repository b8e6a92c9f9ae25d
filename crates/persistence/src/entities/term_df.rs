//! The `term_df` table.
#![allow(missing_docs, reason = "columns are documented by the migration")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "term_df")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    pub df: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
