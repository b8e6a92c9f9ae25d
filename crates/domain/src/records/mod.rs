//! Coordination records: evaluations, missions and analytic work, contributions to the
//! coordinator's funds, and coordination mechanisms — their validated forms.

use crate::activity::{MAX_DESCRIPTION_LEN, MAX_TITLE_LEN};
use crate::error::Violations;
use crate::money::Money;
use crate::organisation::{check_country, check_org_ref};
use crate::vocab::{ContributionStatus, DacRating, Fund, JointWorkKind, MechanismLevel};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Longest evaluator, mechanism or earmark name.
pub const MAX_NAME_LEN: usize = 200;
/// Longest link.
pub const MAX_LINK_LEN: usize = 2000;
/// Most activities one evaluation covers, organisations one joint work lists, and so on.
pub const MAX_LIST_LEN: usize = 100;
/// Most countries one mechanism lists.
pub const MAX_COUNTRIES: usize = 300;

fn required_text(value: &str, field: &str, max: usize, v: &mut Violations) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        v.push(field, format!("must have 1 to {max} characters"));
    }
    value.to_owned()
}

fn optional_text(
    value: Option<&str>,
    field: &str,
    max: usize,
    v: &mut Violations,
) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    if value.chars().count() > max {
        v.push(field, format!("must have at most {max} characters"));
    }
    Some(value.to_owned())
}

fn optional_link(value: Option<&str>, field: &str, v: &mut Violations) -> Option<String> {
    let link = optional_text(value, field, MAX_LINK_LEN, v)?;
    let scheme_ok = link.starts_with("https://") || link.starts_with("http://");
    if !scheme_ok || link.chars().any(char::is_whitespace) {
        v.push(field, "must be an http(s) URL without spaces");
    }
    Some(link)
}

/// Years a recorded date may fall in.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

fn check_date(date: Option<NaiveDate>, field: &str, v: &mut Violations) {
    if let Some(d) = date
        && !DATE_YEARS.contains(&chrono::Datelike::year(&d))
    {
        v.push(
            field,
            format!(
                "must fall between {} and {}",
                DATE_YEARS.start(),
                DATE_YEARS.end()
            ),
        );
    }
}

fn org_refs(refs: &[String], field: &str, v: &mut Violations) -> Vec<String> {
    if refs.len() > MAX_LIST_LEN {
        v.push(
            field,
            format!("must list at most {MAX_LIST_LEN} organisations"),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        if let Some(r) = check_org_ref(r, &format!("{field}[{i}]"), v)
            && !out.contains(&r)
        {
            out.push(r);
        }
    }
    out
}

/// Ratings on the six OECD DAC evaluation criteria; `None` where not rated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DacRatings {
    /// Relevance.
    pub relevance: Option<DacRating>,
    /// Coherence.
    pub coherence: Option<DacRating>,
    /// Effectiveness.
    pub effectiveness: Option<DacRating>,
    /// Efficiency.
    pub efficiency: Option<DacRating>,
    /// Impact.
    pub impact: Option<DacRating>,
    /// Sustainability.
    pub sustainability: Option<DacRating>,
}

/// A valid evaluation, without the activities it evaluates (stored as links). Made only by
/// [`EvaluationData::parse`] (or read back from storage), so holding one means it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvaluationData(EvaluationFields);

read_only!(EvaluationData, EvaluationFields);

/// The content of a valid evaluation, read through [`EvaluationData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EvaluationFields {
    /// Title of the evaluation report.
    pub title: String,
    /// Who evaluated.
    pub evaluator: String,
    /// When the evaluation was completed.
    pub date: NaiveDate,
    /// Whether the evaluator is independent of the implementers.
    pub independent: bool,
    /// Ratings per DAC criterion.
    pub ratings: DacRatings,
    /// What worked.
    pub what_worked: Option<String>,
    /// What did not.
    pub what_did_not_work: Option<String>,
    /// Where the report is.
    pub link: Option<String>,
}

