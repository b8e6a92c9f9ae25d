//! Coordination records: evaluations, missions and analytic work, contributions, coordination
//! mechanisms and their links. Each command checks the caller inside its write transaction
//! and writes an audit entry with the change.

use crate::activities::{self, ActivityRecord, TAG_PRIORITY_AREA, TAG_PROVISION};
use crate::audit::audit_change;
use crate::entities::{
    activity, activity_country, activity_tag, contribution, coordination_mechanism, evaluation,
    evaluation_activity, joint_work, joint_work_organisation, mechanism_country, mechanism_link,
    mechanism_member,
};
use crate::error::StoreError;
use crate::needs::{self, NeedRecord};
use crate::organisations::{self, escape_like, lower_like};
use crate::page::{Cursor, Page, PageRequest};
use crate::store::Store;
use aidgraph_domain::Violations;
use aidgraph_domain::access::Principal;
use aidgraph_domain::money::Money;
use aidgraph_domain::records::{
    ContributionData, EvaluationData, JointWorkData, MAX_LIST_LEN, MechanismData,
};
use aidgraph_domain::vocab::{
    ContributionStatus, Fund, JointWorkKind, MechanismLevel, PriorityArea, Publication,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeSet, HashMap};

/// Most evaluations returned as lessons.
pub const MAX_LESSONS: u64 = 10;

/// Organisation refs to row ids; unknown refs are reported under `field(i)`.
async fn resolve_orgs(
    conn: &impl ConnectionTrait,
    refs: &[(String, String)],
) -> Result<HashMap<String, i64>, StoreError> {
    let wanted: Vec<String> = refs.iter().map(|(r, _)| r.clone()).collect();
    let found = organisations::by_refs(conn, &wanted).await?;
    let mut v = Violations::default();
    for (r, field) in refs {
        if !found.contains_key(r) {
            v.push(
                field.clone(),
                format!("unknown organisation `{r}`; register it first"),
            );
        }
    }
    v.into_result(found.into_iter().map(|(r, o)| (r, o.id)).collect())
        .map_err(StoreError::Invalid)
}

fn forbid_unless(allowed: bool, message: &str) -> Result<(), StoreError> {
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden(message.to_owned()))
    }
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

