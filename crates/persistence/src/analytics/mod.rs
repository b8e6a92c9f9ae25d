//! Dashboard analytics read from the registry: the coverage matrix, provider significance, the
//! Paris Declaration indicators and contribution totals. Only published activities count, for
//! every caller; needs count when the caller may see them. The rules are in
//! `aidgraph_domain::analytics` and `docs/coordination.md`.

use crate::activities::{ActivityRecord, TAG_PRIORITY_AREA};
use crate::coverage;
use crate::entities::{
    activity, activity_country, activity_need, activity_tag, coordination_edge, overlap_flag,
};
use crate::error::StoreError;
use crate::needs::{self, NeedFilter};
use crate::organisations;
use crate::page::PageRequest;
use crate::rates;
use crate::records::{self, ContributionFilter, JointWorkFilter};
use crate::store::Store;
use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::ActivityData;
use aidgraph_domain::analytics::{
    Column, Holdings, Indicator, ParisRecord, ShareBasis, Significance, column_share, columns_of,
    hhi, is_active, location_share, paris_indicators, rate_year, significance,
};
use aidgraph_domain::overlap::coverage::CoverageState;
use aidgraph_domain::overlap::groups::{EdgeSource, Groups};
use aidgraph_domain::rates::{Rates, Total};
use aidgraph_domain::vocab::{
    ContributionStatus, Fund, JointWorkKind, NeedsAnalysisStatus, OverlapClass, PriorityArea,
    Publication, ReviewStatus,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

mod matrix;
mod scope;

pub use scope::SlimRecords;

pub use matrix::*;
pub(crate) use scope::*;

/// Most needs one matrix reads.
const MAX_NEEDS: u64 = 100_000;
/// Activities read per round trip.
const BATCH: usize = 1_000;

/// The filters every analytics query takes.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsFilter {
    /// Recipient country.
    pub country: Option<String>,
    /// Recipient region (activities that list it).
    pub region: Option<String>,
    /// Priority area.
    pub priority_area: Option<PriorityArea>,
    /// DAC 5-digit sector.
    pub sector: Option<String>,
    /// Provider (reporting organisation ref).
    pub provider: Option<String>,
    /// Year the activities are active in.
    pub year: Option<i32>,
}

/// Significance of each provider in `filter.country` (and cell), with the share basis.
pub async fn provider_significance(
    store: &Store,
    filter: &AnalyticsFilter,
    country: &str,
    currency: &str,
) -> Result<(ShareBasis, Vec<Significance>), StoreError> {
    let today = crate::today();
    let rates = rates::all(store.db()).await?;
    let everywhere = in_scope(store, filter, false, today).await?;
    let column = match (&filter.sector, filter.priority_area) {
        (Some(s), _) => Some(Column::Sector(s.clone())),
        (None, Some(p)) => Some(Column::PriorityArea(p)),
        (None, None) => None,
    };
    let mut scope = Holdings::default();
    let mut global = Holdings::default();
    let mut unused = Total::default();
    for record in &everywhere {
        let share = column
            .as_ref()
            .map_or(Decimal::ONE, |c| column_share(&record.data, c));
        let year = rate_year(&record.data, filter.year, today);
        let whole = add_budget(
            &mut unused,
            &rates,
            record,
            Decimal::ONE,
            share,
            currency,
            year,
        );
        global.add(&record.data.reporting_org, whole);
        if record
            .data
            .recipient_countries
            .iter()
            .any(|c| c.code == country)
        {
            let place = location_share(&record.data, country);
            let part = add_budget(&mut unused, &rates, record, place, share, currency, year);
            scope.add(&record.data.reporting_org, part);
        }
    }
    Ok(significance(&scope, &global))
}

/// The Paris Declaration indicators for `filter.year`, over the activities `filter` keeps;
/// missions and analytic work follow its country and provider.
pub async fn paris(
    store: &Store,
    who: &Principal,
    filter: &AnalyticsFilter,
    currency: &str,
) -> Result<Vec<Indicator>, StoreError> {
    let conn = store.db();
    let today = crate::today();
    let rates = rates::all(conn).await?;
    let year = filter
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&today));
    let filter = AnalyticsFilter {
        year: Some(year),
        ..filter.clone()
    };
    let country = filter.country.as_deref();
    let provider = filter.provider.as_deref();
    let scope = in_scope(store, &filter, true, today).await?;
    let coordinated = coordinated(store, who, &scope).await?;
    let records: Vec<ParisRecord<'_>> = scope
        .iter()
        .map(|r| ParisRecord {
            data: &r.data,
            coordinated: coordinated.contains(&r.id),
        })
        .collect();
    let works = JointWorkFilter {
        country: country.map(str::to_owned),
        year: Some(year),
        ..JointWorkFilter::default()
    };
    let involves = |w: &records::JointWorkRecord| {
        provider.is_none_or(|p| {
            w.data.organisations.iter().any(|o| o == p) || w.data.on_behalf_of.as_deref() == Some(p)
        })
    };
    let missions = records::all_joint_works(conn, JointWorkKind::Mission, &works).await?;
    let analytic = records::all_joint_works(conn, JointWorkKind::AnalyticWork, &works).await?;
    let missions: Vec<_> = missions
        .iter()
        .filter(|w| involves(w))
        .map(|w| &w.data)
        .collect();
    let analytic: Vec<_> = analytic
        .iter()
        .filter(|w| involves(w))
        .map(|w| &w.data)
        .collect();
    Ok(paris_indicators(
        year, &records, &missions, &analytic, currency, &rates,
    ))
}

