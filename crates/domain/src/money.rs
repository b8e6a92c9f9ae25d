//! Money: an exact decimal amount and an ISO 4217 currency; never a float.

use crate::codes::CURRENCY;
use crate::error::Violations;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact.
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// Checks that the amount is not negative and the currency is a known, active code;
    /// problems are reported under `field`.
    pub fn parse(
        amount: Decimal,
        currency: &str,
        field: &str,
        violations: &mut Violations,
    ) -> Option<Money> {
        let mut ok = true;
        if amount.is_sign_negative() && !amount.is_zero() {
            violations.push(format!("{field}.amount"), "must not be negative");
            ok = false;
        }
        let currency = currency.trim().to_ascii_uppercase();
        if !CURRENCY.is_active(&currency) {
            violations.push(
                format!("{field}.currency"),
                format!("unknown currency code `{currency}` (ISO 4217)"),
            );
            ok = false;
        }
        ok.then_some(Money { amount, currency })
    }

    /// Like [`Money::parse`], but the amount may be negative (IATI transactions record
    /// reversals so) and withdrawn currency codes are accepted.
    pub fn parse_signed(
        amount: Decimal,
        currency: &str,
        field: &str,
        violations: &mut Violations,
    ) -> Option<Money> {
        let currency = currency.trim().to_ascii_uppercase();
        if CURRENCY.get(&currency).is_none() {
            violations.push(
                format!("{field}.currency"),
                format!("unknown currency code `{currency}` (ISO 4217)"),
            );
            return None;
        }
        Some(Money { amount, currency })
    }
}
