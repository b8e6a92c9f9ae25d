//! Writing flag rows, for the request path (a change refreshes its activity's flags) and the
//! recomputation alike: new flags in multi-row statements, a changed flag in place (its review
//! reopened when the pair's inputs changed), and the events that announce them.

use crate::entities::{coordination_edge, overlap_flag, overlap_flag_country};
use crate::error::StoreError;
use crate::events::{self, Topic};
use aidgraph_domain::overlap::config::DEFAULT;
use aidgraph_domain::overlap::groups::EdgeSource;
use aidgraph_domain::vocab::{OverlapClass, ReviewStatus};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set,
};
use sea_orm::{ActiveValue, Statement};
use std::collections::HashMap;

/// A new flag as [`insert_flags`] writes it, with its texts owned or borrowed.
pub struct NewFlag<S> {
    /// The two activities, lower id first.
    pub pair: (i64, i64),
    /// 0–100.
    pub score: u8,
    /// The class.
    pub class: OverlapClass,
    /// The components as JSON.
    pub components: S,
    /// The pair's input hash.
    pub hash: S,
}

/// JSON text of strings and lists of strings, which always serialise.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Inserts new flags in one statement, returning their ids in order. A recomputation may
/// write millions of flags, and a statement with a parameter per value costs more to build
/// and bind than to run, so the rows travel in a few large parameters.
///
/// On SQLite the rows are one JSON parameter which the database takes apart, and the
/// components, the bulk of each row, travel apart from it: all of them in one blob
/// parameter, each row giving where its own begin and how long they are. Taking them out of
/// the JSON spares the database parsing them and writing them back out as text, which was a
/// quarter of its work in a recomputation. The ids are given rather than read back (each
/// row read back is a message from the database thread): the transaction holds the only
/// write lock, so the ids after the largest ever used (`sqlite_sequence`, as AUTOINCREMENT
/// keeps it) are free. Another process writing meanwhile makes the insert fail rather than
/// collide.
///
/// On PostgreSQL each column travels as an array, bound in binary, which the database reads
/// as it is (rows in JSON were lexed again for each field taken out, a third of its work in a
/// recomputation), and unnests in the select list, side by side, rather than in `FROM`,
/// which would first copy the rows into a temporary file.
pub async fn insert_flags(
    conn: &impl ConnectionTrait,
    flags: &[NewFlag<impl AsRef<str>>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if flags.is_empty() {
        return Ok(Vec::new());
    }
    let open = ReviewStatus::Open.as_str();
    let backend = conn.get_database_backend();
    if backend == DatabaseBackend::Sqlite {
        let (rows, components) = sqlite_rows(flags);
        let row = conn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'overlap_flags'), 0), \
                 COALESCE((SELECT MAX(id) FROM overlap_flags), 0))",
            ))
            .await?;
        let first = row
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0)
            + 1;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT OR FAIL INTO overlap_flags (id, activity_a_id, activity_b_id, score, class, \
             components, config_version, input_hash, status, raised_at, updated_at) \
             SELECT ?1 + key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
             CAST(substr(?6, value ->> 4, value ->> 5) AS TEXT), ?2, value ->> 6, ?3, ?4, ?4 \
             FROM jsonb_each(?5)",
            [
                first.into(),
                DEFAULT.version.into(),
                open.into(),
                now.into(),
                rows.into(),
                components.into(),
            ],
        ))
        .await?;
        return Ok((first..).take(flags.len()).collect());
    }
    let a: Vec<i64> = flags.iter().map(|f| f.pair.0).collect();
    let b: Vec<i64> = flags.iter().map(|f| f.pair.1).collect();
    let score: Vec<i32> = flags.iter().map(|f| i32::from(f.score)).collect();
    let class: Vec<String> = flags.iter().map(|f| f.class.as_str().to_owned()).collect();
    let components: Vec<String> = flags
        .iter()
        .map(|f| f.components.as_ref().to_owned())
        .collect();
    let hash: Vec<String> = flags.iter().map(|f| f.hash.as_ref().to_owned()).collect();
    let returned = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO overlap_flags (activity_a_id, activity_b_id, score, class, components, \
             config_version, input_hash, status, raised_at, updated_at) \
             SELECT unnest($4::bigint[]), unnest($5::bigint[]), unnest($6::integer[]), \
             unnest($7::text[]), unnest($8::text[]), $1, unnest($9::text[]), $2, $3, $3 \
             RETURNING id, activity_a_id, activity_b_id",
            [
                DEFAULT.version.into(),
                open.into(),
                now.into(),
                a.into(),
                b.into(),
                score.into(),
                class.into(),
                components.into(),
                hash.into(),
            ],
        ))
        .await?;
    let mut ids = HashMap::with_capacity(returned.len());
    for row in returned {
        let id: i64 = row.try_get_by_index(0)?;
        let a: i64 = row.try_get_by_index(1)?;
        let b: i64 = row.try_get_by_index(2)?;
        ids.insert((a, b), id);
    }
    flags
        .iter()
        .map(|f| {
            ids.get(&f.pair)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no id for flag {:?}", f.pair)))
        })
        .collect()
}