/// An evaluation as submitted; [`EvaluationData::parse`] checks it.
#[derive(Debug, Clone, Default)]
pub struct EvaluationSubmission {
    /// See [`EvaluationData::title`].
    pub title: String,
    /// See [`EvaluationData::evaluator`].
    pub evaluator: String,
    /// See [`EvaluationData::date`].
    pub date: NaiveDate,
    /// See [`EvaluationData::independent`].
    pub independent: bool,
    /// See [`EvaluationData::ratings`].
    pub ratings: DacRatings,
    /// See [`EvaluationData::what_worked`].
    pub what_worked: Option<String>,
    /// See [`EvaluationData::what_did_not_work`].
    pub what_did_not_work: Option<String>,
    /// See [`EvaluationData::link`].
    pub link: Option<String>,
}

impl EvaluationData {
    /// Validates an evaluation of `activity_count` activities, trimming its texts and naming
    /// every bad field.
    pub fn parse(input: EvaluationSubmission, activity_count: usize) -> Result<Self, Violations> {
        let mut v = Violations::default();
        if activity_count == 0 || activity_count > MAX_LIST_LEN {
            v.push(
                "activityIds",
                format!("must name 1 to {MAX_LIST_LEN} activities"),
            );
        }
        check_date(Some(input.date), "date", &mut v);
        let data = EvaluationData(EvaluationFields {
            title: required_text(&input.title, "title", MAX_TITLE_LEN, &mut v),
            evaluator: required_text(&input.evaluator, "evaluator", MAX_NAME_LEN, &mut v),
            date: input.date,
            independent: input.independent,
            ratings: input.ratings,
            what_worked: optional_text(
                input.what_worked.as_deref(),
                "whatWorked",
                MAX_DESCRIPTION_LEN,
                &mut v,
            ),
            what_did_not_work: optional_text(
                input.what_did_not_work.as_deref(),
                "whatDidNotWork",
                MAX_DESCRIPTION_LEN,
                &mut v,
            ),
            link: optional_link(input.link.as_deref(), "link", &mut v),
        });
        v.into_result(data)
    }

