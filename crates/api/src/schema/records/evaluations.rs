//! Evaluations and the lessons they hold.

use super::*;

/// Ratings on the OECD DAC criteria; null where not rated.
#[derive(SimpleObject, InputObject, Debug, Clone, Copy, Default)]
#[graphql(input_name = "DacRatingsInput")]
pub struct DacRatings {
    /// Relevance: doing the right things.
    pub relevance: Option<DacRating>,
    /// Coherence: fitting with other interventions.
    pub coherence: Option<DacRating>,
    /// Effectiveness: achieving its objectives.
    pub effectiveness: Option<DacRating>,
    /// Efficiency: using resources well.
    pub efficiency: Option<DacRating>,
    /// Impact: the difference it makes.
    pub impact: Option<DacRating>,
    /// Sustainability: whether the benefits last.
    pub sustainability: Option<DacRating>,
}

impl From<DacRatings> for DomainRatings {
    fn from(r: DacRatings) -> Self {
        DomainRatings {
            relevance: r.relevance.map(Into::into),
            coherence: r.coherence.map(Into::into),
            effectiveness: r.effectiveness.map(Into::into),
            efficiency: r.efficiency.map(Into::into),
            impact: r.impact.map(Into::into),
            sustainability: r.sustainability.map(Into::into),
        }
    }
}

impl From<&DomainRatings> for DacRatings {
    fn from(r: &DomainRatings) -> Self {
        DacRatings {
            relevance: r.relevance.map(Into::into),
            coherence: r.coherence.map(Into::into),
            effectiveness: r.effectiveness.map(Into::into),
            efficiency: r.efficiency.map(Into::into),
            impact: r.impact.map(Into::into),
            sustainability: r.sustainability.map(Into::into),
        }
    }
}

/// An evaluation of one or more activities: what worked and what did not.
pub struct Evaluation(pub EvaluationRecord);

/// An evaluation of one or more activities: what worked and what did not.
#[Object]
impl Evaluation {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Evaluation, self.0.id)
    }

    /// Title of the evaluation report.
    async fn title(&self) -> &str {
        &self.0.data.title
    }

    /// Who evaluated.
    async fn evaluator(&self) -> &str {
        &self.0.data.evaluator
    }

    /// When the evaluation was completed.
    async fn date(&self) -> Date {
        self.0.data.date.into()
    }

    /// Whether the evaluator is independent of the implementers.
    async fn independent(&self) -> bool {
        self.0.data.independent
    }

    /// Ratings on the OECD DAC criteria.
    async fn ratings(&self) -> DacRatings {
        (&self.0.data.ratings).into()
    }

    /// What worked.
    async fn what_worked(&self) -> Option<&str> {
        self.0.data.what_worked.as_deref()
    }

    /// What did not work.
    async fn what_did_not_work(&self) -> Option<&str> {
        self.0.data.what_did_not_work.as_deref()
    }

    /// Where the report is.
    async fn link(&self) -> Option<&str> {
        self.0.data.link.as_deref()
    }

    /// The activities evaluated.
    #[graphql(complexity = "crate::schema::connection::UNPAGED_LIST_COST * child_complexity")]
    async fn activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Activity>> {
        visible_activities(ctx, &self.0.activity_ids).await
    }

    /// Who recorded it (token subject).
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An evaluation to record.
#[derive(InputObject, Debug, Clone)]
pub struct EvaluationInput {
    /// The activities evaluated; a provider may name only activities it reports.
    pub activity_ids: Vec<ID>,
    /// Title of the evaluation report.
    pub title: String,
    /// Who evaluated.
    pub evaluator: String,
    /// When the evaluation was completed.
    pub date: Date,
    /// Whether the evaluator is independent of the implementers.
    pub independent: bool,
    /// Ratings on the OECD DAC criteria.
    pub ratings: Option<DacRatings>,
    /// What worked.
    pub what_worked: Option<String>,
    /// What did not work.
    pub what_did_not_work: Option<String>,
    /// Where the report is (http or https URL).
    pub link: Option<String>,
}

/// Filters for evaluation lists.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EvaluationFilter {
    /// Of activities on this provision, e.g. `UNTOC-18`.
    pub provision: Option<String>,
    /// Of activities under this priority area.
    pub priority_area: Option<PriorityArea>,
    /// Of activities in this country.
    pub country: Option<String>,
    /// Title, evaluator or lessons contain this text.
    pub text: Option<String>,
    /// Of this activity.
    pub activity_id: Option<ID>,
    /// Independent or not.
    pub independent: Option<bool>,
}

pub(super) fn canonical_provision(p: &str, field: &str) -> ApiResult<String> {
    aidgraph_domain::provision::Provision::parse(p)
        .map(|p| p.to_string())
        .map_err(|m| ApiError::bad_input(field, m))
}