/// Flags as SQLite's insert takes them: one JSON array of rows `[a, b, score, class,
/// components' first byte (from 1), their length, input hash]`, and the components of all
/// of them in one blob.
fn sqlite_rows<S: AsRef<str>>(flags: &[NewFlag<S>]) -> (String, Vec<u8>) {
    use std::fmt::Write;
    let size: usize = flags.iter().map(|f| f.hash.as_ref().len() + 80).sum();
    let mut rows = String::with_capacity(size + 2);
    let mut components =
        Vec::with_capacity(flags.iter().map(|f| f.components.as_ref().len()).sum());
    rows.push('[');
    for (k, f) in flags.iter().enumerate() {
        if k > 0 {
            rows.push(',');
        }
        let _ = write!(
            rows,
            "[{},{},{},\"{}\",{},{},\"{}\"]",
            f.pair.0,
            f.pair.1,
            f.score,
            f.class.as_str(),
            components.len() + 1,
            f.components.as_ref().len(),
            f.hash.as_ref()
        );
        components.extend_from_slice(f.components.as_ref().as_bytes());
    }
    rows.push(']');
    (rows, components)
}

/// Rewrites stored flag `id` with `flag`'s score, class, components and input hash. When the
/// pair's inputs changed, an earlier review no longer applies: it is reset, and the
/// coordination edge it made goes. The flag's countries are deleted, for
/// [`record_written`] to write again.
pub async fn update_flag(
    conn: &impl ConnectionTrait,
    id: i64,
    inputs_changed: bool,
    flag: &NewFlag<impl AsRef<str>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut active = overlap_flag::ActiveModel {
        id: ActiveValue::Unchanged(id),
        ..Default::default()
    };
    if inputs_changed {
        coordination_edge::Entity::delete_many()
            .filter(coordination_edge::Column::Source.eq(EdgeSource::Review(id).to_string()))
            .exec(conn)
            .await?;
        active.status = Set(ReviewStatus::Open.as_str().to_owned());
        active.reviewed_by = Set(None);
        active.note = Set(None);
        active.reviewed_at = Set(None);
    }
    active.score = Set(i32::from(flag.score));
    active.class = Set(flag.class.as_str().to_owned());
    active.components = Set(flag.components.as_ref().to_owned());
    active.config_version = Set(DEFAULT.version.to_owned());
    active.input_hash = Set(flag.hash.as_ref().to_owned());
    active.updated_at = Set(now);
    active.update(conn).await?;
    overlap_flag_country::Entity::delete_many()
        .filter(overlap_flag_country::Column::FlagId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Writes the countries of flags just written and their change events (one outbox row for
/// all): `written` holds each flag's id, shared countries and two reporting organisations, the
/// last two as JSON arrays.
pub async fn record_written(
    conn: &impl ConnectionTrait,
    written: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    if written.is_empty() {
        return Ok(());
    }
    // The events' `[id, [countries], [providers]], …`.
    use std::fmt::Write;
    let size: usize = written.iter().map(|(_, c, p)| c.len() + p.len() + 24).sum();
    let mut items = String::with_capacity(size);
    for (k, (id, c, p)) in written.iter().enumerate() {
        if k > 0 {
            items.push(',');
        }
        let _ = write!(items, "[{id},{c},{p}]");
    }
    let backend = conn.get_database_backend();
    let insert = if backend == DatabaseBackend::Postgres {
        // A row per flag and country, as two arrays.
        let (mut ids, mut codes) = (Vec::new(), Vec::new());
        for (id, c, _) in written {
            let countries: Vec<String> = serde_json::from_str(c)
                .map_err(|e| StoreError::Corrupt(format!("flag countries {c}: {e}")))?;
            ids.extend(std::iter::repeat_n(*id, countries.len()));
            codes.extend(countries);
        }
        Statement::from_sql_and_values(
            backend,
            "INSERT INTO overlap_flag_countries (flag_id, code) \
             SELECT unnest($1::bigint[]), unnest($2::text[])",
            [ids.into(), codes.into()],
        )
    } else {
        // `[[id, [countries]], …]`
        let mut countries = String::with_capacity(size + 2);
        countries.push('[');
        for (k, (id, c, _)) in written.iter().enumerate() {
            if k > 0 {
                countries.push(',');
            }
            let _ = write!(countries, "[{id},{c}]");
        }
        countries.push(']');
        Statement::from_sql_and_values(
            backend,
            "INSERT OR FAIL INTO overlap_flag_countries (flag_id, code) \
             SELECT f.value ->> 0, c.value FROM jsonb_each(?1) AS f, \
             json_each(f.value, '$[1]') AS c",
            [countries.into()],
        )
    };
    conn.execute_raw(insert).await?;
    events::record_batch(conn, Topic::OverlapFlag, &items).await
}
