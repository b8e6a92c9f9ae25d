//! Dashboard analytics over GraphQL: plain numbers ready to chart. The rules behind each
//! figure are in `docs/coordination.md`.

use super::context::{loaders, principal, store};
use super::enums::PriorityArea;
use super::organisation::Organisation;
use super::records::ContributionFilter;
use super::scalars::Decimal;
use super::scalars::Money;
use crate::error::{ApiError, ApiResult};
use crate::loaders::OrgRef;
use aidgraph_domain::analytics::{self as rules, Column, IndicatorUnit as Unit};
use aidgraph_domain::codes::{COUNTRY, CURRENCY, REGION, SECTOR};
use aidgraph_domain::rates::Total;
use aidgraph_domain::vocab::PriorityArea as DomainArea;
use aidgraph_persistence::analytics::{self, RowKind};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

mod objects;

pub use objects::*;

/// Scope of an analytics query.
#[derive(InputObject, Debug, Clone, Default)]
pub struct AnalyticsFilter {
    /// Recipient country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Recipient region (IATI region code): activities that list it.
    pub region: Option<String>,
    /// Priority area.
    pub priority_area: Option<PriorityArea>,
    /// DAC 5-digit sector code.
    pub sector: Option<String>,
    /// Provider (reporting organisation ref).
    pub provider: Option<String>,
    /// Activities active in this year; otherwise active today.
    pub year: Option<i32>,
}

impl AnalyticsFilter {
    fn into_query(self) -> ApiResult<analytics::AnalyticsFilter> {
        let mut v = aidgraph_domain::Violations::default();
        let country = self.country.map(|c| c.trim().to_ascii_uppercase());
        if let Some(c) = &country
            && COUNTRY.get(c).is_none()
        {
            v.push("filter.country", format!("unknown country code `{c}`"));
        }
        let region = self.region.map(|r| r.trim().to_owned());
        if let Some(r) = &region
            && REGION.get(r).is_none()
        {
            v.push("filter.region", format!("unknown region code `{r}`"));
        }
        let sector = self.sector.map(|s| s.trim().to_owned());
        if let Some(s) = &sector
            && SECTOR.get(s).is_none()
        {
            v.push("filter.sector", format!("unknown DAC 5-digit sector `{s}`"));
        }
        if let Some(y) = self.year
            && !(1900..=2100).contains(&y)
        {
            v.push("filter.year", "must be between 1900 and 2100");
        }
        v.into_result(analytics::AnalyticsFilter {
            country,
            region,
            priority_area: self.priority_area.map(Into::into),
            sector,
            provider: self.provider.map(|p| p.trim().to_owned()),
            year: self.year,
        })
        .map_err(ApiError::BadInput)
    }
}

fn check_currency(currency: &str) -> ApiResult<String> {
    let c = currency.trim().to_ascii_uppercase();
    if CURRENCY.get(&c).is_some() {
        Ok(c)
    } else {
        Err(ApiError::bad_input(
            "currency",
            format!("unknown currency code `{currency}` (ISO 4217)"),
        ))
    }
}

fn check_year(year: i32, field: &str) -> ApiResult<()> {
    if (1900..=2100).contains(&year) {
        Ok(())
    } else {
        Err(ApiError::bad_input(field, "must be between 1900 and 2100"))
    }
}

