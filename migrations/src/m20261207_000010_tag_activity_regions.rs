//! Recipient regions become activity tags (`REGION`), as priority areas and provisions are,
//! so activities can be listed by region (`activities(filter: {recipientRegion})`). Stored
//! activities get theirs from their documents.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Tags every stored activity with its recipient regions.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backfill = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "INSERT INTO activity_tags (activity_id, kind, value) \
                 SELECT DISTINCT a.id, 'REGION', r.value ->> 'code' \
                 FROM activities a, \
                 jsonb_array_elements(COALESCE(a.document::jsonb -> 'recipient_regions', '[]'::jsonb)) r \
                 WHERE r.value ->> 'code' IS NOT NULL \
                 ON CONFLICT DO NOTHING"
            }
            _ => {
                "INSERT OR IGNORE INTO activity_tags (activity_id, kind, value) \
                 SELECT DISTINCT a.id, 'REGION', json_extract(r.value, '$.code') \
                 FROM activities a, json_each(a.document, '$.recipient_regions') r \
                 WHERE json_extract(r.value, '$.code') IS NOT NULL"
            }
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM activity_tags WHERE kind = 'REGION'")
            .await
            .map(|_| ())
    }
}
