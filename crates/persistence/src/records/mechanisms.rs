//! Coordination mechanisms and the activities and needs they link.

use super::*;

/// What a mechanism coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkTarget {
    /// Activities.
    Activity,
    /// Needs.
    Need,
}

impl LinkTarget {
    /// The stored code: `ACTIVITY` or `NEED`.
    pub fn as_str(self) -> &'static str {
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

pub(super) fn mechanism_record(
    m: coordination_mechanism::Model,
) -> Result<MechanismRecord, StoreError> {
    Recorded::from_document(m.id, &m.document, m.recorded_by, m.created_at)
}

/// Stores a coordination mechanism recorded by `recorded_by` (a token subject); its members
/// must be registered organisations.
pub async fn insert_mechanism(
    conn: &impl ConnectionTrait,
    recorded_by: &str,
    data: MechanismData,
) -> Result<MechanismRecord, StoreError> {
    let refs: Vec<(String, String)> = data
        .members
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), format!("members[{i}]")))
        .collect();
    let ids = resolve_orgs(conn, &refs).await?;
    let now = Utc::now();
    let model = coordination_mechanism::ActiveModel {
        name: Set(data.name.clone()),
        level: Set(data.level.as_str().to_owned()),
        document: Set(serde_json::to_string(&data)?),
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    if !data.countries.is_empty() {
        mechanism_country::Entity::insert_many(data.countries.iter().map(|c| {
            mechanism_country::ActiveModel {
                mechanism_id: Set(model.id),
                code: Set(c.clone()),
            }
        }))
        .exec(conn)
        .await?;
    }
    if !ids.is_empty() {
        mechanism_member::Entity::insert_many(ids.values().map(|o| {
            mechanism_member::ActiveModel {
                mechanism_id: Set(model.id),
                organisation_id: Set(*o),
            }
        }))
        .exec(conn)
        .await?;
    }
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

/// Links each of `targets` to mechanism `mechanism_id` (`link`; a link that exists is kept),
/// or removes the links.
pub async fn set_links(
    conn: &impl ConnectionTrait,
    mechanism_id: i64,
    targets: &[(LinkTarget, i64)],
    link: bool,
) -> Result<(), StoreError> {
    for (kind, id) in targets {
        if link {
            mechanism_link::Entity::insert(mechanism_link::ActiveModel {
                mechanism_id: Set(mechanism_id),
                target_kind: Set(kind.as_str().to_owned()),
                target_id: Set(*id),
            })
            .on_conflict_do_nothing()
            .exec(conn)
            .await?;
        } else {
            mechanism_link::Entity::delete_many()
                .filter(mechanism_link::Column::MechanismId.eq(mechanism_id))
                .filter(mechanism_link::Column::TargetKind.eq(kind.as_str()))
                .filter(mechanism_link::Column::TargetId.eq(*id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}
