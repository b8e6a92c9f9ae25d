//! Contributions to funds.

use super::*;

/// A contribution to the coordinator's funds, pledged or paid.
pub struct Contribution(pub ContributionRecord);

/// A contribution to the coordinator's funds, pledged or paid.
#[Object]
impl Contribution {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Contribution, self.0.id)
    }

    /// The donor.
    async fn donor(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        organisation(ctx, Some(&self.0.data.donor))
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("organisation {}", self.0.data.donor)))
    }

    /// Which fund.
    async fn fund(&self) -> Fund {
        self.0.data.fund.into()
    }

    /// What a special-purpose contribution is earmarked for.
    async fn earmark(&self) -> Option<&str> {
        self.0.data.earmark.as_deref()
    }

    /// How much.
    async fn amount(&self) -> Money {
        (&self.0.data.amount).into()
    }

    /// The year it is for.
    async fn year(&self) -> i32 {
        self.0.data.year
    }

    /// Pledged or paid.
    async fn status(&self) -> ContributionStatus {
        self.0.data.status.into()
    }

    /// When it was pledged or paid.
    async fn date(&self) -> Option<Date> {
        self.0.data.date.map(Into::into)
    }

    /// Who recorded it.
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A contribution to record.
#[derive(InputObject, Debug, Clone)]
pub struct ContributionInput {
    /// The donor (organisation ref).
    pub donor: String,
    /// Which fund.
    pub fund: Fund,
    /// What it is earmarked for: required for special-purpose funds, refused for
    /// general-purpose.
    pub earmark: Option<String>,
    /// How much; more than zero.
    pub amount: MoneyInput,
    /// The year it is for.
    pub year: i32,
    /// Pledged or paid.
    pub status: ContributionStatus,
    /// When it was pledged or paid.
    pub date: Option<Date>,
}

/// Filters for contributions.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ContributionFilter {
    /// From this donor (ref).
    pub donor: Option<String>,
    /// For this year.
    pub year: Option<i32>,
    /// To this fund.
    pub fund: Option<Fund>,
    /// Pledged or paid.
    pub status: Option<ContributionStatus>,
}

impl From<ContributionFilter> for records::ContributionFilter {
    fn from(f: ContributionFilter) -> Self {
        records::ContributionFilter {
            donor: f.donor,
            year: f.year,
            fund: f.fund.map(Into::into),
            status: f.status.map(Into::into),
        }
    }
}
