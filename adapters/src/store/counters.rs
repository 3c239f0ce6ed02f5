//! The maintained counters (see migration `m20261202_000006_counters`):
//! `event_counters` by (source, label, status, conflict) and
//! `event_arrivals` by (source, minute). Reads sum their rows, so they work
//! the same whether or not the rows were compacted.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use super::time::to_micros;

pub(super) const MICROS_PER_MINUTE: i64 = 60_000_000;
/// Per-minute arrivals are kept this many minutes (`GET /stats` shows 60).
const ARRIVAL_MINUTES_KEPT: i64 = 120;

/// PostgreSQL: folds the delta rows the triggers appended into one row per
/// key. A concurrent compaction skips the rows this one deleted, and deltas
/// appended meanwhile are not in this statement's snapshot: nothing is
/// counted twice or lost.
const COMPACT_COUNTERS: &str = "\
WITH gone AS (DELETE FROM event_counters RETURNING *)
INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
SELECT source, secret_label, status, conflict, SUM(events), MAX(last_received_at)
FROM gone GROUP BY source, secret_label, status, conflict";

const COMPACT_ARRIVALS: &str = "\
WITH gone AS (DELETE FROM event_arrivals RETURNING *)
INSERT INTO event_arrivals (source, minute, events)
SELECT source, minute, SUM(events) FROM gone WHERE minute >= $1 GROUP BY source, minute";

/// See [`application::ports::EventStats::compact`].
pub(super) async fn compact(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    let oldest_minute = to_micros(now) / MICROS_PER_MINUTE - ARRIVAL_MINUTES_KEPT;
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(COMPACT_COUNTERS).await?;
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                COMPACT_ARRIVALS,
                [Value::from(oldest_minute)],
            ))
            .await?;
        }
        // SQLite's triggers keep one row per key already.
        backend => {
            db.execute_raw(statement(
                backend,
                "DELETE FROM event_arrivals WHERE minute < $1",
                vec![oldest_minute.into()],
            ))
            .await?;
        }
    }
    Ok(())
}

/// `AND source IN (…)` for a restricted caller, with its values.
pub(super) fn only(sources: Option<&[String]>, first: usize) -> (String, Vec<Value>) {
    match sources {
        None => (String::new(), Vec::new()),
        Some(sources) => {
            let placeholders: Vec<String> = (0..sources.len())
                .map(|n| format!("${}", first + n))
                .collect();
            let clause = if sources.is_empty() {
                " AND FALSE".to_owned()
            } else {
                format!(" AND source IN ({})", placeholders.join(", "))
            };
            (
                clause,
                sources.iter().map(|s| Value::from(s.clone())).collect(),
            )
        }
    }
}

/// A statement written with `$n` placeholders, for either backend (SQLite
/// numbers its `?NNN` parameters the same way).
pub(super) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}
