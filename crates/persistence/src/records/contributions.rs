//! Contributions to funds, pledged and paid.

use super::*;

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

pub(super) fn contribution_record(
    m: contribution::Model,
    donors: &HashMap<i64, String>,
) -> Result<ContributionRecord, StoreError> {
    let corrupt = |e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string());
    Ok(ContributionRecord {
        id: m.id,
        data: ContributionData::stored(
            donors.get(&m.donor_id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("contribution {} has no donor", m.id))
            })?,
            m.fund.parse().map_err(corrupt)?,
            m.earmark,
            Money {
                amount: m
                    .amount
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("contribution {} amount", m.id)))?,
                currency: m.currency,
            },
            m.year,
            m.status.parse().map_err(corrupt)?,
            m.contribution_date,
        ),
        recorded_by: m.recorded_by,
        created_at: m.created_at,
    })
}

pub(super) async fn contribution_records(
    conn: &impl ConnectionTrait,
    models: Vec<contribution::Model>,
) -> Result<Vec<ContributionRecord>, StoreError> {
    let ids: BTreeSet<i64> = models.iter().map(|m| m.donor_id).collect();
    let donors: HashMap<i64, String> =
        organisations::by_ids(conn, &ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|(id, o)| (id, o.data.into_fields().org_ref))
            .collect();
    models
        .into_iter()
        .map(|m| contribution_record(m, &donors))
        .collect()
}

/// Stores a contribution recorded by `recorded_by` (a token subject); its donor must be a
/// registered organisation.
pub async fn insert_contribution(
    conn: &impl ConnectionTrait,
    recorded_by: &str,
    data: ContributionData,
) -> Result<ContributionRecord, StoreError> {
    let ids = resolve_orgs(conn, &[(data.donor.clone(), "donor".to_owned())]).await?;
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
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(ContributionRecord {
        id: model.id,
        data,
        recorded_by: model.recorded_by,
        created_at: now,
    })
}

pub(super) async fn contribution_condition(
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
