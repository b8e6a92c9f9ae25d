//! The dashboards' object types: the coverage matrix, provider significance, the Paris indicators and contribution totals.

use super::*;

/// What the columns of the coverage matrix are.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatrixColumns {
    /// The five priority areas.
    #[default]
    PriorityArea,
    /// DAC 5-digit sectors (vocabulary 1).
    DacSector,
}

/// What provider shares are taken of.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareBasis {
    /// Converted budget.
    Budget,
    /// Activities, each counting one (when no budget converts).
    Activities,
}

impl From<rules::ShareBasis> for ShareBasis {
    fn from(b: rules::ShareBasis) -> Self {
        match b {
            rules::ShareBasis::Budget => ShareBasis::Budget,
            rules::ShareBasis::Activities => ShareBasis::Activities,
        }
    }
}

/// Whether a matrix row is a country or a region.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixRowKind {
    /// A recipient country.
    Country,
    /// A recipient region (regional activities).
    Region,
}

/// Needs by coverage state.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct NeedStateCounts {
    /// No covering activity.
    pub unmet: u32,
    /// Covered by one group (or sequential groups).
    pub covered: u32,
    /// Covered by two or more groups at once.
    pub duplicated: u32,
    /// All needs of the cell.
    pub total: u32,
}

/// Open overlap flags by class.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct FlagCounts {
    /// Double reporting.
    pub double_reporting: u32,
    /// Coordinated.
    pub coordinated: u32,
    /// Likely duplication.
    pub likely_duplication: u32,
    /// Possible overlap.
    pub possible_overlap: u32,
    /// All open flags of the cell.
    pub total: u32,
}

/// One country (or region) × column cell.
#[derive(SimpleObject, Debug, Clone)]
pub struct MatrixCell {
    /// The column: a priority area (e.g. `INTERNATIONAL_COOPERATION`) or a DAC code.
    pub column: String,
    /// The column's name.
    pub column_name: String,
    /// Needs by state; null for DAC-sector columns and region rows.
    pub needs: Option<NeedStateCounts>,
    /// Active activities in the cell.
    pub activities: u32,
    /// Providers with active activities in the cell.
    pub active_providers: u32,
    /// Their refs.
    pub providers: Vec<String>,
    /// Their budgets' share for the cell, converted; two decimals.
    pub active_budget: Decimal,
    /// Budget amounts without a rate for their year, per currency (not in `activeBudget`).
    pub unconverted: Vec<Money>,
    /// Open flags whose two activities are both in the cell.
    pub open_flags: FlagCounts,
    /// Herfindahl-Hirschman index of provider shares; null without activities.
    pub hhi: Option<f64>,
    /// 1 − HHI.
    pub fragmentation: Option<f64>,
    /// What the shares are of.
    pub share_basis: ShareBasis,
    /// More providers than the ceiling.
    pub over_ceiling: bool,
}

/// One row of the coverage matrix.
#[derive(SimpleObject, Debug, Clone)]
pub struct MatrixRow {
    /// Country or region code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Country or region.
    pub kind: MatrixRowKind,
    /// Its non-empty cells, by column.
    pub cells: Vec<MatrixCell>,
}

/// Countries × priority areas (or DAC sectors): needs, providers, money, flags, concentration.
#[derive(SimpleObject, Debug, Clone)]
pub struct CoverageMatrix {
    /// What the columns are.
    pub columns: MatrixColumns,
    /// The currency of money figures.
    pub currency: String,
    /// The provider count above which a cell is crowded.
    pub provider_ceiling: i32,
    /// Rows by code.
    pub rows: Vec<MatrixRow>,
}

/// A provider's weight in a country (or cell), and whether the relationship is significant.
pub struct ProviderSignificance {
    pub(super) country: String,
    pub(super) basis: rules::ShareBasis,
    pub(super) s: rules::Significance,
}

/// A provider's weight in a country (or cell), and whether the relationship is significant.
#[Object]
impl ProviderSignificance {
    /// The provider.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        loaders(ctx)?
            .load_one(OrgRef(self.s.holding.provider.clone()))
            .await?
            .map(Organisation)
            .ok_or_else(|| ApiError::NotFound(format!("organisation {}", self.s.holding.provider)))
    }

    /// The country.
    async fn country(&self) -> &str {
        &self.country
    }

    /// Its converted budget in scope; two decimals.
    async fn amount(&self) -> Decimal {
        Decimal(self.s.holding.amount)
    }

    /// Its active activities in scope.
    async fn activities(&self) -> u32 {
        self.s.holding.activities
    }

    /// Its share of the scope, 0–1.
    async fn share(&self) -> f64 {
        self.s.holding.share
    }

    /// Its share of the same activities in every country, 0–1.
    async fn global_share(&self) -> f64 {
        self.s.global_share
    }

    /// `share ≥ globalShare`.
    async fn above_global_share(&self) -> bool {
        self.s.above_global_share
    }

    /// Among the largest providers that together reach 90 % of the scope.
    async fn within_ninety_percent(&self) -> bool {
        self.s.within_ninety_percent
    }

    /// Either test holds.
    async fn significant(&self) -> bool {
        self.s.significant()
    }

    /// What the shares are of.
    async fn share_basis(&self) -> ShareBasis {
        self.basis.into()
    }
}

