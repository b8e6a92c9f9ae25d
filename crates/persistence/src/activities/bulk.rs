//! Storing many new activities at once, without overlap flags (a recomputation follows).

use super::*;

/// Stores many new activities at once (bench data, bulk loads) in the caller's transaction,
/// created by `created_by` (a token subject), without maintaining overlap flags: run a
/// recomputation afterwards. Returns their ids, in the order given. Authorising the caller
/// and auditing are the command layer's (`aidgraph_registry::activities::bulk_insert`).
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    created_by: &str,
    items: &[(ActivityData, Vec<i64>)],
    publication: Publication,
) -> Result<Vec<i64>, StoreError> {
    let mut refs: Vec<String> = Vec::new();
    for (data, _) in items {
        refs.push(data.reporting_org.clone());
        refs.extend(data.participating_orgs.iter().map(|p| p.org_ref.clone()));
    }
    refs.sort();
    refs.dedup();
    let orgs = organisations::by_refs(conn, &refs).await?;
    let org_id = |r: &str| {
        orgs.get(r).map(|o| o.id).ok_or_else(|| {
            StoreError::invalid("reportingOrg", format!("unknown organisation `{r}`"))
        })
    };
    let now = Utc::now();
    let mut rows = Vec::with_capacity(items.len());
    for (data, _) in items {
        rows.push(activity::ActiveModel {
            version: Set(1),
            created_by: Set(created_by.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..row_of(data, org_id(&data.reporting_org)?, publication)?
        });
    }
    let inserted = activity::Entity::insert_many(rows)
        .exec_with_returning(conn)
        .await
        .on_unique(|| "an activity in the batch is already registered".to_owned())?;
    let ids: HashMap<&str, i64> = inserted
        .iter()
        .map(|m| (m.iati_identifier.as_str(), m.id))
        .collect();
    let mut rows = ChildRows::default();
    let mut needs = Vec::new();
    let mut edges = Vec::new();
    let mut written = Vec::with_capacity(items.len());
    for (data, need_ids) in items {
        let id = ids
            .get(data.iati_identifier.as_str())
            .copied()
            .ok_or_else(|| StoreError::Corrupt("bulk insert lost a row".into()))?;
        written.push(id);
        let participants = data
            .participating_orgs
            .iter()
            .map(|p| org_id(&p.org_ref))
            .collect::<Result<Vec<i64>, _>>()?;
        rows.add(id, data, &participants);
        overlap::write_candidate_windows(conn, id, 1, publication, data).await?;
        for r in data
            .related_activities
            .iter()
            .filter(|r| r.kind.iati_code() <= 4)
        {
            for (a, b) in [
                (&data.iati_identifier, &r.iati_identifier),
                (&r.iati_identifier, &data.iati_identifier),
            ] {
                edges.push(crate::entities::coordination_edge::ActiveModel {
                    a: Set(a.clone()),
                    b: Set(b.clone()),
                    source: Set(EdgeSource::Related(id).to_string()),
                });
            }
        }
        let mut seen = HashSet::new();
        needs.extend(need_ids.iter().filter(|n| seen.insert(**n)).map(|n| {
            activity_need::ActiveModel {
                activity_id: Set(id),
                need_id: Set(*n),
                created_at: Set(now),
            }
        }));
    }
    rows.insert(conn).await?;
    insert_chunks(conn, needs).await?;
    for part in edges.chunks(400) {
        crate::entities::coordination_edge::Entity::insert_many(part.to_vec())
            .on_conflict_do_nothing()
            .exec(conn)
            .await?;
    }
    Ok(written)
}

pub(super) async fn insert_chunks<A>(
    conn: &impl ConnectionTrait,
    rows: Vec<A>,
) -> Result<(), StoreError>
where
    A: ActiveModelTrait + Clone + Send,
{
    for part in rows.chunks(400) {
        <A::Entity as EntityTrait>::insert_many(part.to_vec())
            .exec(conn)
            .await?;
    }
    Ok(())
}
