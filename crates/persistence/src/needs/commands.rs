//! Creating, changing, publishing and superseding analyses and their needs, each in one transaction with its audit entry and events.

use super::*;

pub(super) async fn insert_need(
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

pub(super) async fn write_provisions(
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

/// Starts a needs analysis as a draft, with its first needs.
pub async fn create_analysis(
    conn: &impl ConnectionTrait,
    who: &Principal,
    data: NeedsAnalysisData,
    needs: Vec<NeedData>,
) -> Result<(AnalysisRecord, Vec<NeedRecord>), StoreError> {
    authorize(who, &data.recipient_country)?;
    let now = Utc::now();
    let model = needs_analysis::ActiveModel {
        recipient_country: Set(data.recipient_country.clone()),
        source: Set(data.source.as_str().to_owned()),
        reference: Set(data.reference.clone()),
        status: Set(NeedsAnalysisStatus::Draft.as_str().to_owned()),
        published_at: Set(None),
        supersedes_id: Set(None),
        created_by: Set(who.subject.clone()),
        on_behalf: Set(who.acts_on_behalf_of(&data.recipient_country)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let analysis = AnalysisRecord::from_model(model)?;
    let mut records = Vec::with_capacity(needs.len());
    for need in &needs {
        records.push(insert_need(conn, &analysis, need).await?);
    }
    audit::record(
        conn,
        who,
        AuditEvent::<(), _> {
            entity: "needs_analysis",
            entity_id: analysis.id,
            action: "create",
            before: None,
            after: Some(&(&data, &needs)),
            on_behalf_of: on_behalf(who, &data.recipient_country),
        },
    )
    .await?;
    tracing::info!(analysis.id = analysis.id, analysis.country = %data.recipient_country, "needs analysis drafted");
    Ok((analysis, records))
}

pub(super) async fn load_analysis_for_change(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    let analysis = get_analysis(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("needs analysis", id))?;
    authorize(who, &analysis.data.recipient_country)?;
    Ok(analysis)
}

pub(super) async fn bump_analysis(
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

/// Adds a need to a draft or published analysis.
pub async fn add_need(
    conn: &impl ConnectionTrait,
    who: &Principal,
    analysis_id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    let analysis = load_analysis_for_change(conn, who, analysis_id).await?;
    if analysis.status == NeedsAnalysisStatus::Superseded {
        return Err(StoreError::invalid(
            "analysisId",
            "the analysis is superseded; add needs to the analysis that replaced it",
        ));
    }
    let record = insert_need(conn, &analysis, &data).await?;
    audit::record(
        conn,
        who,
        AuditEvent::<(), _> {
            entity: "need",
            entity_id: record.id,
            action: "create",
            before: None,
            after: Some(&data),
            on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
        },
    )
    .await?;
    Ok(record)
}

/// Replaces a need's content.
pub async fn update_need(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    let before = get_need(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("need", id))?;
    let analysis = load_analysis_for_change(conn, who, before.analysis_id).await?;
    if analysis.status == NeedsAnalysisStatus::Superseded {
        return Err(StoreError::invalid(
            "id",
            "the need belongs to a superseded analysis and can no longer change",
        ));
    }
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
            Expr::value(serde_json::to_string(&data)?),
        )
        .col_expr(need::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(need::Column::Id.eq(id))
        .exec(conn)
        .await?;
    write_provisions(conn, id, &data).await?;
    audit::record(
        conn,
        who,
        AuditEvent {
            entity: "need",
            entity_id: id,
            action: "update",
            before: Some(&before.data),
            after: Some(&data),
            on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
        },
    )
    .await?;
    Ok(NeedRecord { data, ..before })
}

/// Publishes a draft analysis; it must hold at least one need.
pub async fn publish_analysis(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    let analysis = load_analysis_for_change(conn, who, id).await?;
    let published = publish_in(conn, who, &analysis).await?;
    tracing::info!(analysis.id = id, analysis.country = %analysis.data.recipient_country, "needs analysis published");
    Ok(published)
}

pub(super) async fn publish_in(
    conn: &impl ConnectionTrait,
    who: &Principal,
    analysis: &AnalysisRecord,
) -> Result<AnalysisRecord, StoreError> {
    match analysis.status {
        NeedsAnalysisStatus::Published => return Ok(analysis.clone()),
        NeedsAnalysisStatus::Superseded => {
            return Err(StoreError::invalid(
                "id",
                "a superseded analysis cannot be published again",
            ));
        }
        NeedsAnalysisStatus::Draft => {}
    }
    let count = need::Entity::find()
        .filter(need::Column::AnalysisId.eq(analysis.id))
        .count(conn)
        .await?;
    if count == 0 {
        return Err(StoreError::invalid(
            "id",
            "an analysis needs at least one need before it is published",
        ));
    }
    let published = bump_analysis(
        conn,
        analysis,
        NeedsAnalysisStatus::Published,
        Some(Utc::now()),
        analysis.supersedes_id,
    )
    .await?;
    let ids: Vec<i64> = need::Entity::find()
        .filter(need::Column::AnalysisId.eq(analysis.id))
        .order_by_asc(need::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect();
    for id in ids {
        events::record(
            conn,
            Topic::NeedPublished,
            std::slice::from_ref(&analysis.data.recipient_country),
            &[],
            id,
        )
        .await?;
    }
    audit::record(
        conn,
        who,
        AuditEvent {
            entity: "needs_analysis",
            entity_id: analysis.id,
            action: "publish",
            before: Some(&analysis.status.as_str()),
            after: Some(&published.status.as_str()),
            on_behalf_of: on_behalf(who, &analysis.data.recipient_country),
        },
    )
    .await?;
    Ok(published)
}

/// Marks analysis `id` as superseded by `by` (same country), publishing `by` if it is a draft.
/// Returns the superseded analysis.
pub async fn supersede_analysis(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
    by: i64,
) -> Result<AnalysisRecord, StoreError> {
    if id == by {
        return Err(StoreError::invalid(
            "by",
            "an analysis cannot supersede itself",
        ));
    }
    let old = load_analysis_for_change(conn, who, id).await?;
    let new = load_analysis_for_change(conn, who, by).await?;
    if old.status != NeedsAnalysisStatus::Published {
        return Err(StoreError::invalid(
            "id",
            "only a published analysis can be superseded",
        ));
    }
    if new.data.recipient_country != old.data.recipient_country {
        return Err(StoreError::invalid(
            "by",
            format!(
                "the replacing analysis is for {}, not {}",
                new.data.recipient_country, old.data.recipient_country
            ),
        ));
    }
    let new = bump_analysis(conn, &new, new.status, new.published_at, Some(old.id)).await?;
    publish_in(conn, who, &new).await?;
    let superseded = bump_analysis(
        conn,
        &old,
        NeedsAnalysisStatus::Superseded,
        old.published_at,
        old.supersedes_id,
    )
    .await?;
    audit::record(
        conn,
        who,
        AuditEvent {
            entity: "needs_analysis",
            entity_id: old.id,
            action: "supersede",
            before: Some(&old.status.as_str()),
            after: Some(&(superseded.status.as_str(), by)),
            on_behalf_of: on_behalf(who, &old.data.recipient_country),
        },
    )
    .await?;
    Ok(superseded)
}
