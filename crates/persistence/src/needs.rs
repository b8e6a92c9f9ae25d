//! Needs analyses and their needs: drafting, publishing, superseding, and finding them with
//! the visibility rules of DESIGN.md §7 applied in the query.

use crate::audit::{self, AuditEvent};
use crate::entities::{need, need_provision, needs_analysis};
use crate::error::StoreError;
use crate::events::{self, Topic};
use crate::page::{Cursor, Page, PageRequest};
use crate::store::Store;
use aidgraph_domain::access::Principal;
use aidgraph_domain::need::{NeedData, NeedsAnalysisData};
use aidgraph_domain::vocab::{
    NeedPriority, NeedSource, NeedVisibility, NeedsAnalysisStatus, PriorityArea,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// A stored needs analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRecord {
    /// Row id.
    pub id: i64,
    /// Country, source and reference.
    pub data: NeedsAnalysisData,
    /// Draft, published or superseded.
    pub status: NeedsAnalysisStatus,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// The analysis it replaced.
    pub supersedes_id: Option<i64>,
    /// Bumped by every change.
    pub version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl AnalysisRecord {
    fn from_model(m: needs_analysis::Model) -> Result<Self, StoreError> {
        let corrupt = |e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string());
        Ok(AnalysisRecord {
            id: m.id,
            data: NeedsAnalysisData {
                recipient_country: m.recipient_country,
                source: m.source.parse::<NeedSource>().map_err(corrupt)?,
                reference: m.reference,
            },
            status: m.status.parse().map_err(corrupt)?,
            published_at: m.published_at,
            supersedes_id: m.supersedes_id,
            version: m.version,
            created_at: m.created_at,
        })
    }
}

/// A stored need.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedRecord {
    /// Row id.
    pub id: i64,
    /// The analysis it belongs to.
    pub analysis_id: i64,
    /// The analysis's country.
    pub recipient_country: String,
    /// The analysis's status, which decides who sees the need.
    pub analysis_status: NeedsAnalysisStatus,
    /// Its validated content.
    pub data: NeedData,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Filters for listing needs analyses.
#[derive(Debug, Clone, Default)]
pub struct AnalysisFilter {
    /// Only for this country.
    pub recipient_country: Option<String>,
    /// Only in these states.
    pub status: Vec<NeedsAnalysisStatus>,
    /// Only from this source.
    pub source: Option<NeedSource>,
}

/// Filters for listing needs.
#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    /// Only in this country.
    pub recipient_country: Option<String>,
    /// Only under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Only concerning this provision.
    pub provision: Option<String>,
    /// Only of this priority.
    pub priority: Option<NeedPriority>,
    /// Only in this analysis.
    pub analysis_id: Option<i64>,
    /// Only in analyses in these states.
    pub analysis_status: Vec<NeedsAnalysisStatus>,
}

fn authorize(who: &Principal, country: &str) -> Result<(), StoreError> {
    if who.may_manage_needs(country) {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "you may not publish or change needs analyses for {country}"
        )))
    }
}

fn on_behalf<'a>(who: &Principal, country: &'a str) -> Option<&'a str> {
    who.acts_on_behalf_of(country).then_some(country)
}

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
fn analysis_visibility(who: &Principal) -> Condition {
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

async fn need_records(
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

async fn insert_need(
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

async fn write_provisions(
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
    store: &Store,
    who: &Principal,
    data: NeedsAnalysisData,
    needs: Vec<NeedData>,
) -> Result<(AnalysisRecord, Vec<NeedRecord>), StoreError> {
    authorize(who, &data.recipient_country)?;
    let txn = store.begin_write().await?;
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
    .insert(&*txn)
    .await?;
    let analysis = AnalysisRecord::from_model(model)?;
    let mut records = Vec::with_capacity(needs.len());
    for need in &needs {
        records.push(insert_need(&*txn, &analysis, need).await?);
    }
    audit::record(
        &*txn,
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
    txn.commit().await?;
    tracing::info!(analysis.id = analysis.id, analysis.country = %data.recipient_country, "needs analysis drafted");
    Ok((analysis, records))
}

async fn load_analysis_for_change(
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

async fn bump_analysis(
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
    store: &Store,
    who: &Principal,
    analysis_id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    let txn = store.begin_write().await?;
    let analysis = load_analysis_for_change(&*txn, who, analysis_id).await?;
    if analysis.status == NeedsAnalysisStatus::Superseded {
        return Err(StoreError::invalid(
            "analysisId",
            "the analysis is superseded; add needs to the analysis that replaced it",
        ));
    }
    let record = insert_need(&*txn, &analysis, &data).await?;
    audit::record(
        &*txn,
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
    txn.commit().await?;
    Ok(record)
}

/// Replaces a need's content.
pub async fn update_need(
    store: &Store,
    who: &Principal,
    id: i64,
    data: NeedData,
) -> Result<NeedRecord, StoreError> {
    let txn = store.begin_write().await?;
    let before = get_need(&*txn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("need", id))?;
    let analysis = load_analysis_for_change(&*txn, who, before.analysis_id).await?;
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
        .exec(&*txn)
        .await?;
    write_provisions(&*txn, id, &data).await?;
    audit::record(
        &*txn,
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
    txn.commit().await?;
    Ok(NeedRecord { data, ..before })
}

/// Publishes a draft analysis; it must hold at least one need.
pub async fn publish_analysis(
    store: &Store,
    who: &Principal,
    id: i64,
) -> Result<AnalysisRecord, StoreError> {
    let txn = store.begin_write().await?;
    let analysis = load_analysis_for_change(&*txn, who, id).await?;
    let published = publish_in(&*txn, who, &analysis).await?;
    txn.commit().await?;
    store.events().wake();
    tracing::info!(analysis.id = id, analysis.country = %analysis.data.recipient_country, "needs analysis published");
    Ok(published)
}

async fn publish_in(
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
    store: &Store,
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
    let txn = store.begin_write().await?;
    let old = load_analysis_for_change(&*txn, who, id).await?;
    let new = load_analysis_for_change(&*txn, who, by).await?;
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
    let new = bump_analysis(&*txn, &new, new.status, new.published_at, Some(old.id)).await?;
    publish_in(&*txn, who, &new).await?;
    let superseded = bump_analysis(
        &*txn,
        &old,
        NeedsAnalysisStatus::Superseded,
        old.published_at,
        old.supersedes_id,
    )
    .await?;
    audit::record(
        &*txn,
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
    txn.commit().await?;
    store.events().wake();
    Ok(superseded)
}
