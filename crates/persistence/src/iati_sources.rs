//! The IATI element each imported activity came from (`iati_sources`), written in the
//! import's transaction and read by the export, which gives back from it what the registry
//! does not model.

use crate::entities::iati_source;
use crate::error::StoreError;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

/// An activity's `iati-activity` element as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file's IATI version (`2.03`, `1.05`…).
    pub version: String,
    /// The element as XML, namespace declarations included.
    pub element: String,
}

/// Keeps `source` for the activity; whether it differs from the one kept before.
pub async fn keep(
    conn: &impl ConnectionTrait,
    activity_id: i64,
    source: &Source,
) -> Result<bool, StoreError> {
    let before = iati_source::Entity::find_by_id(activity_id)
        .one(conn)
        .await?;
    if before.is_some_and(|b| b.iati_version == source.version && b.element == source.element) {
        return Ok(false);
    }
    iati_source::Entity::insert(iati_source::ActiveModel {
        activity_id: Set(activity_id),
        iati_version: Set(source.version.clone()),
        element: Set(source.element.clone()),
    })
    .on_conflict(
        OnConflict::column(iati_source::Column::ActivityId)
            .update_columns([
                iati_source::Column::IatiVersion,
                iati_source::Column::Element,
            ])
            .to_owned(),
    )
    .exec(conn)
    .await?;
    Ok(true)
}

/// The sources kept for `ids`, by activity id; activities registered through the API have
/// none.
pub async fn of_activities(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Source>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = iati_source::Entity::find()
            .filter(iati_source::Column::ActivityId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for r in rows {
            out.insert(
                r.activity_id,
                Source {
                    version: r.iati_version,
                    element: r.element,
                },
            );
        }
    }
    Ok(out)
}
