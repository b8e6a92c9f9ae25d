//! Joint missions and analytic work.

use super::*;

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

pub(super) fn joint_work_record(m: joint_work::Model) -> Result<JointWorkRecord, StoreError> {
    Recorded::from_document(m.id, &m.document, m.recorded_by, m.created_at)
}

/// Stores a mission or analytic work recorded by `recorded_by` (a token subject); the
/// organisations it names must be registered.
pub async fn insert_joint_work(
    conn: &impl ConnectionTrait,
    recorded_by: &str,
    data: JointWorkData,
) -> Result<JointWorkRecord, StoreError> {
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
    let ids = resolve_orgs(conn, &refs).await?;
    let now = Utc::now();
    let model = joint_work::ActiveModel {
        kind: Set(data.kind.as_str().to_owned()),
        title: Set(data.title.clone()),
        country: Set(data.country.clone()),
        start_date: Set(data.start_date),
        end_date: Set(data.end_date),
        joint: Set(data.joint()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let involved: BTreeSet<i64> = ids.values().copied().collect();
    joint_work_organisation::Entity::insert_many(involved.iter().map(|o| {
        joint_work_organisation::ActiveModel {
            joint_work_id: Set(model.id),
            organisation_id: Set(*o),
        }
    }))
    .exec(conn)
    .await?;
    joint_work_record(model)
}

pub(super) async fn joint_work_condition(
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
