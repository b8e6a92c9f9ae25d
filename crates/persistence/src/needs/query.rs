//! Finding analyses and needs the caller may see.

use super::*;

/// Finds an analysis by id, if the caller may see it.
pub async fn get_analysis(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<Option<AnalysisRecord>, StoreError> {
    let Some(model) = needs_analysis::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    let record = AnalysisRecord::from_model(model)?;
    Ok(who
        .sees_analysis(record.status, &record.data.recipient_country)
        .then_some(record))
}

/// Loads analyses by id without visibility checks, for loaders.
pub async fn analyses_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, AnalysisRecord>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(1000) {
        for m in needs_analysis::Entity::find()
            .filter(needs_analysis::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            let record = AnalysisRecord::from_model(m)?;
            out.insert(record.id, record);
        }
    }
    Ok(out)
}

/// Analyses the caller may see: published and superseded ones, drafts of its own country.
pub(super) fn analysis_visibility(who: &Principal) -> Condition {
    if who.reads_everything() {
        return Condition::all();
    }
    let mut cond = Condition::any()
        .add(needs_analysis::Column::Status.ne(NeedsAnalysisStatus::Draft.as_str()));
    if let Some(country) = who.own_country() {
        cond = cond.add(needs_analysis::Column::RecipientCountry.eq(country));
    }
    cond
}

/// Lists the analyses the caller may see, newest first.
pub async fn list_analyses(
    conn: &impl ConnectionTrait,
    who: &Principal,
    filter: &AnalysisFilter,
    page: &PageRequest,
) -> Result<Page<AnalysisRecord>, StoreError> {
    let mut cond = Condition::all().add(analysis_visibility(who));
    if let Some(country) = &filter.recipient_country {
        cond = cond.add(needs_analysis::Column::RecipientCountry.eq(country.to_ascii_uppercase()));
    }
    if !filter.status.is_empty() {
        cond = cond
            .add(needs_analysis::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if let Some(source) = filter.source {
        cond = cond.add(needs_analysis::Column::Source.eq(source.as_str()));
    }
    let total = page
        .total(conn, needs_analysis::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = needs_analysis::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(needs_analysis::Column::Id.lt(after.id));
    }
    let rows = query
        .order_by_desc(needs_analysis::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(AnalysisRecord::from_model)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}

pub(super) async fn need_records(
    conn: &impl ConnectionTrait,
    models: Vec<need::Model>,
) -> Result<Vec<NeedRecord>, StoreError> {
    let ids: std::collections::BTreeSet<i64> = models.iter().map(|m| m.analysis_id).collect();
    let ids: Vec<i64> = ids.into_iter().collect();
    let analyses = analyses_by_ids(conn, &ids).await?;
    models
        .into_iter()
        .map(|m| {
            let status = analyses
                .get(&m.analysis_id)
                .map(|a| a.status)
                .ok_or_else(|| StoreError::Corrupt(format!("need {} has no analysis", m.id)))?;
            Ok(NeedRecord {
                id: m.id,
                analysis_id: m.analysis_id,
                recipient_country: m.recipient_country,
                analysis_status: status,
                data: serde_json::from_str(&m.document)?,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// Loads needs by id without visibility checks, for loaders that check per record.
pub async fn needs_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, NeedRecord>, StoreError> {
    let models = need::Entity::find()
        .filter(need::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(need_records(conn, models)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect())
}

/// The needs of each analysis, in the order they were added, for loaders.
pub async fn needs_of_analyses(
    conn: &impl ConnectionTrait,
    analysis_ids: &[i64],
) -> Result<HashMap<i64, Vec<NeedRecord>>, StoreError> {
    let models = need::Entity::find()
        .filter(need::Column::AnalysisId.is_in(analysis_ids.iter().copied()))
        .order_by_asc(need::Column::Id)
        .all(conn)
        .await?;
    let mut out: HashMap<i64, Vec<NeedRecord>> = HashMap::new();
    for n in need_records(conn, models).await? {
        out.entry(n.analysis_id).or_default().push(n);
    }
    Ok(out)
}

/// Finds a need by id, if the caller may see it.
pub async fn get_need(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<Option<NeedRecord>, StoreError> {
    let Some(record) = needs_by_ids(conn, &[id]).await?.remove(&id) else {
        return Ok(None);
    };
    Ok(who
        .sees_need(
            record.analysis_status,
            record.data.visibility,
            &record.recipient_country,
        )
        .then_some(record))
}

/// Lists the needs the caller may see, in the order they were added.
pub async fn list_needs(
    conn: &impl ConnectionTrait,
    who: &Principal,
    filter: &NeedFilter,
    page: &PageRequest,
) -> Result<Page<NeedRecord>, StoreError> {
    let mut analyses = Condition::all().add(analysis_visibility(who));
    if !filter.analysis_status.is_empty() {
        analyses = analyses.add(
            needs_analysis::Column::Status.is_in(filter.analysis_status.iter().map(|s| s.as_str())),
        );
    }
    let mut cond = Condition::all().add(
        need::Column::AnalysisId.in_subquery(
            Query::select()
                .column(needs_analysis::Column::Id)
                .from(needs_analysis::Entity)
                .cond_where(analyses)
                .to_owned(),
        ),
    );
    if !who.reads_everything() {
        let mut seen =
            Condition::any().add(need::Column::Visibility.eq(NeedVisibility::Public.as_str()));
        if let Some(country) = who.own_country() {
            seen = seen.add(need::Column::RecipientCountry.eq(country));
        }
        cond = cond.add(seen);
    }
    if let Some(country) = &filter.recipient_country {
        cond = cond.add(need::Column::RecipientCountry.eq(country.to_ascii_uppercase()));
    }
    if let Some(area) = filter.priority_area {
        cond = cond.add(need::Column::PriorityArea.eq(area.as_str()));
    }
    if let Some(priority) = filter.priority {
        cond = cond.add(need::Column::Priority.eq(priority.as_str()));
    }
    if let Some(analysis_id) = filter.analysis_id {
        cond = cond.add(need::Column::AnalysisId.eq(analysis_id));
    }
    if let Some(provision) = &filter.provision {
        cond = cond.add(
            need::Column::Id.in_subquery(
                Query::select()
                    .column(need_provision::Column::NeedId)
                    .from(need_provision::Entity)
                    .and_where(need_provision::Column::Provision.eq(provision.clone()))
                    .to_owned(),
            ),
        );
    }
    let total = page
        .total(conn, need::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = need::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(need::Column::Id.gt(after.id));
    }
    let models = query
        .order_by_asc(need::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    let rows = need_records(conn, models).await?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}
