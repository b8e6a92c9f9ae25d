//! Keyset pagination: a cursor is the sort key and id of the last row seen, so pages never
//! skip or repeat rows when others are inserted meanwhile.

/// The position after which a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The sort key (empty when ordering by id alone).
    pub key: String,
    /// The row id.
    pub id: i64,
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// At most this many rows (already bounded by the caller).
    pub first: u64,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// Whether to count the rows matching the filter (`totalCount`): a count reads every
    /// match, so lists count only when the caller asks.
    pub count: bool,
}

impl PageRequest {
    /// The first `first` rows after `after`, counted.
    pub fn new(first: u64, after: Option<Cursor>) -> Self {
        PageRequest {
            first,
            after,
            count: true,
        }
    }

    /// The number of rows `select` matches when this page counts them, else 0.
    pub async fn total<E: sea_orm::EntityTrait>(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        select: sea_orm::Select<E>,
    ) -> Result<u64, sea_orm::DbErr>
    where
        E::Model: Sync,
    {
        if self.count {
            sea_orm::PaginatorTrait::count(select, conn).await
        } else {
            Ok(0)
        }
    }
}

/// One page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows and their cursors.
    pub items: Vec<(Cursor, T)>,
    /// Whether more rows follow.
    pub has_next: bool,
    /// Whether rows come before this page.
    pub has_previous: bool,
    /// Rows matching the filter in all, when counted.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// Builds a page from `first + 1` rows read: the extra row only says that more follow.
    pub fn from_rows(
        mut rows: Vec<T>,
        request: &PageRequest,
        total: u64,
        cursor: impl Fn(&T) -> Cursor,
    ) -> Self {
        let has_next = rows.len() as u64 > request.first;
        rows.truncate(request.first as usize);
        Page {
            items: rows.into_iter().map(|r| (cursor(&r), r)).collect(),
            has_next,
            has_previous: request.after.is_some(),
            total: request.count.then_some(total),
        }
    }
}
