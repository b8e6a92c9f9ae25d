//! The registry's scalars: `Date`, an ISO 8601 calendar date such as `2026-03-01`, and
//! `Decimal`, an exact decimal number sent as a string; and `Money`, a `Decimal` amount with
//! its currency.

use aidgraph_domain::money::Money as DomainMoney;
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use chrono::NaiveDate;

/// An amount of money; never a float.
#[derive(SimpleObject, Debug, Clone)]
pub struct Money {
    /// Exact decimal amount, as a string.
    pub amount: Decimal,
    /// ISO 4217 currency code.
    pub currency: String,
}

impl From<&DomainMoney> for Money {
    fn from(m: &DomainMoney) -> Self {
        Money {
            amount: Decimal(m.amount),
            currency: m.currency.clone(),
        }
    }
}

/// An ISO 8601 calendar date, e.g. `2026-03-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// ISO 8601 calendar date, e.g. 2026-03-01.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a date (YYYY-MM-DD)"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date(d)
    }
}

/// An exact decimal number (money, rates, percentages), held without rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Decimal(pub rust_decimal::Decimal);

/// An exact decimal number, written as a string such as "1250000.50" so that no digit is lost
/// (numbers are accepted in input too); at most 28 significant digits.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::String(s) => s.trim().parse::<rust_decimal::Decimal>().ok(),
            Value::Number(n) => n.as_i64().map(rust_decimal::Decimal::from).or_else(|| {
                n.as_f64()
                    .and_then(|f| rust_decimal::Decimal::try_from(f).ok())
            }),
            _ => return Err(InputValueError::expected_type(value)),
        };
        parsed.map(Decimal).ok_or_else(|| {
            InputValueError::custom(
                "not a decimal number aidgraph can hold (at most 28 significant digits)",
            )
        })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(d: rust_decimal::Decimal) -> Self {
        Decimal(d)
    }
}

impl From<Decimal> for rust_decimal::Decimal {
    fn from(d: Decimal) -> Self {
        d.0
    }
}
