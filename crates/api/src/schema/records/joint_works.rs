//! Joint missions and analytic work.

use super::*;

macro_rules! joint_work_type {
    ($name:ident, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(pub JointWorkRecord);

        #[doc = $doc]
        #[Object]
        impl $name {
            /// Global id.
            pub async fn id(&self) -> ID {
                encode($kind, self.0.id)
            }

            /// What it was.
            async fn title(&self) -> &str {
                &self.0.data.title
            }

            /// The country, ISO 3166-1 alpha-2.
            async fn country(&self) -> &str {
                &self.0.data.country
            }

            /// The organisations taking part.
            #[graphql(
                complexity = "crate::schema::connection::UNPAGED_LIST_COST * child_complexity"
            )]
            async fn organisations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organisation>> {
                organisations_of(ctx, &self.0.data.organisations).await
            }

            /// The organisation on whose behalf it was done.
            async fn on_behalf_of(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
                organisation(ctx, self.0.data.on_behalf_of.as_ref()).await
            }

            /// Joint: two or more organisations took part, or one acted for another.
            async fn joint(&self) -> bool {
                self.0.data.joint()
            }

            /// First day.
            async fn start_date(&self) -> Date {
                self.0.data.start_date.into()
            }

            /// Last day.
            async fn end_date(&self) -> Option<Date> {
                self.0.data.end_date.map(Into::into)
            }

            /// Where the report is.
            async fn link(&self) -> Option<&str> {
                self.0.data.link.as_deref()
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
    };
}

joint_work_type!(
    Mission,
    Kind::Mission,
    "A mission to a country (Paris indicator 10a)."
);
joint_work_type!(
    AnalyticWork,
    Kind::AnalyticWork,
    "Country analytic work: diagnostic reviews, studies, assessments (Paris indicator 10b)."
);

/// A mission to record.
#[derive(InputObject, Debug, Clone)]
pub struct MissionInput {
    /// What it was.
    pub title: String,
    /// The country, ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisations taking part (refs).
    pub organisations: Vec<String>,
    /// The organisation on whose behalf it was done (ref).
    pub on_behalf_of: Option<String>,
    /// First day.
    pub start_date: Date,
    /// Last day.
    pub end_date: Option<Date>,
}

/// Analytic work to record.
#[derive(InputObject, Debug, Clone)]
pub struct AnalyticWorkInput {
    /// What it was.
    pub title: String,
    /// The country, ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisations taking part (refs).
    pub organisations: Vec<String>,
    /// The organisation on whose behalf it was done (ref).
    pub on_behalf_of: Option<String>,
    /// First day.
    pub start_date: Date,
    /// Last day.
    pub end_date: Option<Date>,
    /// Where the report is (http or https URL).
    pub link: Option<String>,
}

macro_rules! joint_work_filter {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(InputObject, Debug, Clone, Default)]
        pub struct $name {
            /// In this country.
            pub country: Option<String>,
            /// With this organisation taking part or acted for (ref).
            pub organisation: Option<String>,
            /// Starting in this year.
            pub year: Option<i32>,
            /// Joint or not.
            pub joint: Option<bool>,
        }

        impl From<$name> for records::JointWorkFilter {
            fn from(f: $name) -> Self {
                records::JointWorkFilter {
                    country: f.country,
                    organisation: f.organisation,
                    year: f.year,
                    joint: f.joint,
                }
            }
        }
    };
}

joint_work_filter!(MissionFilter, "Filters for missions.");
joint_work_filter!(AnalyticWorkFilter, "Filters for analytic work.");
