//! Needs coverage (DESIGN.md §5) read from the registry: the published activities that
//! address each need, their coordination groups (double reporting counted once), and the
//! candidates a recipient might approach.

use crate::activities::{self, ActivityRecord};
use crate::entities::{activity, activity_country, activity_need, coordination_edge, overlap_flag};
use crate::error::StoreError;
use crate::needs::{self, NeedRecord};
use crate::overlap::link_groups;
use crate::store::Store;
use aidgraph_domain::overlap::coverage::{Claim, Coverage, coverage};
use aidgraph_domain::overlap::groups::Groups;
use aidgraph_domain::overlap::score::COMPATIBLE_GROUPS;
use aidgraph_domain::vocab::{AssistanceType, Publication};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// From this many covering activities on, groups come from one read of the whole
/// coordination graph (some 10,000 edges at 100,000 activities, about 25 ms) instead of a walk
/// from all of them at once, which reads edges 500 activities at a time.
const WHOLE_GRAPH_FROM: usize = 1_500;

/// The condition of the partial index `idx_overlap_flags_double`, word for word.
pub(crate) const DOUBLE_REPORTING_PAIRS: &str = "class = 'DOUBLE_REPORTING'";

/// Most candidates suggested per need.
pub const MAX_CANDIDATES: usize = 20;

/// The coverage of one need, with the activities behind it.
#[derive(Debug, Clone)]
pub struct NeedCoverage {
    /// State, groups and derived flags.
    pub coverage: Coverage,
    /// Published activities in the need's country that could address it but do not say so.
    pub candidates: Vec<i64>,
}

fn types_compatible(a: &[AssistanceType], b: &[AssistanceType]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    a.iter().any(|x| {
        b.contains(x)
            || COMPATIBLE_GROUPS
                .iter()
                .any(|g| g.contains(x) && b.iter().any(|y| g.contains(y)))
    })
}

/// Whether an activity could address a need: a shared provision or priority area, and a
/// compatible assistance type.
pub fn could_address(activity: &ActivityRecord, need: &NeedRecord) -> bool {
    let shares_topic = activity
        .data
        .provisions
        .iter()
        .any(|p| need.data.provisions.contains(p))
        || activity
            .data
            .priority_areas
            .contains(&need.data.priority_area);
    shares_topic && types_compatible(&activity.data.assistance_types, &need.data.assistance_types)
}

