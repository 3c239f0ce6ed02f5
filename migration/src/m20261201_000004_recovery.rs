//! Crash recovery and FIFO order:
//! - `lease_owner`: the claiming instance's liveness key (PostgreSQL: the
//!   session advisory lock it holds while alive), so that a survivor can tell
//!   a dead instance's leases from a live one's;
//! - `claimed_at`: when the current attempt started, for the history row of
//!   an attempt that is lost;
//! - `seq`: the queue position of FIFO sources, taken at insert (and again at
//!   replay, which sends an event to the back), replacing the UUID order;
//! - `events_leased`: the events in flight, for finding lost leases quickly;
//! - `dedupe_body`: for sources whose signature does not cover the event id,
//!   the body is unique per source too (`events_body_replay`), so a captured
//!   request resent under a fresh id is a replay, not a new event.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE events ADD COLUMN lease_owner BIGINT",
    "ALTER TABLE events ADD COLUMN claimed_at BIGINT",
    "CREATE SEQUENCE IF NOT EXISTS events_seq",
    "ALTER TABLE events ADD COLUMN seq BIGINT",
    // Existing events keep their arrival (id) order.
    "UPDATE events SET seq = ordered.n FROM \
     (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events) AS ordered \
     WHERE events.id = ordered.id",
    "SELECT setval('events_seq', COALESCE((SELECT MAX(seq) FROM events), 0) + 1, false)",
    "ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq')",
    "ALTER TABLE events ALTER COLUMN seq SET NOT NULL",
    "ALTER SEQUENCE events_seq OWNED BY events.seq",
];

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE events ADD COLUMN lease_owner BIGINT",
    "ALTER TABLE events ADD COLUMN claimed_at BIGINT",
    "ALTER TABLE events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
    // Rows were inserted in arrival order by the one writer.
    "UPDATE events SET seq = rowid",
];

const COMMON_UP: &[&str] = &[
    "ALTER TABLE events ADD COLUMN dedupe_body BOOLEAN NOT NULL DEFAULT FALSE",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_body_replay ON events (source, payload_sha256) \
     WHERE dedupe_body",
    "DROP INDEX IF EXISTS events_fifo",
    "CREATE INDEX IF NOT EXISTS events_fifo ON events (source, seq, id) \
     WHERE status IN ('pending', 'retrying', 'processing')",
    "CREATE INDEX IF NOT EXISTS events_leased ON events (next_attempt_at) \
     WHERE status = 'processing'",
];

const COMMON_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS events_body_replay",
    "ALTER TABLE events DROP COLUMN dedupe_body",
    "DROP INDEX IF EXISTS events_leased",
    "DROP INDEX IF EXISTS events_fifo",
    "ALTER TABLE events DROP COLUMN seq",
    "ALTER TABLE events DROP COLUMN claimed_at",
    "ALTER TABLE events DROP COLUMN lease_owner",
    "CREATE INDEX IF NOT EXISTS events_fifo ON events (source, id) \
     WHERE status IN ('pending', 'retrying', 'processing')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        run(manager, statements).await?;
        run(manager, COMMON_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, COMMON_DOWN).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            run(manager, &["DROP SEQUENCE IF EXISTS events_seq"]).await?;
        }
        Ok(())
    }
}