/// A stored coordination record: its row id, validated content, who recorded it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    /// Row id.
    pub id: i64,
    /// Its content.
    pub data: T,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl<T: serde::de::DeserializeOwned> Recorded<T> {
    fn from_document(
        id: i64,
        document: &str,
        recorded_by: String,
        created_at: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        Ok(Recorded {
            id,
            data: serde_json::from_str(document)?,
            recorded_by,
            created_at,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluations

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

async fn evaluation_records(
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
async fn own_org(conn: &impl ConnectionTrait, who: &Principal) -> Result<Option<i64>, StoreError> {
    activities::own_org_id(conn, who).await
}

/// Evaluations the caller may not see: those of a draft it does not own.
fn hidden_evaluations(who: &Principal, own_org: Option<i64>) -> Option<Condition> {
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

fn evaluations_of_activities_where(activities: sea_orm::sea_query::SelectStatement) -> Condition {
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

fn tagged(kind: &str, value: String) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(activity_tag::Column::ActivityId)
        .from(activity_tag::Entity)
        .and_where(activity_tag::Column::Kind.eq(kind))
        .and_where(activity_tag::Column::Value.eq(value))
        .to_owned()
}

/// Records an evaluation of activities the caller reports (admins: any).
pub async fn record_evaluation(
    store: &Store,
    who: &Principal,
    activity_ids: &[i64],
    data: EvaluationData,
) -> Result<EvaluationRecord, StoreError> {
    let txn = store.begin_write().await?;
    let mut ids: Vec<i64> = activity_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found = activities::by_ids(&*txn, &ids).await?;
    let mut reporting = Vec::new();
    for id in &ids {
        let record = match found.get(id) {
            Some(r) if activities::sees(&*txn, who, r).await? => r,
            _ => return Err(StoreError::not_found("activity", id)),
        };
        reporting.push(record.data.reporting_org.as_str());
    }
    forbid_unless(
        who.may_record_evaluation(reporting),
        "you may record evaluations only of activities your organisation reports",
    )?;
    let now = Utc::now();
    let model = evaluation::ActiveModel {
        title: Set(data.title.clone()),
        evaluation_date: Set(data.date),
        independent: Set(data.independent),
        search_text: Set(data.search_text()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(who.subject.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    evaluation_activity::Entity::insert_many(ids.iter().map(|a| {
        evaluation_activity::ActiveModel {
            evaluation_id: Set(model.id),
            activity_id: Set(*a),
        }
    }))
    .exec(&*txn)
    .await?;
    audit_change(&*txn, who, "evaluation", model.id, "create", &(&data, &ids)).await?;
    txn.commit().await?;
    tracing::info!(evaluation.id = model.id, "evaluation recorded");
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

// ---------------------------------------------------------------------------------------------
// Missions and analytic work

/// A stored mission or piece of analytic work.
pub type JointWorkRecord = Recorded<JointWorkData>;

/// Filters for mission and analytic work lists.
#[derive(Debug, Clone, Default)]
pub struct JointWorkFilter {
    /// In this country.
    pub country: Option<String>,
    /// With this organisation taking part or acted for.
    pub organisation: Option<String>,
    /// Starting in this year.
    pub year: Option<i32>,
    /// Joint or not.
    pub joint: Option<bool>,
}

fn joint_work_record(m: joint_work::Model) -> Result<JointWorkRecord, StoreError> {
    Recorded::from_document(m.id, &m.document, m.recorded_by, m.created_at)
}

/// Records a mission or analytic work (coordinators and admins).
pub async fn record_joint_work(
    store: &Store,
    who: &Principal,
    data: JointWorkData,
) -> Result<JointWorkRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record missions and analytic work",
    )?;
    let txn = store.begin_write().await?;
    let mut refs: Vec<(String, String)> = data
        .organisations
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), format!("organisations[{i}]")))
        .collect();
    refs.extend(
        data.on_behalf_of
            .iter()
            .map(|r| (r.clone(), "onBehalfOf".to_owned())),
    );
    let ids = resolve_orgs(&*txn, &refs).await?;
    let now = Utc::now();
    let model = joint_work::ActiveModel {
        kind: Set(data.kind.as_str().to_owned()),
        title: Set(data.title.clone()),
        country: Set(data.country.clone()),
        start_date: Set(data.start_date),
        end_date: Set(data.end_date),
        joint: Set(data.joint()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(who.subject.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let involved: BTreeSet<i64> = ids.values().copied().collect();
    joint_work_organisation::Entity::insert_many(involved.iter().map(|o| {
        joint_work_organisation::ActiveModel {
            joint_work_id: Set(model.id),
            organisation_id: Set(*o),
        }
    }))
    .exec(&*txn)
    .await?;
    let entity = match data.kind {
        JointWorkKind::Mission => "mission",
        JointWorkKind::AnalyticWork => "analytic_work",
    };
    audit_change(&*txn, who, entity, model.id, "create", &data).await?;
    txn.commit().await?;
    tracing::info!(
        record.id = model.id,
        record.kind = entity,
        "joint work recorded"
    );
    joint_work_record(model)
}

async fn joint_work_condition(
    conn: &impl ConnectionTrait,
    kind: JointWorkKind,
    filter: &JointWorkFilter,
) -> Result<Option<Condition>, StoreError> {
    let mut cond = Condition::all().add(joint_work::Column::Kind.eq(kind.as_str()));
    if let Some(country) = &filter.country {
        cond = cond.add(joint_work::Column::Country.eq(country.trim().to_ascii_uppercase()));
    }
    if let Some(year) = filter.year {
        let (first, last) = year_bounds(year);
        cond = cond.add(joint_work::Column::StartDate.between(first, last));
    }
    if let Some(joint) = filter.joint {
        cond = cond.add(joint_work::Column::Joint.eq(joint));
    }
    if let Some(org) = &filter.organisation {
        let Some(org) = organisations::by_ref(conn, org.trim()).await? else {
            return Ok(None);
        };
        cond = cond.add(
            joint_work::Column::Id.in_subquery(
                Query::select()
                    .column(joint_work_organisation::Column::JointWorkId)
                    .from(joint_work_organisation::Entity)
                    .and_where(joint_work_organisation::Column::OrganisationId.eq(org.id))
                    .to_owned(),
            ),
        );
    }
    Ok(Some(cond))
}

/// Lists missions or analytic work, newest start first.
pub async fn list_joint_works(
    conn: &impl ConnectionTrait,
    kind: JointWorkKind,
    filter: &JointWorkFilter,
    page: &PageRequest,
) -> Result<Page<JointWorkRecord>, StoreError> {
    let Some(cond) = joint_work_condition(conn, kind, filter).await? else {
        return Ok(Page::from_rows(
            Vec::new(),
            page,
            0,
            |r: &JointWorkRecord| Cursor {
                key: String::new(),
                id: r.id,
            },
        ));
    };
    let total = page
        .total(conn, joint_work::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = joint_work::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(joint_work::Column::Id.lt(after.id));
    }
    let rows = query
        .order_by_desc(joint_work::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(joint_work_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}

/// Every mission or analytic work matching `filter`, for indicators.
pub async fn all_joint_works(
    conn: &impl ConnectionTrait,
    kind: JointWorkKind,
    filter: &JointWorkFilter,
) -> Result<Vec<JointWorkRecord>, StoreError> {
    let Some(cond) = joint_work_condition(conn, kind, filter).await? else {
        return Ok(Vec::new());
    };
    joint_work::Entity::find()
        .filter(cond)
        .order_by_asc(joint_work::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(joint_work_record)
        .collect()
}

/// Missions or analytic work by id, for `node`.
pub async fn joint_work_by_id(
    conn: &impl ConnectionTrait,
    kind: JointWorkKind,
    id: i64,
) -> Result<Option<JointWorkRecord>, StoreError> {
    joint_work::Entity::find_by_id(id)
        .filter(joint_work::Column::Kind.eq(kind.as_str()))
        .one(conn)
        .await?
        .map(joint_work_record)
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Contributions

/// A stored contribution.
pub type ContributionRecord = Recorded<ContributionData>;

/// Filters for contribution lists and summaries.
#[derive(Debug, Clone, Default)]
pub struct ContributionFilter {
    /// From this donor (ref).
    pub donor: Option<String>,
    /// For this year.
    pub year: Option<i32>,
    /// To this fund.
    pub fund: Option<Fund>,
    /// Pledged or paid.
    pub status: Option<ContributionStatus>,
}

fn contribution_record(
    m: contribution::Model,
    donors: &HashMap<i64, String>,
) -> Result<ContributionRecord, StoreError> {
    let corrupt = |e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string());
    Ok(ContributionRecord {
        id: m.id,
        data: ContributionData {
            donor: donors.get(&m.donor_id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("contribution {} has no donor", m.id))
            })?,
            fund: m.fund.parse().map_err(corrupt)?,
            earmark: m.earmark,
            amount: Money {
                amount: m
                    .amount
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("contribution {} amount", m.id)))?,
                currency: m.currency,
            },
            year: m.year,
            status: m.status.parse().map_err(corrupt)?,
            date: m.contribution_date,
        },
        recorded_by: m.recorded_by,
        created_at: m.created_at,
    })
}

async fn contribution_records(
    conn: &impl ConnectionTrait,
    models: Vec<contribution::Model>,
) -> Result<Vec<ContributionRecord>, StoreError> {
    let ids: BTreeSet<i64> = models.iter().map(|m| m.donor_id).collect();
    let donors: HashMap<i64, String> =
        organisations::by_ids(conn, &ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|(id, o)| (id, o.data.org_ref))
            .collect();
    models
        .into_iter()
        .map(|m| contribution_record(m, &donors))
        .collect()
}

/// Records a contribution (coordinators and admins).
pub async fn record_contribution(
    store: &Store,
    who: &Principal,
    data: ContributionData,
) -> Result<ContributionRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record contributions",
    )?;
    let txn = store.begin_write().await?;
    let ids = resolve_orgs(&*txn, &[(data.donor.clone(), "donor".to_owned())]).await?;
    let donor_id = ids.get(&data.donor).copied().unwrap_or_default();
    let now = Utc::now();
    let model = contribution::ActiveModel {
        donor_id: Set(donor_id),
        fund: Set(data.fund.as_str().to_owned()),
        earmark: Set(data.earmark.clone()),
        amount: Set(data.amount.amount.to_string()),
        currency: Set(data.amount.currency.clone()),
        year: Set(data.year),
        status: Set(data.status.as_str().to_owned()),
        contribution_date: Set(data.date),
        recorded_by: Set(who.subject.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    audit_change(&*txn, who, "contribution", model.id, "create", &data).await?;
    txn.commit().await?;
    tracing::info!(contribution.id = model.id, "contribution recorded");
    Ok(ContributionRecord {
        id: model.id,
        data,
        recorded_by: model.recorded_by,
        created_at: now,
    })
}

async fn contribution_condition(
    conn: &impl ConnectionTrait,
    filter: &ContributionFilter,
) -> Result<Option<Condition>, StoreError> {
    let mut cond = Condition::all();
    if let Some(donor) = &filter.donor {
        let Some(org) = organisations::by_ref(conn, donor.trim()).await? else {
            return Ok(None);
        };
        cond = cond.add(contribution::Column::DonorId.eq(org.id));
    }
    if let Some(year) = filter.year {
        cond = cond.add(contribution::Column::Year.eq(year));
    }
    if let Some(fund) = filter.fund {
        cond = cond.add(contribution::Column::Fund.eq(fund.as_str()));
    }
    if let Some(status) = filter.status {
        cond = cond.add(contribution::Column::Status.eq(status.as_str()));
    }
    Ok(Some(cond))
}

/// Lists contributions, newest recorded first.
pub async fn list_contributions(
    conn: &impl ConnectionTrait,
    filter: &ContributionFilter,
    page: &PageRequest,
) -> Result<Page<ContributionRecord>, StoreError> {
    let cursor = |r: &ContributionRecord| Cursor {
        key: String::new(),
        id: r.id,
    };
    let Some(cond) = contribution_condition(conn, filter).await? else {
        return Ok(Page::from_rows(Vec::new(), page, 0, cursor));
    };
    let total = page
        .total(conn, contribution::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = contribution::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(contribution::Column::Id.lt(after.id));
    }
    let models = query
        .order_by_desc(contribution::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    let rows = contribution_records(conn, models).await?;
    Ok(Page::from_rows(rows, page, total, cursor))
}

/// Every contribution matching `filter`, for summaries.
pub async fn all_contributions(
    conn: &impl ConnectionTrait,
    filter: &ContributionFilter,
) -> Result<Vec<ContributionRecord>, StoreError> {
    let Some(cond) = contribution_condition(conn, filter).await? else {
        return Ok(Vec::new());
    };
    let models = contribution::Entity::find()
        .filter(cond)
        .order_by_asc(contribution::Column::Id)
        .all(conn)
        .await?;
    contribution_records(conn, models).await
}

/// A contribution by id, for `node`.
pub async fn contribution_by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<ContributionRecord>, StoreError> {
    let models = contribution::Entity::find_by_id(id).all(conn).await?;
    Ok(contribution_records(conn, models).await?.pop())
}

// ---------------------------------------------------------------------------------------------
// Coordination mechanisms

/// What a mechanism coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkTarget {
    /// Activities.
    Activity,
    /// Needs.
    Need,
}

impl LinkTarget {
    fn as_str(self) -> &'static str {
        match self {
            LinkTarget::Activity => "ACTIVITY",
            LinkTarget::Need => "NEED",
        }
    }
}

/// A stored coordination mechanism.
pub type MechanismRecord = Recorded<MechanismData>;

/// Filters for mechanism lists.
#[derive(Debug, Clone, Default)]
pub struct MechanismFilter {
    /// Working in this country.
    pub country: Option<String>,
    /// At this level.
    pub level: Option<MechanismLevel>,
    /// With this member (ref).
    pub member: Option<String>,
}

fn mechanism_record(m: coordination_mechanism::Model) -> Result<MechanismRecord, StoreError> {
    Recorded::from_document(m.id, &m.document, m.recorded_by, m.created_at)
}

/// Creates a coordination mechanism (coordinators and admins).
pub async fn create_mechanism(
    store: &Store,
    who: &Principal,
    data: MechanismData,
) -> Result<MechanismRecord, StoreError> {
    forbid_unless(
        who.may_record_coordination(),
        "only coordinators record coordination mechanisms",
    )?;
    let txn = store.begin_write().await?;
    let refs: Vec<(String, String)> = data
        .members
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), format!("members[{i}]")))
        .collect();
    let ids = resolve_orgs(&*txn, &refs).await?;
    let now = Utc::now();
    let model = coordination_mechanism::ActiveModel {
        name: Set(data.name.clone()),
        level: Set(data.level.as_str().to_owned()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(who.subject.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    if !data.countries.is_empty() {
        mechanism_country::Entity::insert_many(data.countries.iter().map(|c| {
            mechanism_country::ActiveModel {
                mechanism_id: Set(model.id),
                code: Set(c.clone()),
            }
        }))
        .exec(&*txn)
        .await?;
    }
    if !ids.is_empty() {
        mechanism_member::Entity::insert_many(ids.values().map(|o| {
            mechanism_member::ActiveModel {
                mechanism_id: Set(model.id),
                organisation_id: Set(*o),
            }
        }))
        .exec(&*txn)
        .await?;
    }
    audit_change(
        &*txn,
        who,
        "coordination_mechanism",
        model.id,
        "create",
        &data,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(mechanism.id = model.id, "coordination mechanism created");
    mechanism_record(model)
}

/// Lists mechanisms in creation order.
pub async fn list_mechanisms(
    conn: &impl ConnectionTrait,
    filter: &MechanismFilter,
    page: &PageRequest,
) -> Result<Page<MechanismRecord>, StoreError> {
    let cursor = |r: &MechanismRecord| Cursor {
        key: String::new(),
        id: r.id,
    };
    let mut cond = Condition::all();
    if let Some(country) = &filter.country {
        cond = cond.add(
            coordination_mechanism::Column::Id.in_subquery(
                Query::select()
                    .column(mechanism_country::Column::MechanismId)
                    .from(mechanism_country::Entity)
                    .and_where(
                        mechanism_country::Column::Code.eq(country.trim().to_ascii_uppercase()),
                    )
                    .to_owned(),
            ),
        );
    }
    if let Some(level) = filter.level {
        cond = cond.add(coordination_mechanism::Column::Level.eq(level.as_str()));
    }
    if let Some(member) = &filter.member {
        let Some(org) = organisations::by_ref(conn, member.trim()).await? else {
            return Ok(Page::from_rows(Vec::new(), page, 0, cursor));
        };
        cond = cond.add(
            coordination_mechanism::Column::Id.in_subquery(
                Query::select()
                    .column(mechanism_member::Column::MechanismId)
                    .from(mechanism_member::Entity)
                    .and_where(mechanism_member::Column::OrganisationId.eq(org.id))
                    .to_owned(),
            ),
        );
    }
    let total = page
        .total(
            conn,
            coordination_mechanism::Entity::find().filter(cond.clone()),
        )
        .await?;
    let mut query = coordination_mechanism::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(coordination_mechanism::Column::Id.gt(after.id));
    }
    let rows = query
        .order_by_asc(coordination_mechanism::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(mechanism_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, cursor))
}

/// A mechanism by id.
pub async fn mechanism_by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<MechanismRecord>, StoreError> {
    coordination_mechanism::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(mechanism_record)
        .transpose()
}

/// The mechanisms coordinating each of `targets`.
pub async fn mechanisms_of(
    conn: &impl ConnectionTrait,
    kind: LinkTarget,
    targets: &[i64],
) -> Result<HashMap<i64, Vec<MechanismRecord>>, StoreError> {
    let links = mechanism_link::Entity::find()
        .filter(mechanism_link::Column::TargetKind.eq(kind.as_str()))
        .filter(mechanism_link::Column::TargetId.is_in(targets.iter().copied()))
        .order_by_asc(mechanism_link::Column::MechanismId)
        .all(conn)
        .await?;
    let ids: BTreeSet<i64> = links.iter().map(|l| l.mechanism_id).collect();
    let mechanisms: HashMap<i64, MechanismRecord> = coordination_mechanism::Entity::find()
        .filter(coordination_mechanism::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| mechanism_record(m).map(|r| (r.id, r)))
        .collect::<Result<_, _>>()?;
    let mut out: HashMap<i64, Vec<MechanismRecord>> = HashMap::new();
    for link in links {
        if let Some(m) = mechanisms.get(&link.mechanism_id) {
            out.entry(link.target_id).or_default().push(m.clone());
        }
    }
    Ok(out)
}

/// The ids of what a mechanism coordinates.
pub async fn linked_ids(
    conn: &impl ConnectionTrait,
    mechanism_id: i64,
    kind: LinkTarget,
) -> Result<Vec<i64>, StoreError> {
    Ok(mechanism_link::Entity::find()
        .filter(mechanism_link::Column::MechanismId.eq(mechanism_id))
        .filter(mechanism_link::Column::TargetKind.eq(kind.as_str()))
        .order_by_asc(mechanism_link::Column::TargetId)
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.target_id)
        .collect())
}

async fn check_activity_link(
    conn: &impl ConnectionTrait,
    who: &Principal,
    mechanism: Option<&MechanismData>,
    index: usize,
    id: i64,
) -> Result<(), StoreError> {
    let record: ActivityRecord = activities::get(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("activity", id))?;
    forbid_unless(
        who.reads_everything() || who.may_manage_activity(&record.data.reporting_org),
        "you may link only activities your organisation reports",
    )?;
    let Some(mechanism) = mechanism else {
        return Ok(());
    };
    if !record
        .data
        .recipient_countries
        .iter()
        .any(|c| mechanism.covers_country(&c.code))
    {
        return Err(StoreError::invalid(
            format!("activityIds[{index}]"),
            format!(
                "activity `{}` is in none of the mechanism's countries ({})",
                record.data.iati_identifier,
                mechanism.countries.join(", ")
            ),
        ));
    }
    Ok(())
}

async fn check_need_link(
    conn: &impl ConnectionTrait,
    who: &Principal,
    mechanism: Option<&MechanismData>,
    index: usize,
    id: i64,
) -> Result<(), StoreError> {
    let need: NeedRecord = needs::get_need(conn, who, id)
        .await?
        .ok_or_else(|| StoreError::not_found("need", id))?;
    forbid_unless(
        who.may_link_need(&need.recipient_country),
        "you may link only needs of your own country",
    )?;
    let Some(mechanism) = mechanism else {
        return Ok(());
    };
    if !mechanism.covers_country(&need.recipient_country) {
        return Err(StoreError::invalid(
            format!("needIds[{index}]"),
            format!(
                "the need is in {}, which the mechanism does not cover ({})",
                need.recipient_country,
                mechanism.countries.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Links activities and needs to a mechanism (`link`), or removes the links.
pub async fn change_links(
    store: &Store,
    who: &Principal,
    mechanism_id: i64,
    activity_ids: &[i64],
    need_ids: &[i64],
    link: bool,
) -> Result<MechanismRecord, StoreError> {
    let txn = store.begin_write().await?;
    let mechanism = mechanism_by_id(&*txn, mechanism_id)
        .await?
        .ok_or_else(|| StoreError::not_found("coordination mechanism", mechanism_id))?;
    if activity_ids.is_empty() && need_ids.is_empty() {
        return Err(StoreError::invalid(
            "activityIds",
            "name at least one activity or need",
        ));
    }
    let mut targets = Vec::new();
    if activity_ids.len() + need_ids.len() > MAX_LIST_LEN {
        return Err(StoreError::invalid(
            "activityIds",
            format!("link or unlink at most {MAX_LIST_LEN} activities and needs at once"),
        ));
    }
    // Unlinking skips the country check, so a link made stale by a change of countries can
    // still be removed.
    let covers = if link { Some(&mechanism.data) } else { None };
    for (i, id) in activity_ids.iter().enumerate() {
        check_activity_link(&*txn, who, covers, i, *id).await?;
        targets.push((LinkTarget::Activity, *id));
    }
    for (i, id) in need_ids.iter().enumerate() {
        check_need_link(&*txn, who, covers, i, *id).await?;
        targets.push((LinkTarget::Need, *id));
    }
    for (kind, id) in &targets {
        if link {
            mechanism_link::Entity::insert(mechanism_link::ActiveModel {
                mechanism_id: Set(mechanism_id),
                target_kind: Set(kind.as_str().to_owned()),
                target_id: Set(*id),
            })
            .on_conflict_do_nothing()
            .exec(&*txn)
            .await?;
        } else {
            mechanism_link::Entity::delete_many()
                .filter(mechanism_link::Column::MechanismId.eq(mechanism_id))
                .filter(mechanism_link::Column::TargetKind.eq(kind.as_str()))
                .filter(mechanism_link::Column::TargetId.eq(*id))
                .exec(&*txn)
                .await?;
        }
    }
    let described: Vec<(&str, i64)> = targets.iter().map(|(k, id)| (k.as_str(), *id)).collect();
    audit_change(
        &*txn,
        who,
        "coordination_mechanism",
        mechanism_id,
        if link { "link" } else { "unlink" },
        &described,
    )
    .await?;
    txn.commit().await?;
    Ok(mechanism)
}
