//! The coverage matrix: countries and regions by priority areas or DAC sectors.

use super::*;

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
