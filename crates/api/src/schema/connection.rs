//! Relay connections: page-size limits, cursors and `totalCount`.

use crate::error::{ApiError, ApiResult};
use crate::ids::{decode_cursor, encode_cursor};
use aidgraph_persistence::{Page, PageRequest};
use async_graphql::connection::{Edge, EmptyFields, PageInfo};
use async_graphql::{Context, Object, OutputType};

/// Rows per page when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// What a list without pages (`checkOverlap { flags }`, `evaluations`, …) counts for in the
/// complexity limit: as many items as a default page, each costing its selection.
pub const UNPAGED_LIST_COST: usize = DEFAULT_PAGE_SIZE as usize;

/// A page of a list.
pub struct Conn<N: OutputType> {
    edges: Vec<Edge<String, N, EmptyFields>>,
    has_previous: bool,
    has_next: bool,
    /// How many records match, when the query selects it (lists count only then).
    total_count: Option<u64>,
}

/// A page of a list: its records (`nodes`, or `edges` with each one's cursor), where it starts
/// and ends and whether more follow (`pageInfo`), and how many records match in all
/// (`totalCount`). Ask for the next page with `after: pageInfo.endCursor`.
#[Object(
    concrete(name = "ActivityConnection", params(super::activity::Activity)),
    concrete(name = "AnalyticWorkConnection", params(super::records::AnalyticWork)),
    concrete(name = "ContributionConnection", params(super::records::Contribution)),
    concrete(
        name = "CoordinationMechanismConnection",
        params(super::records::CoordinationMechanism)
    ),
    concrete(name = "EvaluationConnection", params(super::records::Evaluation)),
    concrete(name = "ExchangeRateConnection", params(super::records::ExchangeRate)),
    concrete(name = "MissionConnection", params(super::records::Mission)),
    concrete(name = "NeedConnection", params(super::need::Need)),
    concrete(name = "NeedsAnalysisConnection", params(super::need::NeedsAnalysis)),
    concrete(
        name = "OrganisationConnection",
        params(super::organisation::Organisation)
    ),
    concrete(name = "OverlapFlagConnection", params(super::overlap::OverlapFlag))
)]
impl<N: OutputType> Conn<N> {
    /// Where this page starts and ends, and whether more follow.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous,
            has_next_page: self.has_next,
            start_cursor: self.edges.first().map(|e| e.cursor.clone()),
            end_cursor: self.edges.last().map(|e| e.cursor.clone()),
        }
    }

    /// The records of this page, each with its cursor.
    async fn edges(&self) -> &[Edge<String, N, EmptyFields>] {
        &self.edges
    }

    /// The records of this page.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// How many records match the filter in all.
    async fn total_count(&self) -> ApiResult<u64> {
        self.total_count.ok_or_else(|| {
            tracing::error!("totalCount was selected but the list was not counted");
            ApiError::Internal
        })
    }
}

/// Checks `first` and decodes `after`; the page is counted when the connection's
/// `totalCount` is selected.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<PageRequest> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(0..=MAX_PAGE_SIZE).contains(&first) {
        return Err(ApiError::bad_input(
            "first",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(PageRequest {
        first: first as u64,
        after: after.as_deref().map(decode_cursor).transpose()?,
        count: ctx.look_ahead().field("totalCount").exists(),
    })
}

/// Builds a connection from a page of records.
pub fn connection<R, N: OutputType>(page: Page<R>, node: impl Fn(R) -> N) -> Conn<N> {
    Conn {
        edges: page
            .items
            .into_iter()
            .map(|(cursor, record)| Edge::new(encode_cursor(&cursor), node(record)))
            .collect(),
        has_previous: page.has_previous,
        has_next: page.has_next,
        total_count: page.total,
    }
}
