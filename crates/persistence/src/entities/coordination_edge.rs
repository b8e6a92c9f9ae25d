//! The `coordination_edges` table.
#![allow(missing_docs, reason = "columns are documented by the migration")]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coordination_edges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub a: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub b: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
