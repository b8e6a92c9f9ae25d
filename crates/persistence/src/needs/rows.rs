//! The rows of analyses and needs as commands write them: an analysis, a need and its
//! provisions, a new version of an analysis, a need's new content. The rules (who may, which
//! state may change to which), the audit entry and the events live in the command layer
//! (`aidgraph_registry::needs`), which calls these inside its transaction.

use super::*;

/// Stores a need of `analysis`.
pub async fn insert_need(
    conn: &impl ConnectionTrait,
    analysis: &AnalysisRecord,
    data: &NeedData,
) -> Result<NeedRecord, StoreError> {
    let now = Utc::now();
    let model = need::ActiveModel {
        analysis_id: Set(analysis.id),
        recipient_country: Set(analysis.data.recipient_country.clone()),
        title: Set(data.title.clone()),
        priority_area: Set(data.priority_area.as_str().to_owned()),
        priority: Set(data.priority.as_str().to_owned()),
        visibility: Set(data.visibility.as_str().to_owned()),
        document: Set(serde_json::to_string(data)?),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    write_provisions(conn, model.id, data).await?;
    Ok(NeedRecord {
        id: model.id,
        analysis_id: analysis.id,
        recipient_country: model.recipient_country,
        analysis_status: analysis.status,
        data: data.clone(),
        created_at: now,
    })
}

/// Replaces the provisions a need concerns.
pub async fn write_provisions(
    conn: &impl ConnectionTrait,
    need_id: i64,
    data: &NeedData,
) -> Result<(), StoreError> {
    need_provision::Entity::delete_many()
        .filter(need_provision::Column::NeedId.eq(need_id))
        .exec(conn)
        .await?;
    if !data.provisions.is_empty() {
        need_provision::Entity::insert_many(data.provisions.iter().map(|p| {
            need_provision::ActiveModel {
                need_id: Set(need_id),
                provision: Set(p.to_string()),
            }
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// Writes a new version of `analysis` with `status`, `published_at` and `supersedes_id`;
/// `CONFLICT` if it changed since it was read.
pub async fn bump_analysis(
    conn: &impl ConnectionTrait,
    analysis: &AnalysisRecord,
    status: NeedsAnalysisStatus,
    published_at: Option<DateTime<Utc>>,
    supersedes_id: Option<i64>,
) -> Result<AnalysisRecord, StoreError> {
    let now = Utc::now();
    let result = needs_analysis::Entity::update_many()
        .col_expr(needs_analysis::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            needs_analysis::Column::PublishedAt,
            Expr::value(published_at),
        )
        .col_expr(
            needs_analysis::Column::SupersedesId,
            Expr::value(supersedes_id),
        )
        .col_expr(
            needs_analysis::Column::Version,
            Expr::value(analysis.version + 1),
        )
        .col_expr(needs_analysis::Column::UpdatedAt, Expr::value(now))
        .filter(needs_analysis::Column::Id.eq(analysis.id))
        .filter(needs_analysis::Column::Version.eq(analysis.version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(StoreError::Conflict(format!(
            "needs analysis {} changed meanwhile; reload it and try again",
            analysis.id
        )));
    }
    Ok(AnalysisRecord {
        status,
        published_at,
        supersedes_id,
        version: analysis.version + 1,
        ..analysis.clone()
    })
}

/// Stores a draft analysis created by `created_by` (a token subject), `on_behalf` of its
/// country when a coordinator drafts it.
pub async fn insert_analysis(
    conn: &impl ConnectionTrait,
    created_by: &str,
    on_behalf: bool,
    data: &NeedsAnalysisData,
) -> Result<AnalysisRecord, StoreError> {
    let now = Utc::now();
    let model = needs_analysis::ActiveModel {
        recipient_country: Set(data.recipient_country.clone()),
        source: Set(data.source.as_str().to_owned()),
        reference: Set(data.reference.clone()),
        status: Set(NeedsAnalysisStatus::Draft.as_str().to_owned()),
        published_at: Set(None),
        supersedes_id: Set(None),
        created_by: Set(created_by.to_owned()),
        on_behalf: Set(on_behalf),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    AnalysisRecord::from_model(model)
}

/// Replaces need `id`'s content and provisions.
pub async fn update_need_row(
    conn: &impl ConnectionTrait,
    id: i64,
    data: &NeedData,
) -> Result<(), StoreError> {
    need::Entity::update_many()
        .col_expr(need::Column::Title, Expr::value(data.title.clone()))
        .col_expr(
            need::Column::PriorityArea,
            Expr::value(data.priority_area.as_str()),
        )
        .col_expr(need::Column::Priority, Expr::value(data.priority.as_str()))
        .col_expr(
            need::Column::Visibility,
            Expr::value(data.visibility.as_str()),
        )
        .col_expr(
            need::Column::Document,
            Expr::value(serde_json::to_string(data)?),
        )
        .col_expr(need::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(need::Column::Id.eq(id))
        .exec(conn)
        .await?;
    write_provisions(conn, id, data).await
}

/// The ids of analysis `analysis_id`'s needs, in the order they were added.
pub async fn need_ids_of(
    conn: &impl ConnectionTrait,
    analysis_id: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(need::Entity::find()
        .filter(need::Column::AnalysisId.eq(analysis_id))
        .order_by_asc(need::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect())
}