/// Dashboard analytics.
#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Countries (and regions) × priority areas or DAC sectors: needs by coverage state,
    /// providers, budget, open flags, HHI and fragmentation. Published activities only.
    async fn coverage_matrix(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scope: country, region, priority area, sector, provider and year.")]
        filter: Option<AnalyticsFilter>,
        #[graphql(
            default_with = "MatrixColumns::PriorityArea",
            desc = "Priority areas (the default) or DAC 5-digit sectors as columns."
        )]
        columns: MatrixColumns,
        #[graphql(
            default_with = "\"USD\".to_owned()",
            desc = "The currency budgets are converted into (ISO 4217)."
        )]
        currency: String,
        #[graphql(
            default = 5,
            desc = "The provider count above which a cell is `overCeiling`; not negative."
        )]
        provider_ceiling: i32,
    ) -> ApiResult<CoverageMatrix> {
        let who = principal(ctx)?;
        let filter = filter.unwrap_or_default().into_query()?;
        let currency = check_currency(&currency)?;
        if provider_ceiling < 0 {
            return Err(ApiError::bad_input(
                "providerCeiling",
                "must not be negative",
            ));
        }
        let by_sector = columns == MatrixColumns::DacSector;
        let matrix =
            analytics::coverage_matrix(store(ctx)?, who, &filter, by_sector, &currency).await?;
        let rows = matrix
            .into_iter()
            .map(|((kind, code), cells)| MatrixRow {
                name: match kind {
                    RowKind::Country => COUNTRY.name_of(&code),
                    RowKind::Region => REGION.name_of(&code),
                }
                .unwrap_or(code.as_str())
                .to_owned(),
                kind: match kind {
                    RowKind::Country => MatrixRowKind::Country,
                    RowKind::Region => MatrixRowKind::Region,
                },
                code,
                cells: cells
                    .into_iter()
                    .map(|(column, cell)| {
                        let (column, column_name) = match column {
                            Column::PriorityArea(p) => {
                                (p.as_str().to_owned(), area_name(p).to_owned())
                            }
                            Column::Sector(s) => {
                                let name = SECTOR.name_of(&s).unwrap_or(s.as_str()).to_owned();
                                (s, name)
                            }
                        };
                        let (basis, hhi) = cell.concentration();
                        let providers = cell.providers();
                        let f = cell.flags;
                        MatrixCell {
                            column,
                            column_name,
                            needs: cell.needs.map(|n| NeedStateCounts {
                                unmet: n.unmet,
                                covered: n.covered,
                                duplicated: n.duplicated,
                                total: n.unmet + n.covered + n.duplicated,
                            }),
                            activities: cell.activities.len() as u32,
                            active_providers: providers.len() as u32,
                            over_ceiling: providers.len() > provider_ceiling as usize,
                            providers,
                            active_budget: Decimal(cell.budget.rounded()),
                            unconverted: money_list(&cell.budget),
                            open_flags: FlagCounts {
                                double_reporting: f.double_reporting,
                                coordinated: f.coordinated,
                                likely_duplication: f.likely_duplication,
                                possible_overlap: f.possible_overlap,
                                total: f.double_reporting
                                    + f.coordinated
                                    + f.likely_duplication
                                    + f.possible_overlap,
                            },
                            hhi,
                            fragmentation: hhi.map(|h| 1.0 - h),
                            share_basis: basis.into(),
                        }
                    })
                    .collect(),
            })
            .collect();
        Ok(CoverageMatrix {
            columns,
            currency,
            provider_ceiling,
            rows,
        })
    }

    /// Each provider's share in a country (or a country's cell, with `priorityArea` or
    /// `sector`), its global share, and whether the relationship is significant by the
    /// OECD-style rules. `filter.country` is required. Largest share first.
    async fn provider_significance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scope; needs `country`; `priorityArea` or `sector` picks a cell.")]
        filter: AnalyticsFilter,
        #[graphql(
            default_with = "\"USD\".to_owned()",
            desc = "The currency budgets are converted into for shares (ISO 4217)."
        )]
        currency: String,
    ) -> ApiResult<Vec<ProviderSignificance>> {
        principal(ctx)?;
        let filter = filter.into_query()?;
        let currency = check_currency(&currency)?;
        let Some(country) = filter.country.clone() else {
            return Err(ApiError::bad_input(
                "filter.country",
                "significance is of a provider in a country: name the country",
            ));
        };
        let (basis, found) =
            analytics::provider_significance(store(ctx)?, &filter, &country, &currency).await?;
        Ok(found
            .into_iter()
            .map(|s| ProviderSignificance {
                country: country.clone(),
                basis,
                s,
            })
            .collect())
    }

    /// The Paris Declaration indicators 3 to 10b for a year, globally or scoped by provider
    /// and/or recipient country; each with numerator, denominator, reporting share and target.
    async fn paris_indicators(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year the indicators are for (1900–2100).")] year: i32,
        #[graphql(desc = "Only this provider's records (organisation ref).")] provider: Option<
            String,
        >,
        #[graphql(desc = "Only records for this recipient country (ISO 3166-1 alpha-2).")]
        recipient_country: Option<String>,
        #[graphql(
            default_with = "\"USD\".to_owned()",
            desc = "The currency indicator 7's money is converted into (ISO 4217)."
        )]
        currency: String,
        #[graphql(
            desc = "Narrows the activities further (region, priorityArea, sector); country, provider and year, when given here too, must agree with the arguments above. Missions and analytic work follow country and provider only."
        )]
        filter: Option<AnalyticsFilter>,
    ) -> ApiResult<Vec<ParisIndicator>> {
        let who = principal(ctx)?;
        check_year(year, "year")?;
        let currency = check_currency(&currency)?;
        let country = recipient_country.map(|c| c.trim().to_ascii_uppercase());
        if let Some(c) = &country
            && COUNTRY.get(c).is_none()
        {
            return Err(ApiError::bad_input(
                "recipientCountry",
                format!("unknown country code `{c}`"),
            ));
        }
        let mut scope = filter.unwrap_or_default().into_query()?;
        let provider = provider.map(|p| p.trim().to_owned());
        let mut v = aidgraph_domain::Violations::default();
        if scope.year.is_some_and(|y| y != year) {
            v.push("filter.year", "must match year");
        }
        if let (Some(a), Some(b)) = (&scope.country, &country)
            && a != b
        {
            v.push("filter.country", "must match recipientCountry");
        }
        if let (Some(a), Some(b)) = (&scope.provider, &provider)
            && a != b
        {
            v.push("filter.provider", "must match provider");
        }
        v.into_result(()).map_err(ApiError::BadInput)?;
        scope.year = Some(year);
        scope.country = country.or(scope.country);
        scope.provider = provider.or(scope.provider);
        let found = analytics::paris(store(ctx)?, who, &scope, &currency).await?;
        Ok(found
            .into_iter()
            .map(|i| ParisIndicator {
                i,
                currency: currency.clone(),
            })
            .collect())
    }

    /// Contributions by donor and year, converted into `currency`: pledged, paid, paid per
    /// fund and the general-purpose share. Ordered by year, then donor.
    async fn contribution_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which contributions to count; every given field must match.")]
        filter: Option<ContributionFilter>,
        #[graphql(
            default_with = "\"USD\".to_owned()",
            desc = "The currency the totals are converted into (ISO 4217)."
        )]
        currency: String,
    ) -> ApiResult<Vec<ContributionTotal>> {
        principal(ctx)?;
        let currency = check_currency(&currency)?;
        let filter = filter.unwrap_or_default().into();
        let found = analytics::contribution_summary(store(ctx)?.db(), &filter, &currency).await?;
        Ok(found
            .into_iter()
            .map(|((year, donor), t)| ContributionTotal {
                donor,
                year,
                currency: currency.clone(),
                t,
            })
            .collect())
    }
}
