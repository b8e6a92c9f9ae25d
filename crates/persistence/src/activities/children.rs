//! An activity's child rows (countries, sectors, tags, participants, related identifiers)
//! and need links, checked against the database and rewritten with the document.

use super::*;

/// The tag kind of an activity's priority areas.
pub const TAG_PRIORITY_AREA: &str = "PRIORITY_AREA";
/// The tag kind of the provisions an activity supports.
pub const TAG_PROVISION: &str = "PROVISION";
/// The tag kind of an activity's assistance types.
pub const TAG_ASSISTANCE_TYPE: &str = "ASSISTANCE_TYPE";
/// The tag kind of the institutions an activity benefits.
pub const TAG_BENEFICIARY: &str = "BENEFICIARY";
/// The tag kind of the other identifiers an activity is known by.
pub const TAG_EXTERNAL_ID: &str = "EXTERNAL_ID";
/// The tag kind of an activity's recipient regions (IATI Region codes).
pub const TAG_REGION: &str = "REGION";

/// Checks references that need the database: the reporting organisation, participating
/// organisations, and the needs to link. Returns the reporting organisation's id and the
/// participants' ids.
pub async fn resolve_references(
    conn: &impl ConnectionTrait,
    who: &Principal,
    data: &ActivityData,
    need_ids: Option<&[i64]>,
) -> Result<(i64, Vec<i64>), StoreError> {
    let mut v = Violations::default();
    let mut refs: Vec<String> = data
        .participating_orgs
        .iter()
        .map(|p| p.org_ref.clone())
        .collect();
    refs.push(data.reporting_org.clone());
    let orgs = organisations::by_refs(conn, &refs).await?;
    let reporting = orgs.get(&data.reporting_org).map(|o| o.id);
    if reporting.is_none() {
        v.push(
            "reportingOrg",
            format!(
                "unknown organisation `{}`; register it first",
                data.reporting_org
            ),
        );
    }
    let mut participants = Vec::with_capacity(data.participating_orgs.len());
    for (i, p) in data.participating_orgs.iter().enumerate() {
        match orgs.get(&p.org_ref) {
            Some(o) => participants.push(o.id),
            None => v.push(
                format!("participatingOrgs[{i}].ref"),
                format!("unknown organisation `{}`; register it first", p.org_ref),
            ),
        }
    }
    if let Some(need_ids) = need_ids {
        check_needs(conn, who, data, need_ids, "addressesNeeds", &mut v).await?;
    }
    match reporting {
        Some(id) if v.is_empty() => Ok((id, participants)),
        _ => Err(StoreError::Invalid(v)),
    }
}

