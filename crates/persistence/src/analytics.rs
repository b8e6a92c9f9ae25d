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
use aidgraph_domain::activity::{ActivityData, IatiDetails};
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

/// Published activities matching what SQL can filter, without their texts: from the store's
/// cache where it holds their version, parsed from their documents otherwise.
async fn published(
    store: &Store,
    country: Option<&str>,
    provider: Option<&str>,
    priority_area: Option<PriorityArea>,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let conn = store.db();
    let mut cond =
        Condition::all().add(activity::Column::Publication.eq(Publication::Published.as_str()));
    if let Some(country) = country {
        cond = cond.add(
            activity::Column::Id.in_subquery(
                Query::select()
                    .column(activity_country::Column::ActivityId)
                    .from(activity_country::Entity)
                    .and_where(activity_country::Column::Code.eq(country))
                    .to_owned(),
            ),
        );
    }
    if let Some(provider) = provider {
        match organisations::by_ref(conn, provider).await? {
            Some(org) => cond = cond.add(activity::Column::ReportingOrgId.eq(org.id)),
            None => return Ok(Vec::new()),
        }
    }
    if let Some(area) = priority_area {
        cond = cond.add(
            activity::Column::Id.in_subquery(
                Query::select()
                    .column(activity_tag::Column::ActivityId)
                    .from(activity_tag::Entity)
                    .and_where(activity_tag::Column::Kind.eq(TAG_PRIORITY_AREA))
                    .and_where(activity_tag::Column::Value.eq(area.as_str()))
                    .to_owned(),
            ),
        );
    }
    slim_where(store, cond).await
}

/// The published activities among `ids`, slim (see [`published`]), by id.
pub(crate) async fn published_by_ids(
    store: &Store,
    ids: &[i64],
) -> Result<HashMap<i64, Arc<ActivityRecord>>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let cond = Condition::all()
            .add(activity::Column::Publication.eq(Publication::Published.as_str()))
            .add(activity::Column::Id.is_in(chunk.iter().copied()));
        out.extend(
            slim_where(store, cond)
                .await?
                .into_iter()
                .map(|r| (r.id, r)),
        );
    }
    Ok(out)
}

/// The activities `cond` selects, which must all be published, slim: from the store's cache
/// where it holds their version, parsed from their documents otherwise.
async fn slim_where(
    store: &Store,
    cond: Condition,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let conn = store.db();
    let keys: Vec<(i64, i32)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::Id)
        .column(activity::Column::Version)
        .filter(cond)
        .into_tuple()
        .all(conn)
        .await?;
    let cache = store.slim_records();
    let (mut found, misses) = cache.get_many(&keys);
    // Only the columns a record needs: not the search text, which is as long as the texts.
    type Row = (i64, i64, i32, String, DateTime<Utc>, DateTime<Utc>);
    for chunk in misses.chunks(BATCH) {
        let rows: Vec<Row> = activity::Entity::find()
            .select_only()
            .column(activity::Column::Id)
            .column(activity::Column::ReportingOrgId)
            .column(activity::Column::Version)
            .column(activity::Column::Document)
            .column(activity::Column::CreatedAt)
            .column(activity::Column::UpdatedAt)
            .filter(activity::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, reporting_org_id, version, document, created_at, updated_at) in rows {
            let record = Arc::new(ActivityRecord {
                id,
                reporting_org_id,
                publication: Publication::Published,
                version,
                data: slim(serde_json::from_str(&document)?),
                created_at,
                updated_at,
            });
            cache.put(id, version, record.clone());
            found.push(record);
        }
    }
    found.sort_unstable_by_key(|r| r.id);
    Ok(found)
}

/// What analytics read of an activity: its texts, organisations, links and other IATI
/// details dropped, transactions kept only for disbursements and expenditure.
fn slim(mut data: ActivityData) -> ActivityData {
    data.titles = Vec::new();
    data.descriptions = Vec::new();
    data.participating_orgs = Vec::new();
    data.related_activities = Vec::new();
    data.external_ids = Vec::new();
    data.no_need_link_reason = None;
    data.transactions.retain(|t| t.kind == "3" || t.kind == "4");
    data.iati = IatiDetails {
        planned_disbursements: std::mem::take(&mut data.iati.planned_disbursements),
        ..IatiDetails::default()
    };
    data
}

