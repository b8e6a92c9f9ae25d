//! Exchange rates: monthly `units_per_usd` per currency, loaded by admins, read into
//! [`Rates`] for conversions.

use crate::entities::exchange_rate;
use crate::error::StoreError;
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::rates::{MonthlyRate, Rates};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Stores `rates`, replacing the months they name.
pub async fn store(
    conn: &impl ConnectionTrait,
    rates: &[MonthlyRate],
) -> Result<usize, StoreError> {
    let now = Utc::now();
    for chunk in rates.chunks(500) {
        exchange_rate::Entity::insert_many(chunk.iter().map(|r| exchange_rate::ActiveModel {
            currency: Set(r.currency.clone()),
            month: Set(r.month.clone()),
            units_per_usd: Set(r.units_per_usd.to_string()),
            loaded_at: Set(now),
        }))
        .on_conflict(
            OnConflict::columns([
                exchange_rate::Column::Currency,
                exchange_rate::Column::Month,
            ])
            .update_columns([
                exchange_rate::Column::UnitsPerUsd,
                exchange_rate::Column::LoadedAt,
            ])
            .to_owned(),
        )
        .exec(conn)
        .await?;
    }
    Ok(rates.len())
}

fn monthly(m: exchange_rate::Model) -> Result<MonthlyRate, StoreError> {
    Ok(MonthlyRate {
        units_per_usd: m
            .units_per_usd
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("rate {} {}", m.currency, m.month)))?,
        currency: m.currency,
        month: m.month,
    })
}

/// Lists stored rates by currency and month.
pub async fn list(
    conn: &impl ConnectionTrait,
    currency: Option<&str>,
    year: Option<i32>,
    page: &PageRequest,
) -> Result<Page<MonthlyRate>, StoreError> {
    let mut cond = Condition::all();
    if let Some(c) = currency {
        cond = cond.add(exchange_rate::Column::Currency.eq(c.trim().to_ascii_uppercase()));
    }
    if let Some(y) = year {
        cond = cond.add(exchange_rate::Column::Month.starts_with(format!("{y:04}-")));
    }
    let total = page
        .total(conn, exchange_rate::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = exchange_rate::Entity::find().filter(cond);
    if let Some(after) = &page.after
        && let Some((c, m)) = after.key.split_once('|')
    {
        query = query.filter(
            Condition::any()
                .add(exchange_rate::Column::Currency.gt(c))
                .add(
                    Condition::all()
                        .add(exchange_rate::Column::Currency.eq(c))
                        .add(exchange_rate::Column::Month.gt(m)),
                ),
        );
    }
    let rows = query
        .order_by_asc(exchange_rate::Column::Currency)
        .order_by_asc(exchange_rate::Column::Month)
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(monthly)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: format!("{}|{}", r.currency, r.month),
        id: 0,
    }))
}

/// Every stored rate, as yearly means.
pub async fn all(conn: &impl ConnectionTrait) -> Result<Rates, StoreError> {
    let rows = exchange_rate::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(monthly)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rates::from_monthly(&rows))
}
