//! Loading many new activities at once, without overlap flags (a recomputation follows).

use super::*;

/// Loads many new activities at once (bench data, bulk imports), without maintaining overlap
/// flags; run a recomputation afterwards. Each chunk is one transaction; the audit trail gets
/// one entry per activity.
pub async fn bulk_insert(
    store: &Store,
    who: &Principal,
    items: Vec<(ActivityData, Vec<i64>)>,
    publish: bool,
) -> Result<usize, StoreError> {
    let mut written = 0;
    let publication = if publish {
        Publication::Published
    } else {
        Publication::Draft
    };
    for chunk in items.chunks(500) {
        let txn = store.begin_write().await?;
        let mut refs: Vec<String> = Vec::new();
        for (data, _) in chunk {
            authorize(who, &data.reporting_org)?;
            refs.push(data.reporting_org.clone());
            refs.extend(data.participating_orgs.iter().map(|p| p.org_ref.clone()));
        }
        refs.sort();
        refs.dedup();
        let orgs = organisations::by_refs(&*txn, &refs).await?;
        let org_id = |r: &str| {
            orgs.get(r).map(|o| o.id).ok_or_else(|| {
                StoreError::invalid("reportingOrg", format!("unknown organisation `{r}`"))
            })
        };
        let now = Utc::now();
        let mut rows = Vec::with_capacity(chunk.len());
        for (data, _) in chunk {
            rows.push(activity::ActiveModel {
                version: Set(1),
                created_by: Set(who.subject.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                ..row_of(data, org_id(&data.reporting_org)?, publication)?
            });
        }
        let inserted = activity::Entity::insert_many(rows)
            .exec_with_returning(&*txn)
            .await
            .on_unique(|| "an activity in the batch is already registered".to_owned())?;
        let ids: HashMap<&str, i64> = inserted
            .iter()
            .map(|m| (m.iati_identifier.as_str(), m.id))
            .collect();
        let mut rows = ChildRows::default();
        let mut needs = Vec::new();
        let mut audits = Vec::new();
        let mut edges = Vec::new();
        for (data, need_ids) in chunk {
            let id = ids
                .get(data.iati_identifier.as_str())
                .copied()
                .ok_or_else(|| StoreError::Corrupt("bulk insert lost a row".into()))?;
            let participants = data
                .participating_orgs
                .iter()
                .map(|p| org_id(&p.org_ref))
                .collect::<Result<Vec<i64>, _>>()?;
            rows.add(id, data, &participants);
            overlap::write_candidate_windows(&*txn, id, 1, publication, data).await?;
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
            audits.push(crate::entities::audit_entry::ActiveModel {
                at: Set(now),
                actor: Set(who.subject.clone()),
                actor_role: Set(who.role.as_str().to_owned()),
                on_behalf_of: Set(None),
                entity: Set("activity".to_owned()),
                entity_id: Set(id),
                action: Set("bulk_insert".to_owned()),
                before_digest: Set(None),
                after_digest: Set(Some(audit::digest(data)?)),
                ..Default::default()
            });
        }
        rows.insert(&*txn).await?;
        insert_chunks(&*txn, needs).await?;
        insert_chunks(&*txn, audits).await?;
        for part in edges.chunks(400) {
            crate::entities::coordination_edge::Entity::insert_many(part.to_vec())
                .on_conflict_do_nothing()
                .exec(&*txn)
                .await?;
        }
        txn.commit().await?;
        written += chunk.len();
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