    /// Lower-cased text for plain search: title, evaluator and lessons.
    pub fn search_text(&self) -> String {
        [
            Some(self.title.as_str()),
            Some(self.evaluator.as_str()),
            self.what_worked.as_deref(),
            self.what_did_not_work.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// A valid mission or piece of analytic work. Made only by [`JointWorkData::parse`] (or read back
/// from storage), so holding one means it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JointWorkData(JointWorkFields);

read_only!(JointWorkData, JointWorkFields);

/// The content of a valid mission or analytic work, read through [`JointWorkData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JointWorkFields {
    /// Mission or analytic work.
    pub kind: JointWorkKind,
    /// What it was.
    pub title: String,
    /// The country, ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisations taking part (refs), in the order given.
    pub organisations: Vec<String>,
    /// The organisation on whose behalf it was done, if any.
    pub on_behalf_of: Option<String>,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// Where the report is (analytic work).
    pub link: Option<String>,
}

/// A mission or analytic work as submitted; [`JointWorkData::parse`] checks it.
#[derive(Debug, Clone)]
pub struct JointWorkSubmission {
    /// See [`JointWorkData::kind`].
    pub kind: JointWorkKind,
    /// See [`JointWorkData::title`].
    pub title: String,
    /// See [`JointWorkData::country`].
    pub country: String,
    /// See [`JointWorkData::organisations`].
    pub organisations: Vec<String>,
    /// See [`JointWorkData::on_behalf_of`].
    pub on_behalf_of: Option<String>,
    /// See [`JointWorkData::start_date`].
    pub start_date: NaiveDate,
    /// See [`JointWorkData::end_date`].
    pub end_date: Option<NaiveDate>,
    /// See [`JointWorkData::link`].
    pub link: Option<String>,
}

impl JointWorkData {
    /// Validates a mission or analytic work as submitted, normalising codes and naming every
    /// bad field.
    pub fn parse(input: JointWorkSubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let title = required_text(&input.title, "title", MAX_TITLE_LEN, &mut v);
        let country = check_country(&input.country, "country", &mut v).unwrap_or_default();
        if input.organisations.is_empty() {
            v.push("organisations", "must name at least one organisation");
        }
        let organisations = org_refs(&input.organisations, "organisations", &mut v);
        let on_behalf_of = input
            .on_behalf_of
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|r| check_org_ref(r, "onBehalfOf", &mut v));
        if let Some(principal) = &on_behalf_of
            && organisations.contains(principal)
        {
            v.push(
                "onBehalfOf",
                "names an organisation that takes part itself; leave it out",
            );
        }
        check_date(Some(input.start_date), "startDate", &mut v);
        check_date(input.end_date, "endDate", &mut v);
        if input.end_date.is_some_and(|end| end < input.start_date) {
            v.push("endDate", "must not be before startDate");
        }
        let link = optional_link(input.link.as_deref(), "link", &mut v);
        v.into_result(JointWorkData(JointWorkFields {
            kind: input.kind,
            title,
            country,
            organisations,
            on_behalf_of,
            start_date: input.start_date,
            end_date: input.end_date,
            link,
        }))
    }

    /// Joint when two or more organisations take part, or one acts on another's behalf.
    pub fn joint(&self) -> bool {
        self.organisations.len() >= 2 || self.on_behalf_of.is_some()
    }
}

/// A valid contribution to the coordinator's funds. Made only by [`ContributionData::parse`] (or
/// read back from storage), so holding one means it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContributionData(ContributionFields);

read_only!(ContributionData, ContributionFields);

/// The content of a valid contribution, read through [`ContributionData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContributionFields {
    /// The donor (organisation ref).
    pub donor: String,
    /// Which fund.
    pub fund: Fund,
    /// What a special-purpose contribution is earmarked for.
    pub earmark: Option<String>,
    /// How much.
    pub amount: Money,
    /// The year it is for.
    pub year: i32,
    /// Pledged or paid.
    pub status: ContributionStatus,
    /// When it was pledged or paid.
    pub date: Option<NaiveDate>,
}

/// A contribution as submitted.
#[derive(Debug, Clone)]
pub struct ContributionSubmission {
    /// See [`ContributionData::donor`].
    pub donor: String,
    /// See [`ContributionData::fund`].
    pub fund: Fund,
    /// See [`ContributionData::earmark`].
    pub earmark: Option<String>,
    /// Amount and currency.
    pub amount: (Decimal, String),
    /// See [`ContributionData::year`].
    pub year: i32,
    /// See [`ContributionData::status`].
    pub status: ContributionStatus,
    /// See [`ContributionData::date`].
    pub date: Option<NaiveDate>,
}

/// Years a contribution may be for.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

impl ContributionData {
    /// A contribution read back from storage, where it was checked when it was recorded.
    pub fn stored(
        donor: String,
        fund: Fund,
        earmark: Option<String>,
        amount: Money,
        year: i32,
        status: ContributionStatus,
        date: Option<NaiveDate>,
    ) -> Self {
        ContributionData(ContributionFields {
            donor,
            fund,
            earmark,
            amount,
            year,
            status,
            date,
        })
    }