/// The activities in scope of `filter`, active as it says.
async fn in_scope(
    store: &Store,
    filter: &AnalyticsFilter,
    with_country: bool,
    today: NaiveDate,
) -> Result<Vec<Arc<ActivityRecord>>, StoreError> {
    let country = filter.country.as_deref().filter(|_| with_country);
    let mut found = published(
        store,
        country,
        filter.provider.as_deref(),
        filter.priority_area,
    )
    .await?;
    found.retain(|a| {
        is_active(&a.data, filter.year, today)
            && filter
                .region
                .as_ref()
                .is_none_or(|r| a.data.recipient_regions.iter().any(|x| &x.code == r))
            && filter.sector.as_ref().is_none_or(|s| {
                a.data
                    .sectors
                    .iter()
                    .any(|x| x.vocabulary == "1" && &x.code == s)
            })
    });
    Ok(found)
}

/// What an activity contributes to one place and column: its converted budget share.
fn add_budget(
    total: &mut Total,
    rates: &Rates,
    record: &ActivityRecord,
    place_share: Decimal,
    column_share: Decimal,
    currency: &str,
    year: i32,
) -> Decimal {
    let Some(budget) = &record.data.budget else {
        return Decimal::ZERO;
    };
    let amount = budget.amount * place_share * column_share;
    total
        .add(rates, amount, &budget.currency, currency, year)
        .unwrap_or(Decimal::ZERO)
}

/// Whether a matrix row is a country or a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKind {
    /// A recipient country.
    Country,
    /// A recipient region.
    Region,
}

/// Needs of a cell by coverage state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeedCounts {
    /// Unmet.
    pub unmet: u32,
    /// Covered.
    pub covered: u32,
    /// Duplicated.
    pub duplicated: u32,
}

/// Open flags of a cell by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagCounts {
    /// Double reporting.
    pub double_reporting: u32,
    /// Coordinated.
    pub coordinated: u32,
    /// Likely duplication.
    pub likely_duplication: u32,
    /// Possible overlap.
    pub possible_overlap: u32,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Needs by state; `None` where needs cannot be placed (sector columns, region rows).
    pub needs: Option<NeedCounts>,
    /// Activity ids in the cell.
    pub activities: Vec<i64>,
    /// Converted budget and what could not be converted.
    pub budget: Total,
    /// Per-provider holdings.
    pub holdings: Holdings,
    /// Open flags by class.
    pub flags: FlagCounts,
}

impl Cell {
    /// Provider shares, their basis and the HHI (`None` without activities).
    pub fn concentration(&self) -> (ShareBasis, Option<f64>) {
        let basis = self.holdings.natural_basis();
        if self.holdings.is_empty() {
            return (basis, None);
        }
        (basis, Some(hhi(&self.holdings.shares(basis))))
    }

    /// The providers with activities in the cell, by ref.
    pub fn providers(&self) -> Vec<String> {
        self.holdings.providers()
    }
}

/// A matrix row: country or region, and its code.
pub type RowKey = (RowKind, String);

/// The coverage matrix: row → column → cell.
pub type Matrix = BTreeMap<RowKey, BTreeMap<Column, Cell>>;

