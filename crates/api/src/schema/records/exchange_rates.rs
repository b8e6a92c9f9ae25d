//! Exchange rates for converting money in analytics.

use super::*;

/// One month's exchange rate of a currency against the US dollar.
#[derive(SimpleObject, Debug, Clone)]
pub struct ExchangeRate {
    /// ISO 4217 code.
    pub currency: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Units of the currency one US dollar buys.
    pub units_per_usd: Decimal,
}

impl From<MonthlyRate> for ExchangeRate {
    fn from(r: MonthlyRate) -> Self {
        ExchangeRate {
            currency: r.currency,
            month: r.month,
            units_per_usd: Decimal(r.units_per_usd),
        }
    }
}

/// What a rates load stored.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ExchangeRateLoad {
    /// Months stored (new or replaced).
    pub loaded: u64,
}