    /// Validates a contribution, naming every bad field.
    pub fn parse(input: ContributionSubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let donor = check_org_ref(&input.donor, "donor", &mut v).unwrap_or_default();
        let earmark = optional_text(input.earmark.as_deref(), "earmark", MAX_NAME_LEN, &mut v);
        match (input.fund, &earmark) {
            (Fund::SpecialPurpose, None) => {
                v.push("earmark", "a special-purpose contribution needs an earmark");
            }
            (Fund::GeneralPurpose, Some(_)) => {
                v.push("earmark", "general-purpose contributions are not earmarked");
            }
            _ => {}
        }
        let (amount, currency) = &input.amount;
        let amount = Money::parse(*amount, currency, "amount", &mut v);
        if amount.as_ref().is_some_and(|m| m.amount.is_zero()) {
            v.push("amount.amount", "must be more than zero");
        }
        check_date(input.date, "date", &mut v);
        if !YEARS.contains(&input.year) {
            v.push(
                "year",
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            );
        }
        match amount {
            Some(amount) if v.is_empty() => Ok(ContributionData(ContributionFields {
                donor,
                fund: input.fund,
                earmark,
                amount,
                year: input.year,
                status: input.status,
                date: input.date,
            })),
            _ => Err(v),
        }
    }
}

/// A valid coordination mechanism. Made only by [`MechanismData::parse`] (or read back from
/// storage), so holding one means it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MechanismData(MechanismFields);

read_only!(MechanismData, MechanismFields);

/// The content of a valid coordination mechanism, read through [`MechanismData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MechanismFields {
    /// Its name.
    pub name: String,
    /// Local, national, regional or multilateral.
    pub level: MechanismLevel,
    /// The countries it covers; none for a global multilateral mechanism.
    pub countries: Vec<String>,
    /// Member organisations (refs).
    pub members: Vec<String>,
    /// The chair, one of the members.
    pub chair: Option<String>,
    /// What it does.
    pub description: Option<String>,
}

/// A coordination mechanism as submitted; [`MechanismData::parse`] checks it.
#[derive(Debug, Clone)]
pub struct MechanismSubmission {
    /// See [`MechanismData::name`].
    pub name: String,
    /// See [`MechanismData::level`].
    pub level: MechanismLevel,
    /// See [`MechanismData::countries`].
    pub countries: Vec<String>,
    /// See [`MechanismData::members`].
    pub members: Vec<String>,
    /// See [`MechanismData::chair`].
    pub chair: Option<String>,
    /// See [`MechanismData::description`].
    pub description: Option<String>,
}

impl MechanismData {
    /// Validates a mechanism as submitted, normalising codes and naming every bad field.
    pub fn parse(input: MechanismSubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();
        let name = required_text(&input.name, "name", MAX_NAME_LEN, &mut v);
        if input.countries.len() > MAX_COUNTRIES {
            v.push(
                "countries",
                format!("must list at most {MAX_COUNTRIES} countries"),
            );
        }
        let mut countries: Vec<String> = Vec::new();
        for (i, c) in input.countries.iter().enumerate() {
            if let Some(c) = check_country(c, &format!("countries[{i}]"), &mut v)
                && !countries.contains(&c)
            {
                countries.push(c);
            }
        }
        match input.level {
            MechanismLevel::Local | MechanismLevel::National if countries.len() != 1 => {
                v.push(
                    "countries",
                    format!(
                        "a {} mechanism works in exactly one country",
                        input.level.as_str().to_lowercase()
                    ),
                );
            }
            MechanismLevel::Regional if countries.is_empty() => {
                v.push("countries", "a regional mechanism names its countries");
            }
            _ => {}
        }
        let members = org_refs(&input.members, "members", &mut v);
        let chair = input
            .chair
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|r| check_org_ref(r, "chair", &mut v));
        if let Some(chair) = &chair
            && !members.contains(chair)
        {
            v.push("chair", format!("`{chair}` must also be listed in members"));
        }
        let description = optional_text(
            input.description.as_deref(),
            "description",
            MAX_DESCRIPTION_LEN,
            &mut v,
        );
        v.into_result(MechanismData(MechanismFields {
            name,
            level: input.level,
            countries,
            members,
            chair,
            description,
        }))
    }

    /// Whether the mechanism works in `country`: it lists it, or lists no country at all.
    pub fn covers_country(&self, country: &str) -> bool {
        self.countries.is_empty() || self.countries.iter().any(|c| c == country)
    }
}

#[cfg(test)]
mod tests;