/// The activities of `scope` that count as coordinated for indicator 4: they address a need of
/// a published analysis in one of their countries (one the caller may see), or their
/// coordination group holds a published activity of another provider.
async fn coordinated(
    store: &Store,
    who: &Principal,
    scope: &[Arc<ActivityRecord>],
) -> Result<HashSet<i64>, StoreError> {
    let conn = store.db();
    let mut out = HashSet::new();
    let ids: Vec<i64> = scope.iter().map(|r| r.id).collect();
    let mut links: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in activity_need::Entity::find()
            .filter(activity_need::Column::ActivityId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            links.entry(row.activity_id).or_default().push(row.need_id);
        }
    }
    let need_ids: Vec<i64> = links
        .values()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut needs_found = HashMap::new();
    for chunk in need_ids.chunks(500) {
        needs_found.extend(needs::needs_by_ids(conn, chunk).await?);
    }
    for record in scope {
        let addresses = links.get(&record.id).into_iter().flatten().any(|n| {
            needs_found.get(n).is_some_and(|need| {
                need.analysis_status == NeedsAnalysisStatus::Published
                    && who.sees_need(
                        need.analysis_status,
                        need.data.visibility,
                        &need.recipient_country,
                    )
                    && record
                        .data
                        .recipient_countries
                        .iter()
                        .any(|c| c.code == need.recipient_country)
            })
        });
        if addresses {
            out.insert(record.id);
        }
    }

    // Coordination groups from published activities' links and reviewers' decisions.
    let published = published(store, None, None, None).await?;
    let published_ids: HashSet<i64> = published.iter().map(|r| r.id).collect();
    let mut groups = Groups::default();
    for edge in coordination_edge::Entity::find().all(conn).await? {
        let counts = match edge.source.parse::<EdgeSource>() {
            Ok(EdgeSource::Related(id)) => published_ids.contains(&id),
            Ok(EdgeSource::Review(_)) => true,
            Err(e) => return Err(StoreError::Corrupt(e.to_string())),
        };
        if counts {
            groups.link(&edge.a, &edge.b);
        }
    }
    let mut orgs_of_group: HashMap<usize, BTreeSet<i64>> = HashMap::new();
    for record in &published {
        let g = groups.group_of(&record.data.iati_identifier);
        orgs_of_group
            .entry(g)
            .or_default()
            .insert(record.reporting_org_id);
    }
    for record in scope {
        let g = groups.group_of(&record.data.iati_identifier);
        if orgs_of_group
            .get(&g)
            .is_some_and(|orgs| orgs.iter().any(|o| *o != record.reporting_org_id))
        {
            out.insert(record.id);
        }
    }
    Ok(out)
}

/// Contributions of one donor in one year.
#[derive(Debug, Clone, Default)]
pub struct ContributionTotal {
    /// Σ pledged.
    pub pledged: Total,
    /// Σ paid.
    pub paid: Total,
    /// Σ paid to general-purpose funds.
    pub general_purpose: Total,
    /// Σ paid to special-purpose funds.
    pub special_purpose: Total,
    /// Σ paid to other funds.
    pub other: Total,
}

/// Contribution totals by (year, donor ref), converted into `currency` at each year's rates.
pub async fn contribution_summary(
    conn: &impl ConnectionTrait,
    filter: &ContributionFilter,
    currency: &str,
) -> Result<BTreeMap<(i32, String), ContributionTotal>, StoreError> {
    let rates = rates::all(conn).await?;
    let mut out: BTreeMap<(i32, String), ContributionTotal> = BTreeMap::new();
    for c in records::all_contributions(conn, filter).await? {
        let d = &c.data;
        let total = out.entry((d.year, d.donor.clone())).or_default();
        let (amount, from) = (d.amount.amount, d.amount.currency.as_str());
        match d.status {
            ContributionStatus::Pledged => {
                total.pledged.add(&rates, amount, from, currency, d.year);
            }
            ContributionStatus::Paid => {
                total.paid.add(&rates, amount, from, currency, d.year);
                let fund = match d.fund {
                    Fund::GeneralPurpose => &mut total.general_purpose,
                    Fund::SpecialPurpose => &mut total.special_purpose,
                    Fund::Other => &mut total.other,
                };
                fund.add(&rates, amount, from, currency, d.year);
            }
        }
    }
    Ok(out)
}
