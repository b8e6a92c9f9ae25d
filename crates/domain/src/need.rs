//! Needs analyses and the needs in them: what a recipient state asks for, in its own words.

use crate::activity::{MAX_DESCRIPTION_LEN, MAX_TITLE_LEN};
use crate::error::Violations;
use crate::money::Money;
use crate::organisation::check_country;
use crate::provision::Provision;
use crate::vocab::{
    AssistanceType, InstitutionType, NeedPriority, NeedSource, NeedVisibility, PriorityArea,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A valid needs analysis header. Outside this crate it is made only by
/// [`NeedsAnalysisData::parse`], or by [`NeedsAnalysisData::stored`] from a stored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NeedsAnalysisData(NeedsAnalysisFields);

read_only!(NeedsAnalysisData, NeedsAnalysisFields);

/// The content of a valid needs analysis header, read through [`NeedsAnalysisData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NeedsAnalysisFields {
    /// The recipient country, ISO 3166-1 alpha-2.
    pub recipient_country: String,
    /// Where the analysis comes from.
    pub source: NeedSource,
    /// Questionnaire cycle, report symbol or other reference.
    pub reference: Option<String>,
}

impl NeedsAnalysisData {
    /// A header as stored: it was validated when it was written, and is not checked again.
    pub fn stored(
        recipient_country: String,
        source: NeedSource,
        reference: Option<String>,
    ) -> Self {
        NeedsAnalysisData(NeedsAnalysisFields {
            recipient_country,
            source,
            reference,
        })
    }

    /// Validates an analysis header.
    pub fn parse(
        recipient_country: &str,
        source: NeedSource,
        reference: Option<&str>,
    ) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let country = check_country(recipient_country, "recipientCountry", &mut v);
        let reference = reference
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        if reference.as_ref().is_some_and(|r| r.chars().count() > 200) {
            v.push("reference", "must have at most 200 characters");
        }
        match country {
            Some(recipient_country) if v.is_empty() => Ok(NeedsAnalysisData(NeedsAnalysisFields {
                recipient_country,
                source,
                reference,
            })),
            _ => Err(v),
        }
    }
}

/// A valid need. Outside this crate it is made only by [`NeedData::parse`] (or read back from
/// a stored document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NeedData(NeedFields);

read_only!(NeedData, NeedFields);

/// The content of a valid need, read through [`NeedData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NeedFields {
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// The priority area it falls under.
    pub priority_area: PriorityArea,
    /// The provisions it concerns.
    pub provisions: Vec<Provision>,
    /// The kinds of assistance asked for.
    pub assistance_types: Vec<AssistanceType>,
    /// The institutions that would benefit.
    pub beneficiary_institutions: Vec<InstitutionType>,
    /// The recipient's ranking.
    pub priority: NeedPriority,
    /// What meeting it would cost, as estimated.
    pub estimated_cost: Option<Money>,
    /// Who may see it.
    pub visibility: NeedVisibility,
}

/// A need as submitted.
#[derive(Debug, Clone)]
pub struct NeedSubmission {
    /// See [`NeedData::title`].
    pub title: String,
    /// See [`NeedData::description`].
    pub description: Option<String>,
    /// See [`NeedData::priority_area`].
    pub priority_area: PriorityArea,
    /// Provision codes as written.
    pub provisions: Vec<String>,
    /// See [`NeedData::assistance_types`].
    pub assistance_types: Vec<AssistanceType>,
    /// See [`NeedData::beneficiary_institutions`].
    pub beneficiary_institutions: Vec<InstitutionType>,
    /// See [`NeedData::priority`].
    pub priority: NeedPriority,
    /// Amount and currency.
    pub estimated_cost: Option<(Decimal, String)>,
    /// See [`NeedData::visibility`].
    pub visibility: NeedVisibility,
}

impl NeedData {
    /// Validates a need; `prefix` is prepended to field names (e.g. `needs[2].`).
    pub fn parse(input: NeedSubmission, prefix: &str) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let title = input.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > MAX_TITLE_LEN {
            v.push(
                format!("{prefix}title"),
                format!("must have 1 to {MAX_TITLE_LEN} characters"),
            );
        }
        let description = input
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
        {
            v.push(
                format!("{prefix}description"),
                format!("must have at most {MAX_DESCRIPTION_LEN} characters"),
            );
        }
        let mut provisions = Vec::new();
        for (i, p) in input.provisions.iter().enumerate() {
            match Provision::parse(p) {
                Ok(p) => provisions.push(p),
                Err(message) => v.push(format!("{prefix}provisions[{i}]"), message),
            }
        }
        provisions.sort();
        provisions.dedup();
        let estimated_cost = input
            .estimated_cost
            .as_ref()
            .and_then(|(amount, currency)| {
                Money::parse(*amount, currency, &format!("{prefix}estimatedCost"), &mut v)
            });
        let mut assistance_types = input.assistance_types;
        assistance_types.sort();
        assistance_types.dedup();
        let mut beneficiary_institutions = input.beneficiary_institutions;
        beneficiary_institutions.sort();
        beneficiary_institutions.dedup();
        v.into_result(NeedData(NeedFields {
            title,
            description,
            priority_area: input.priority_area,
            provisions,
            assistance_types,
            beneficiary_institutions,
            priority: input.priority,
            estimated_cost,
            visibility: input.visibility,
        }))
    }
}