/// The unit of an indicator's value.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicatorUnit {
    /// Percent, 0–100.
    Percent,
    /// A count.
    Count,
}

/// One Paris Declaration indicator for a year and scope.
pub struct ParisIndicator {
    pub(super) i: rules::Indicator,
    pub(super) currency: String,
}

/// One Paris Declaration indicator for a year and scope.
#[Object]
impl ParisIndicator {
    /// "3", "4", "5a", "5b", "6", "7", "8", "9", "10a" or "10b".
    async fn indicator(&self) -> &str {
        self.i.key
    }

    /// What it measures.
    async fn name(&self) -> &str {
        self.i.name
    }

    /// Percent of numerator over denominator (a count for indicator 6); null when the
    /// denominator is zero, or when money was left out for want of a rate (indicator 7).
    async fn value(&self) -> Option<f64> {
        self.i.value()
    }

    /// Percent or count.
    async fn unit(&self) -> IndicatorUnit {
        match self.i.unit {
            Unit::Percent => IndicatorUnit::Percent,
            Unit::Count => IndicatorUnit::Count,
        }
    }

    /// The numerator: a count, or money (indicator 7).
    async fn numerator(&self) -> Decimal {
        Decimal(self.i.numerator)
    }

    /// The denominator: a count, or money (indicator 7).
    async fn denominator(&self) -> Decimal {
        Decimal(self.i.denominator)
    }

    /// Records in scope.
    async fn records(&self) -> u32 {
        self.i.records
    }

    /// Records that reported the underlying flag.
    async fn reported(&self) -> u32 {
        self.i.reported
    }

    /// `reported / records`; null without records.
    async fn reported_share(&self) -> Option<f64> {
        self.i.reported_share()
    }

    /// The 2010 target in percent, where the Paris Declaration sets one figure for all.
    async fn target(&self) -> Option<f64> {
        self.i.target
    }

    /// The 2010 target in words.
    async fn target_description(&self) -> &str {
        self.i.target_description
    }

    /// The currency of money figures (indicator 7 only).
    async fn currency(&self) -> Option<&str> {
        self.i.is_money.then_some(self.currency.as_str())
    }

    /// Money left out for want of a rate, per currency.
    async fn unconverted(&self) -> Vec<Money> {
        money_list(&self.i.unconverted)
    }
}

/// Contributions of one donor in one year.
pub struct ContributionTotal {
    pub(super) donor: String,
    pub(super) year: i32,
    pub(super) currency: String,
    pub(super) t: analytics::ContributionTotal,
}

pub(super) fn money_list(total: &Total) -> Vec<Money> {
    total.unconverted_money().iter().map(Money::from).collect()
}

/// Contributions of one donor in one year.
#[Object]
impl ContributionTotal {
    /// The donor.
    async fn donor(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        loaders(ctx)?
            .load_one(OrgRef(self.donor.clone()))
            .await?
            .map(Organisation)
            .ok_or_else(|| ApiError::NotFound(format!("organisation {}", self.donor)))
    }

    /// The year.
    async fn year(&self) -> i32 {
        self.year
    }

    /// The currency of the totals.
    async fn currency(&self) -> &str {
        &self.currency
    }

    /// Σ pledged.
    async fn pledged(&self) -> Decimal {
        Decimal(self.t.pledged.rounded())
    }

    /// Σ paid.
    async fn paid(&self) -> Decimal {
        Decimal(self.t.paid.rounded())
    }

    /// Σ paid to general-purpose funds.
    async fn general_purpose(&self) -> Decimal {
        Decimal(self.t.general_purpose.rounded())
    }

    /// Σ paid to special-purpose funds.
    async fn special_purpose(&self) -> Decimal {
        Decimal(self.t.special_purpose.rounded())
    }

    /// Σ paid to other funds.
    async fn other(&self) -> Decimal {
        Decimal(self.t.other.rounded())
    }

    /// `generalPurpose / paid`; null when nothing is paid.
    async fn general_purpose_share(&self) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        let paid = self.t.paid.sum;
        if paid.is_zero() {
            return None;
        }
        (self.t.general_purpose.sum / paid).to_f64()
    }

    /// Pledges without a rate for their year, per currency (not in `pledged`).
    async fn unconverted_pledged(&self) -> Vec<Money> {
        money_list(&self.t.pledged)
    }

    /// Payments without a rate for their year, per currency (not in `paid` nor in the funds).
    async fn unconverted_paid(&self) -> Vec<Money> {
        money_list(&self.t.paid)
    }
}

pub(super) fn area_name(area: DomainArea) -> &'static str {
    match area {
        DomainArea::ImplementationInformation => "Information on implementation",
        DomainArea::CriminalJusticeResponse => "Criminal justice response",
        DomainArea::InternationalCooperation => {
            "International cooperation (central authorities, MLA, extradition)"
        }
        DomainArea::DataCollectionCapacity => "Data collection capacity",
        DomainArea::ProtocolsImplementation => "Implementation of the Protocols",
    }
}