/// Checks that each need exists, is published, may be seen, and lies in one of the activity's
/// recipient countries.
pub async fn check_needs(
    conn: &impl ConnectionTrait,
    who: &Principal,
    data: &ActivityData,
    need_ids: &[i64],
    field: &str,
    v: &mut Violations,
) -> Result<(), StoreError> {
    let needs: HashMap<i64, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let analysis_ids: Vec<i64> = needs.values().map(|n| n.analysis_id).collect();
    let analyses: HashMap<i64, needs_analysis::Model> = needs_analysis::Entity::find()
        .filter(needs_analysis::Column::Id.is_in(analysis_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let countries: HashSet<&str> = data
        .recipient_countries
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    for (i, id) in need_ids.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let Some(need) = needs.get(id) else {
            v.push(field, "no such need");
            continue;
        };
        let status = analyses
            .get(&need.analysis_id)
            .and_then(|a| a.status.parse::<NeedsAnalysisStatus>().ok());
        let visibility = need.visibility.parse().ok();
        match (status, visibility) {
            (Some(status), Some(visibility))
                if who.sees_need(status, visibility, &need.recipient_country) =>
            {
                if status != NeedsAnalysisStatus::Published {
                    v.push(field, "the need's analysis is not published");
                } else if !countries.contains(need.recipient_country.as_str()) {
                    v.push(
                        field,
                        format!(
                            "the need is in {}, which is not among the activity's recipient countries",
                            need.recipient_country
                        ),
                    );
                }
            }
            _ => v.push(field, "no such need"),
        }
    }
    Ok(())
}

/// Rewrites the child rows of an activity from its data.
pub async fn write_children(
    conn: &impl ConnectionTrait,
    id: i64,
    data: &ActivityData,
    participants: &[i64],
) -> Result<(), StoreError> {
    activity_country::Entity::delete_many()
        .filter(activity_country::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_sector::Entity::delete_many()
        .filter(activity_sector::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_tag::Entity::delete_many()
        .filter(activity_tag::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_participant::Entity::delete_many()
        .filter(activity_participant::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    activity_related::Entity::delete_many()
        .filter(activity_related::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;

    let mut rows = ChildRows::default();
    rows.add(id, data, participants);
    rows.insert(conn).await
}

/// The child rows of activities (countries, sectors, tags, participants, related
/// identifiers), built from their data and inserted in chunks.
#[derive(Default)]
pub struct ChildRows {
    /// Recipient countries.
    pub countries: Vec<activity_country::ActiveModel>,
    /// Sectors.
    pub sectors: Vec<activity_sector::ActiveModel>,
    /// Tags (priority areas, provisions, types, beneficiaries, external ids).
    pub tags: Vec<activity_tag::ActiveModel>,
    /// Participating organisations.
    pub participants: Vec<activity_participant::ActiveModel>,
    /// Related activities.
    pub related: Vec<activity_related::ActiveModel>,
}

impl ChildRows {
    /// Adds the rows of activity `id`; `participants` are the organisation ids of its
    /// participating organisations, in order.
    pub fn add(&mut self, id: i64, data: &ActivityData, participants: &[i64]) {
        self.countries
            .extend(
                data.recipient_countries
                    .iter()
                    .map(|c| activity_country::ActiveModel {
                        activity_id: Set(id),
                        code: Set(c.code.clone()),
                        percentage: Set(c.percentage.map(|p| p.to_string())),
                    }),
            );
        self.sectors
            .extend(data.sectors.iter().map(|s| activity_sector::ActiveModel {
                activity_id: Set(id),
                vocabulary: Set(s.vocabulary.clone()),
                code: Set(s.code.clone()),
                percentage: Set(s.percentage.map(|p| p.to_string())),
            }));
        let mut tags: Vec<(&str, String)> = Vec::new();
        tags.extend(
            data.priority_areas
                .iter()
                .map(|p| (TAG_PRIORITY_AREA, p.as_str().to_owned())),
        );
        tags.extend(
            data.provisions
                .iter()
                .map(|p| (TAG_PROVISION, p.to_string())),
        );
        tags.extend(
            data.assistance_types
                .iter()
                .map(|t| (TAG_ASSISTANCE_TYPE, t.as_str().to_owned())),
        );
        let mut regions: Vec<&str> = data
            .recipient_regions
            .iter()
            .map(|r| r.code.as_str())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        tags.extend(regions.into_iter().map(|r| (TAG_REGION, r.to_owned())));
        tags.extend(
            data.beneficiary_institutions
                .iter()
                .map(|b| (TAG_BENEFICIARY, b.as_str().to_owned())),
        );
        // An activity's own identifier counts among its external ids (DESIGN.md §4).
        let mut external: Vec<&String> = data.external_ids.iter().collect();
        if !external.contains(&&data.iati_identifier) {
            external.push(&data.iati_identifier);
        }
        tags.extend(external.into_iter().map(|e| (TAG_EXTERNAL_ID, e.clone())));
        self.tags.extend(
            tags.into_iter()
                .map(|(kind, value)| activity_tag::ActiveModel {
                    activity_id: Set(id),
                    kind: Set(kind.to_owned()),
                    value: Set(value),
                }),
        );
        self.participants
            .extend(
                data.participating_orgs
                    .iter()
                    .zip(participants)
                    .map(|(p, org_id)| activity_participant::ActiveModel {
                        activity_id: Set(id),
                        organisation_id: Set(*org_id),
                        role: Set(p.role.as_str().to_owned()),
                        activity_ref: Set(p.activity_id.clone()),
                        ..Default::default()
                    }),
            );
        self.related.extend(data.related_activities.iter().map(|r| {
            activity_related::ActiveModel {
                activity_id: Set(id),
                related_identifier: Set(r.iati_identifier.clone()),
                kind: Set(r.kind.as_str().to_owned()),
            }
        }));
    }

    /// Inserts the rows, in chunks.
    pub async fn insert(self, conn: &impl ConnectionTrait) -> Result<(), StoreError> {
        insert_chunks(conn, self.countries).await?;
        insert_chunks(conn, self.sectors).await?;
        insert_chunks(conn, self.tags).await?;
        insert_chunks(conn, self.participants).await?;
        insert_chunks(conn, self.related).await
    }
}

/// Replaces the needs activity `id` addresses with `need_ids`.
pub async fn replace_need_links(
    conn: &impl ConnectionTrait,
    id: i64,
    need_ids: &[i64],
) -> Result<(), StoreError> {
    activity_need::Entity::delete_many()
        .filter(activity_need::Column::ActivityId.eq(id))
        .exec(conn)
        .await?;
    add_need_links(conn, id, need_ids).await
}

/// Links activity `id` to `need_ids` (links it has already are kept).
pub async fn add_need_links(
    conn: &impl ConnectionTrait,
    id: i64,
    need_ids: &[i64],
) -> Result<(), StoreError> {
    let existing: HashSet<i64> = activity_need::Entity::find()
        .filter(activity_need::Column::ActivityId.eq(id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut seen = HashSet::new();
    let now = Utc::now();
    let rows: Vec<_> = need_ids
        .iter()
        .filter(|n| !existing.contains(n) && seen.insert(**n))
        .map(|n| activity_need::ActiveModel {
            activity_id: Set(id),
            need_id: Set(*n),
            created_at: Set(now),
        })
        .collect();
    if !rows.is_empty() {
        activity_need::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}