/// Published activities listing `country`.
pub async fn published_in_country(
    conn: &impl ConnectionTrait,
    country: &str,
) -> Result<Vec<ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(
            activity::Column::Id.in_subquery(
                Query::select()
                    .column(activity_country::Column::ActivityId)
                    .from(activity_country::Entity)
                    .and_where(activity_country::Column::Code.eq(country))
                    .to_owned(),
            ),
        )
        .filter(activity::Column::Publication.eq(Publication::Published.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(activities::record_from_model)
        .collect()
}

/// The coverage of each need, with candidate activities when `with_candidates` (which reads
/// every published activity in a need's country). Covering activities are read slim, from the
/// store's cache where it holds their version.
pub async fn of_needs(
    store: &Store,
    needs: &[&NeedRecord],
    today: NaiveDate,
    with_candidates: bool,
) -> Result<HashMap<i64, NeedCoverage>, StoreError> {
    let started = std::time::Instant::now();
    let links = links_of(store.db(), needs).await?;
    let linked: BTreeSet<i64> = links.values().flatten().copied().collect();
    let linked: Vec<i64> = linked.into_iter().collect();
    let links_read = started.elapsed();
    let known = crate::analytics::published_by_ids(store, &linked).await?;
    let activities_read = started.elapsed();
    let out = covered(store.db(), needs, &links, &known, today, with_candidates).await?;
    tracing::debug!(
        needs = needs.len(),
        linked = linked.len(),
        links_ms = links_read.as_secs_f64() * 1e3,
        activities_ms = (activities_read - links_read).as_secs_f64() * 1e3,
        coverage_ms = (started.elapsed() - activities_read).as_secs_f64() * 1e3,
        "need coverage computed"
    );
    Ok(out)
}

/// Like [`of_needs`], with the published activities already at hand (`known`, by id), so
/// covering activities are not read again.
pub async fn of_needs_with(
    conn: &impl ConnectionTrait,
    needs: &[&NeedRecord],
    today: NaiveDate,
    with_candidates: bool,
    known: &HashMap<i64, Arc<ActivityRecord>>,
) -> Result<HashMap<i64, NeedCoverage>, StoreError> {
    let links = links_of(conn, needs).await?;
    covered(conn, needs, &links, known, today, with_candidates).await
}

/// The activities that say they address each need, by need id.
async fn links_of(
    conn: &impl ConnectionTrait,
    needs: &[&NeedRecord],
) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let need_ids: Vec<i64> = needs.iter().map(|n| n.id).collect();
    let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in need_ids.chunks(500) {
        let rows = activity_need::Entity::find()
            .filter(activity_need::Column::NeedId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for row in rows {
            links.entry(row.need_id).or_default().push(row.activity_id);
        }
    }
    Ok(links)
}

/// Coverage from the links and the published activities among them.
async fn covered(
    conn: &impl ConnectionTrait,
    needs: &[&NeedRecord],
    links: &HashMap<i64, Vec<i64>>,
    known: &HashMap<i64, Arc<ActivityRecord>>,
    today: NaiveDate,
    with_candidates: bool,
) -> Result<HashMap<i64, NeedCoverage>, StoreError> {
    let mut records: HashMap<i64, Arc<ActivityRecord>> = links
        .values()
        .flatten()
        .filter_map(|id| known.get(id).map(|r| (*id, r.clone())))
        .collect();
    records.retain(|_, r| r.publication == Publication::Published);
    let started = std::time::Instant::now();

    // Coordination groups of the covering activities, then double-reporting pairs merged.
    let mut groups = Groups::default();
    if records.len() >= WHOLE_GRAPH_FROM {
        // Many activities: one read of every coordination edge beats a walk from them.
        let edges: Vec<(String, String)> = coordination_edge::Entity::find()
            .select_only()
            .column(coordination_edge::Column::A)
            .column(coordination_edge::Column::B)
            .into_tuple()
            .all(conn)
            .await?;
        for (a, b) in edges {
            groups.link(&a, &b);
        }
    } else {
        link_groups(
            conn,
            records.values().map(|r| r.data.iati_identifier.clone()),
            &mut groups,
        )
        .await?;
    }
    let grouped = started.elapsed();
    let ids: Vec<i64> = records.keys().copied().collect();
    for chunk in ids.chunks(300) {
        let doubles: Vec<(i64, i64)> = overlap_flag::Entity::find()
            .select_only()
            .column(overlap_flag::Column::ActivityAId)
            .column(overlap_flag::Column::ActivityBId)
            // The class as a literal, not a parameter: only then may the planner use the
            // partial index of double-reporting pairs.
            .filter(Expr::cust(DOUBLE_REPORTING_PAIRS))
            .filter(overlap_flag::Column::ActivityAId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (a, b) in doubles {
            if let (Some(a), Some(b)) = (records.get(&a), records.get(&b)) {
                groups.link(&a.data.iati_identifier, &b.data.iati_identifier);
            }
        }
    }

    tracing::debug!(
        activities = records.len(),
        groups_ms = grouped.as_secs_f64() * 1e3,
        doubles_ms = (started.elapsed() - grouped).as_secs_f64() * 1e3,
        "coordination groups of covering activities"
    );
    let analysis_ids: BTreeSet<i64> = needs.iter().map(|n| n.analysis_id).collect();
    let analysis_ids: Vec<i64> = analysis_ids.into_iter().collect();
    let analyses = needs::analyses_by_ids(conn, &analysis_ids).await?;
    let mut by_country: HashMap<String, Vec<ActivityRecord>> = HashMap::new();
    let mut out = HashMap::new();
    for need in needs {
        let claims: Vec<Claim> = links
            .get(&need.id)
            .into_iter()
            .flatten()
            .filter_map(|id| records.get(id))
            .map(|r| Claim {
                id: r.id,
                status: r.data.status,
                window: r.data.window(),
                in_country: r
                    .data
                    .recipient_countries
                    .iter()
                    .any(|c| c.code == need.recipient_country),
                group: groups.group_of(&r.data.iati_identifier),
            })
            .collect();
        let published = analyses
            .get(&need.analysis_id)
            .and_then(|a| a.published_at)
            .map(|p| p.date_naive());
        let coverage = coverage(&claims, published, today);
        let candidates = if with_candidates {
            if !by_country.contains_key(&need.recipient_country) {
                let found = published_in_country(conn, &need.recipient_country).await?;
                by_country.insert(need.recipient_country.clone(), found);
            }
            let linked: BTreeSet<i64> =
                links.get(&need.id).into_iter().flatten().copied().collect();
            by_country
                .get(&need.recipient_country)
                .into_iter()
                .flatten()
                .filter(|a| !linked.contains(&a.id) && could_address(a, need))
                .filter(|a| {
                    let claim = Claim {
                        id: a.id,
                        status: a.data.status,
                        window: a.data.window(),
                        in_country: true,
                        group: 0,
                    };
                    aidgraph_domain::overlap::coverage::covers(&claim, today)
                })
                .take(MAX_CANDIDATES)
                .map(|a| a.id)
                .collect()
        } else {
            Vec::new()
        };
        out.insert(
            need.id,
            NeedCoverage {
                coverage,
                candidates,
            },
        );
    }
    Ok(out)
}
