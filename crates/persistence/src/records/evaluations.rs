//! Evaluations: recording them, who may see them, and the lessons they hold for planned
//! activities.

use super::*;

/// A stored evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRecord {
    /// Row id.
    pub id: i64,
    /// The activities it evaluates.
    pub activity_ids: Vec<i64>,
    /// Its content.
    pub data: EvaluationData,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Filters for evaluation lists.
#[derive(Debug, Clone, Default)]
pub struct EvaluationFilter {
    /// Of activities on this provision (canonical form, e.g. `UNTOC-18`).
    pub provision: Option<String>,
    /// Of activities under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Of activities in this country.
    pub country: Option<String>,
    /// Title, evaluator or lessons contain this text.
    pub text: Option<String>,
    /// Of this activity.
    pub activity_id: Option<i64>,
    /// Independent or not.
    pub independent: Option<bool>,
}

pub(super) async fn evaluation_records(
    conn: &impl ConnectionTrait,
    models: Vec<evaluation::Model>,
) -> Result<Vec<EvaluationRecord>, StoreError> {
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in evaluation_activity::Entity::find()
            .filter(evaluation_activity::Column::EvaluationId.is_in(chunk.iter().copied()))
            .order_by_asc(evaluation_activity::Column::ActivityId)
            .all(conn)
            .await?
        {
            links
                .entry(row.evaluation_id)
                .or_default()
                .push(row.activity_id);
        }
    }
    models
        .into_iter()
        .map(|m| {
            Ok(EvaluationRecord {
                id: m.id,
                activity_ids: links.remove(&m.id).unwrap_or_default(),
                data: serde_json::from_str(&m.document)?,
                recorded_by: m.recorded_by,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// A provider's organisation row id; other roles own no drafts.
pub(super) async fn own_org(
    conn: &impl ConnectionTrait,
    who: &Principal,
) -> Result<Option<i64>, StoreError> {
    activities::own_org_id(conn, who).await
}

/// Evaluations the caller may not see: those of a draft it does not own.
pub(super) fn hidden_evaluations(who: &Principal, own_org: Option<i64>) -> Option<Condition> {
    if who.reads_everything() {
        return None;
    }
    let mut drafts = Query::select()
        .column(activity::Column::Id)
        .from(activity::Entity)
        .and_where(activity::Column::Publication.eq(Publication::Draft.as_str()))
        .to_owned();
    if let Some(org) = own_org {
        drafts.and_where(activity::Column::ReportingOrgId.ne(org));
    }
    Some(
        Condition::all().add(
            evaluation::Column::Id.not_in_subquery(
                Query::select()
                    .column(evaluation_activity::Column::EvaluationId)
                    .from(evaluation_activity::Entity)
                    .and_where(evaluation_activity::Column::ActivityId.in_subquery(drafts))
                    .to_owned(),
            ),
        ),
    )
}

pub(super) fn evaluations_of_activities_where(
    activities: sea_orm::sea_query::SelectStatement,
) -> Condition {
    Condition::all().add(
        evaluation::Column::Id.in_subquery(
            Query::select()
                .column(evaluation_activity::Column::EvaluationId)
                .from(evaluation_activity::Entity)
                .and_where(evaluation_activity::Column::ActivityId.in_subquery(activities))
                .to_owned(),
        ),
    )
}

pub(super) fn tagged(kind: &str, value: String) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(activity_tag::Column::ActivityId)
        .from(activity_tag::Entity)
        .and_where(activity_tag::Column::Kind.eq(kind))
        .and_where(activity_tag::Column::Value.eq(value))
        .to_owned()
}

/// Stores an evaluation of `activity_ids` (existing activities, sorted and without repeats)
/// recorded by `recorded_by` (a token subject).
pub async fn insert_evaluation(
    conn: &impl ConnectionTrait,
    recorded_by: &str,
    activity_ids: Vec<i64>,
    data: EvaluationData,
) -> Result<EvaluationRecord, StoreError> {
    let ids = activity_ids;
    let now = Utc::now();
    let model = evaluation::ActiveModel {
        title: Set(data.title.clone()),
        evaluation_date: Set(data.date),
        independent: Set(data.independent),
        search_text: Set(data.search_text()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    evaluation_activity::Entity::insert_many(ids.iter().map(|a| {
        evaluation_activity::ActiveModel {
            evaluation_id: Set(model.id),
            activity_id: Set(*a),
        }
    }))
    .exec(conn)
    .await?;
    Ok(EvaluationRecord {
        id: model.id,
        activity_ids: ids,
        data,
        recorded_by: model.recorded_by,
        created_at: now,
    })
}

/// Lists the evaluations the caller may see, newest recorded first.
pub async fn list_evaluations(
    conn: &impl ConnectionTrait,
    who: &Principal,
    filter: &EvaluationFilter,
    page: &PageRequest,
) -> Result<Page<EvaluationRecord>, StoreError> {
    let own_org = own_org(conn, who).await?;
    let mut cond = Condition::all();
    if let Some(hidden) = hidden_evaluations(who, own_org) {
        cond = cond.add(hidden);
    }
    if let Some(p) = &filter.provision {
        cond = cond.add(evaluations_of_activities_where(tagged(
            TAG_PROVISION,
            p.clone(),
        )));
    }
    if let Some(area) = filter.priority_area {
        cond = cond.add(evaluations_of_activities_where(tagged(
            TAG_PRIORITY_AREA,
            area.as_str().to_owned(),
        )));
    }
    if let Some(country) = &filter.country {
        cond = cond.add(evaluations_of_activities_where(
            Query::select()
                .column(activity_country::Column::ActivityId)
                .from(activity_country::Entity)
                .and_where(activity_country::Column::Code.eq(country.trim().to_ascii_uppercase()))
                .to_owned(),
        ));
    }
    if let Some(id) = filter.activity_id {
        cond = cond.add(evaluations_of_activities_where(
            Query::select()
                .column(activity::Column::Id)
                .from(activity::Entity)
                .and_where(activity::Column::Id.eq(id))
                .to_owned(),
        ));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        cond = cond.add(lower_like(evaluation::Column::SearchText, &pattern));
    }
    if let Some(independent) = filter.independent {
        cond = cond.add(evaluation::Column::Independent.eq(independent));
    }
    let total = page
        .total(conn, evaluation::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = evaluation::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(evaluation::Column::Id.lt(after.id));
    }
    let models = query
        .order_by_desc(evaluation::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    let rows = evaluation_records(conn, models).await?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}

/// An evaluation by id, if the caller may see it.
pub async fn get_evaluation(
    conn: &impl ConnectionTrait,
    who: &Principal,
    id: i64,
) -> Result<Option<EvaluationRecord>, StoreError> {
    let own_org = own_org(conn, who).await?;
    let mut cond = Condition::all().add(evaluation::Column::Id.eq(id));
    if let Some(hidden) = hidden_evaluations(who, own_org) {
        cond = cond.add(hidden);
    }
    let models = evaluation::Entity::find().filter(cond).all(conn).await?;
    Ok(evaluation_records(conn, models).await?.pop())
}

/// Evaluations of each of `activity_ids` that the caller may see, newest first.
pub async fn evaluations_of(
    conn: &impl ConnectionTrait,
    who: &Principal,
    activity_ids: &[i64],
) -> Result<HashMap<i64, Vec<EvaluationRecord>>, StoreError> {
    let own_org = own_org(conn, who).await?;
    let mut out: HashMap<i64, Vec<EvaluationRecord>> = HashMap::new();
    for chunk in activity_ids.chunks(300) {
        let mut cond = evaluations_of_activities_where(
            Query::select()
                .column(activity::Column::Id)
                .from(activity::Entity)
                .and_where(activity::Column::Id.is_in(chunk.iter().copied()))
                .to_owned(),
        );
        if let Some(hidden) = hidden_evaluations(who, own_org) {
            cond = cond.add(hidden);
        }
        let models = evaluation::Entity::find()
            .filter(cond)
            .order_by_desc(evaluation::Column::EvaluationDate)
            .order_by_desc(evaluation::Column::Id)
            .all(conn)
            .await?;
        for record in evaluation_records(conn, models).await? {
            for a in &record.activity_ids {
                if chunk.contains(a) {
                    out.entry(*a).or_default().push(record.clone());
                }
            }
        }
    }
    Ok(out)
}

/// What one activity (or a planned one) asks lessons for: its provisions, and the activity to
/// leave out (itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LessonsQuestion {
    /// The provisions, e.g. `UNTOC-18`.
    pub provisions: Vec<String>,
    /// An activity whose own evaluations are not lessons for it.
    pub exclude_activity: Option<i64>,
}

/// [`lessons`] for many questions at once, in three statements whatever their number: the
/// evaluated activities carrying any of the provisions asked about, then the evaluations the
/// caller may see among theirs, newest first; each question takes the first [`MAX_LESSONS`]
/// that evaluate an activity sharing one of its provisions, other than the one it leaves out.
pub async fn lessons_for_many(
    conn: &impl ConnectionTrait,
    who: &Principal,
    questions: &[LessonsQuestion],
) -> Result<Vec<Vec<EvaluationRecord>>, StoreError> {
    let provisions: BTreeSet<&String> = questions.iter().flat_map(|q| &q.provisions).collect();
    if provisions.is_empty() {
        return Ok(vec![Vec::new(); questions.len()]);
    }
    // The evaluated activities' provisions, by activity.
    let tagged: Vec<(i64, String)> = activity_tag::Entity::find()
        .select_only()
        .column(activity_tag::Column::ActivityId)
        .column(activity_tag::Column::Value)
        .filter(activity_tag::Column::Kind.eq(TAG_PROVISION))
        .filter(activity_tag::Column::Value.is_in(provisions.iter().map(|p| p.as_str())))
        .filter(
            activity_tag::Column::ActivityId.in_subquery(
                Query::select()
                    .column(evaluation_activity::Column::ActivityId)
                    .from(evaluation_activity::Entity)
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(conn)
        .await?;
    let mut provisions_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (activity, provision) in tagged {
        provisions_of.entry(activity).or_default().push(provision);
    }
    if provisions_of.is_empty() {
        return Ok(vec![Vec::new(); questions.len()]);
    }
    let activity_ids: Vec<i64> = provisions_of.keys().copied().collect();
    let mut cond = Condition::all();
    let mut evaluated = Query::select()
        .column(activity::Column::Id)
        .from(activity::Entity)
        .to_owned();
    evaluated.and_where(activity::Column::Id.is_in(activity_ids));
    cond = cond.add(evaluations_of_activities_where(evaluated));
    if let Some(hidden) = hidden_evaluations(who, own_org(conn, who).await?) {
        cond = cond.add(hidden);
    }
    let models = evaluation::Entity::find()
        .filter(cond)
        .order_by_desc(evaluation::Column::EvaluationDate)
        .order_by_desc(evaluation::Column::Id)
        .all(conn)
        .await?;
    let evaluations = evaluation_records(conn, models).await?;
    Ok(questions
        .iter()
        .map(|q| {
            evaluations
                .iter()
                .filter(|e| {
                    e.activity_ids.iter().any(|a| {
                        Some(*a) != q.exclude_activity
                            && provisions_of
                                .get(a)
                                .is_some_and(|ps| ps.iter().any(|p| q.provisions.contains(p)))
                    })
                })
                .take(MAX_LESSONS as usize)
                .cloned()
                .collect()
        })
        .collect())
}