/// Builds the coverage matrix for `who`.
pub async fn coverage_matrix(
    store: &Store,
    who: &Principal,
    filter: &AnalyticsFilter,
    by_sector: bool,
    currency: &str,
) -> Result<Matrix, StoreError> {
    let conn = store.db();
    let started = std::time::Instant::now();
    let today = crate::today();
    let rates = rates::all(conn).await?;
    let scope = in_scope(store, filter, true, today).await?;
    let scoped = started.elapsed();
    let wanted_column = |c: &Column| match c {
        Column::PriorityArea(p) => filter.priority_area.is_none_or(|f| f == *p),
        Column::Sector(s) => filter.sector.as_ref().is_none_or(|f| f == s),
    };
    let mut matrix: Matrix = BTreeMap::new();
    // Cells by number, so a flag's two activities are matched on small integers.
    let mut cell_ids: HashMap<(RowKey, Column), u32> = HashMap::new();
    let mut places_of: HashMap<i64, Vec<u32>> = HashMap::new();
    for record in &scope {
        let mut rows: Vec<RowKey> = record
            .data
            .recipient_countries
            .iter()
            .filter(|c| filter.country.as_ref().is_none_or(|f| f == &c.code))
            .map(|c| (RowKind::Country, c.code.clone()))
            .collect();
        if filter.country.is_none() {
            rows.extend(
                record
                    .data
                    .recipient_regions
                    .iter()
                    .map(|r| (RowKind::Region, r.code.clone())),
            );
        }
        let columns: Vec<Column> = columns_of(&record.data, by_sector)
            .into_iter()
            .filter(wanted_column)
            .collect();
        let year = rate_year(&record.data, filter.year, today);
        for row in &rows {
            let place = location_share(&record.data, &row.1);
            for column in &columns {
                let cell = matrix
                    .entry(row.clone())
                    .or_default()
                    .entry(column.clone())
                    .or_default();
                let share = column_share(&record.data, column);
                let amount = add_budget(
                    &mut cell.budget,
                    &rates,
                    record,
                    place,
                    share,
                    currency,
                    year,
                );
                cell.holdings.add(&record.data.reporting_org, amount);
                cell.activities.push(record.id);
                let next = cell_ids.len() as u32;
                let cell_id = *cell_ids
                    .entry((row.clone(), column.clone()))
                    .or_insert(next);
                places_of.entry(record.id).or_default().push(cell_id);
            }
        }
    }

    let placed = started.elapsed();
    let cells = cell_ids.len();

    // Open flags whose two activities share a cell.
    let mut flag_counts = vec![FlagCounts::default(); cell_ids.len()];
    let ids: Vec<i64> = places_of.keys().copied().collect();
    for chunk in ids.chunks(1000) {
        // The pair and class only: components are long.
        let flags: Vec<(i64, i64, String)> = overlap_flag::Entity::find()
            .select_only()
            .column(overlap_flag::Column::ActivityAId)
            .column(overlap_flag::Column::ActivityBId)
            .column(overlap_flag::Column::Class)
            .filter(overlap_flag::Column::Status.eq(ReviewStatus::Open.as_str()))
            .filter(overlap_flag::Column::ActivityAId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (a, b, class) in flags {
            let (Some(a), Some(b)) = (places_of.get(&a), places_of.get(&b)) else {
                continue;
            };
            let class = class
                .parse::<OverlapClass>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for cell_id in a.iter().filter(|c| b.contains(c)) {
                let counts = &mut flag_counts[*cell_id as usize];
                match class {
                    OverlapClass::DoubleReporting => counts.double_reporting += 1,
                    OverlapClass::Coordinated => counts.coordinated += 1,
                    OverlapClass::LikelyDuplication => counts.likely_duplication += 1,
                    OverlapClass::PossibleOverlap => counts.possible_overlap += 1,
                    OverlapClass::None => {}
                }
            }
        }
    }
    for ((row, column), cell_id) in cell_ids {
        if let Some(cell) = matrix.get_mut(&row).and_then(|r| r.get_mut(&column)) {
            cell.flags = flag_counts[cell_id as usize];
        }
    }

    let flagged = started.elapsed();

    // Needs, where they can be placed: country rows, priority-area columns.
    if !by_sector && filter.region.is_none() {
        let query = NeedFilter {
            recipient_country: filter.country.clone(),
            priority_area: filter.priority_area,
            analysis_status: vec![NeedsAnalysisStatus::Published],
            ..NeedFilter::default()
        };
        let all = PageRequest {
            first: MAX_NEEDS,
            after: None,
            count: false,
        };
        let found = needs::list_needs(conn, who, &query, &all).await?;
        let records: Vec<&needs::NeedRecord> = found.items.iter().map(|(_, n)| n).collect();
        // Covering activities come from the published records at hand (cached, slim).
        let known: HashMap<i64, Arc<ActivityRecord>> = published(store, None, None, None)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let states = coverage::of_needs_with(conn, &records, today, false, &known).await?;
        for need in records {
            let cell = matrix
                .entry((RowKind::Country, need.recipient_country.clone()))
                .or_default()
                .entry(Column::PriorityArea(need.data.priority_area))
                .or_default();
            let counts = cell.needs.get_or_insert_with(NeedCounts::default);
            match states.get(&need.id).map(|c| c.coverage.state) {
                Some(CoverageState::Covered) => counts.covered += 1,
                Some(CoverageState::Duplicated) => counts.duplicated += 1,
                _ => counts.unmet += 1,
            }
        }
        for ((kind, _), row) in matrix.iter_mut() {
            if *kind == RowKind::Country {
                for cell in row.values_mut() {
                    cell.needs.get_or_insert_with(NeedCounts::default);
                }
            }
        }
    }
    tracing::debug!(
        activities = scope.len(),
        cells,
        scope_ms = scoped.as_secs_f64() * 1e3,
        cells_ms = (placed - scoped).as_secs_f64() * 1e3,
        flags_ms = (flagged - placed).as_secs_f64() * 1e3,
        needs_ms = (started.elapsed() - flagged).as_secs_f64() * 1e3,
        "coverage matrix computed"
    );
    Ok(matrix)
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
