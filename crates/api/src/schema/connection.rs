//! Relay connections: page-size limits, cursors and `totalCount`.

use crate::error::{ApiError, ApiResult};
use crate::ids::{decode_cursor, encode_cursor};
use aidgraph_persistence::{Page, PageRequest};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, OutputType};

/// Rows per page when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// What a list without pages (`checkOverlap { flags }`, `evaluations`, …) counts for in the
/// complexity limit: as many items as a default page, each costing its selection.
pub const UNPAGED_LIST_COST: usize = DEFAULT_PAGE_SIZE as usize;

/// Fields every connection has beside edges and page info.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionFields {
    /// How many records match, when the query selects it (lists count only then).
    total_count: Option<u64>,
}

#[Object]
impl ConnectionFields {
    /// How many records match the filter in all.
    async fn total_count(&self) -> ApiResult<u64> {
        self.total_count.ok_or_else(|| {
            tracing::error!("totalCount was selected but the list was not counted");
            ApiError::Internal
        })
    }
}

/// A connection of `N` with opaque string cursors.
pub type Conn<N> = Connection<String, N, ConnectionFields>;

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
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionFields {
            total_count: page.total,
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, record)| Edge::new(encode_cursor(&cursor), node(record))),
    );
    conn
}
