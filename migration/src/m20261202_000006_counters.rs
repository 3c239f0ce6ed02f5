//! Counters that do not scan: `event_counters` holds the number of events per
//! (source, secret label, status, conflict), and `event_arrivals` the number
//! received per (source, minute). Triggers keep them exact through every
//! write (intake, claims, settlements, recovery, replay, retention), so
//! `GET /stats`, `GET /sources` and the gauges read a few rows instead of
//! grouping the events table.
//!
//! - PostgreSQL: statement-level triggers with transition tables append one
//!   delta row per group and statement. Nothing is updated in place, so
//!   concurrent writers never wait on a hot counter row nor deadlock; readers
//!   sum the rows, and a compaction folds them now and then (see the store).
//! - SQLite: row-level triggers upsert the one row of each key (a single
//!   writer: no contention).
//!
//! The label is stored as `''` when the event has none (a key column).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS event_counters (
        source VARCHAR(64) NOT NULL,
        secret_label VARCHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL,
        conflict BOOLEAN NOT NULL,
        events BIGINT NOT NULL,
        last_received_at BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS event_arrivals (
        source VARCHAR(64) NOT NULL,
        minute BIGINT NOT NULL,
        events BIGINT NOT NULL
    )",
];

/// Counts what is already there; runs once, with writes held off.
const BACKFILL: &[&str] = &[
    "INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
     SELECT source, COALESCE(secret_label, ''), status, conflict, COUNT(*), MAX(received_at)
     FROM events GROUP BY source, COALESCE(secret_label, ''), status, conflict",
    "INSERT INTO event_arrivals (source, minute, events)
     SELECT source, received_at / 60000000, COUNT(*) FROM events
     WHERE received_at >= (SELECT COALESCE(MAX(received_at), 0) FROM events) - 7200000000
     GROUP BY source, received_at / 60000000",
];

const POSTGRES_UP: &[&str] = &[
    "LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE",
    "CREATE INDEX IF NOT EXISTS event_arrivals_minute ON event_arrivals (minute)",
    "CREATE OR REPLACE FUNCTION hookd_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
       SELECT source, COALESCE(secret_label, ''), status, conflict, COUNT(*), MAX(received_at)
       FROM new_rows GROUP BY 1, 2, 3, 4;
       INSERT INTO event_arrivals (source, minute, events)
       SELECT source, received_at / 60000000, COUNT(*) FROM new_rows GROUP BY 1, 2;
       RETURN NULL;
     END $$",
    "CREATE OR REPLACE FUNCTION hookd_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
       SELECT source, label, status, conflict, SUM(n), MAX(received_at) FROM (
         SELECT source, COALESCE(secret_label, '') AS label, status, conflict, 1 AS n, received_at
         FROM new_rows
         UNION ALL
         SELECT source, COALESCE(secret_label, ''), status, conflict, -1, NULL FROM old_rows
       ) AS changed
       GROUP BY 1, 2, 3, 4 HAVING SUM(n) <> 0;
       RETURN NULL;
     END $$",
    "CREATE OR REPLACE FUNCTION hookd_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
       SELECT source, COALESCE(secret_label, ''), status, conflict, -COUNT(*), NULL
       FROM old_rows GROUP BY 1, 2, 3, 4;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER events_count_inserted AFTER INSERT ON events
     REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookd_count_inserted()",
    "CREATE TRIGGER events_count_updated AFTER UPDATE ON events
     REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION hookd_count_updated()",
    "CREATE TRIGGER events_count_deleted AFTER DELETE ON events
     REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookd_count_deleted()",
];

const SQLITE_UP: &[&str] = &[
    "CREATE UNIQUE INDEX IF NOT EXISTS event_counters_key
     ON event_counters (source, secret_label, status, conflict)",
    "CREATE UNIQUE INDEX IF NOT EXISTS event_arrivals_key ON event_arrivals (source, minute)",
    "CREATE INDEX IF NOT EXISTS event_arrivals_minute ON event_arrivals (minute)",
    "CREATE TRIGGER IF NOT EXISTS events_count_inserted AFTER INSERT ON events BEGIN
       INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
       VALUES (NEW.source, COALESCE(NEW.secret_label, ''), NEW.status, NEW.conflict, 1, NEW.received_at)
       ON CONFLICT (source, secret_label, status, conflict) DO UPDATE SET events = events + 1,
         last_received_at = MAX(COALESCE(last_received_at, 0), excluded.last_received_at);
       INSERT INTO event_arrivals (source, minute, events)
       VALUES (NEW.source, NEW.received_at / 60000000, 1)
       ON CONFLICT (source, minute) DO UPDATE SET events = events + 1;
     END",
    "CREATE TRIGGER IF NOT EXISTS events_count_updated AFTER UPDATE ON events
     WHEN OLD.status IS NOT NEW.status OR OLD.conflict IS NOT NEW.conflict
       OR OLD.source IS NOT NEW.source OR OLD.secret_label IS NOT NEW.secret_label BEGIN
       UPDATE event_counters SET events = events - 1
       WHERE source = OLD.source AND secret_label = COALESCE(OLD.secret_label, '')
         AND status = OLD.status AND conflict = OLD.conflict;
       INSERT INTO event_counters (source, secret_label, status, conflict, events, last_received_at)
       VALUES (NEW.source, COALESCE(NEW.secret_label, ''), NEW.status, NEW.conflict, 1, NEW.received_at)
       ON CONFLICT (source, secret_label, status, conflict) DO UPDATE SET events = events + 1,
         last_received_at = MAX(COALESCE(last_received_at, 0), excluded.last_received_at);
     END",
    "CREATE TRIGGER IF NOT EXISTS events_count_deleted AFTER DELETE ON events BEGIN
       UPDATE event_counters SET events = events - 1
       WHERE source = OLD.source AND secret_label = COALESCE(OLD.secret_label, '')
         AND status = OLD.status AND conflict = OLD.conflict;
     END",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS events_count_inserted ON events",
    "DROP TRIGGER IF EXISTS events_count_updated ON events",
    "DROP TRIGGER IF EXISTS events_count_deleted ON events",
    "DROP FUNCTION IF EXISTS hookd_count_inserted()",
    "DROP FUNCTION IF EXISTS hookd_count_updated()",
    "DROP FUNCTION IF EXISTS hookd_count_deleted()",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS events_count_inserted",
    "DROP TRIGGER IF EXISTS events_count_updated",
    "DROP TRIGGER IF EXISTS events_count_deleted",
];

const COMMON_DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS event_arrivals",
    "DROP TABLE IF EXISTS event_counters",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        run(manager, TABLES).await?;
        if postgres {
            // The lock comes first: no write may slip between the backfill
            // and the triggers (the migration is one transaction).
            run(manager, POSTGRES_UP).await?;
            run(manager, BACKFILL).await
        } else {
            run(manager, BACKFILL).await?;
            run(manager, SQLITE_UP).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        run(manager, statements).await?;
        run(manager, COMMON_DOWN).await
    }
}
