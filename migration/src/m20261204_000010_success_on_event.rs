//! A first-class place for the one outcome nearly every event ends with.
//!
//! Recording a success used to write two rows: the `events` row (status
//! `processed`) and an `event_attempts` row. The second cost a fifth of the
//! database's work per processed event (BENCHMARKS.md, "Fifth round"). A
//! success is now recorded on the event itself — `succeeded_by` (the worker),
//! with `claimed_at` (when that attempt was claimed: its start in the
//! history), `processed_at` (when it ended) and `attempts` (its number) —
//! and `event_attempts` keeps the other outcomes (`retrying`, `dead`,
//! `lost`).
//!
//! `attempt_history` is the history as it always was: the rows of
//! `event_attempts` and each event's success. Readers use it; a replay
//! moves an event's success into `event_attempts` before the event starts
//! again. Successes recorded before this migration stay where they are, in
//! `event_attempts` (their events have no `succeeded_by`), so the view
//! shows each once and no data has to move.

use sea_orm_migration::prelude::*;

use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

const HISTORY: &str = "\
CREATE VIEW attempt_history AS
SELECT event_key, attempt, worker, started_at, finished_at, outcome, error
FROM event_attempts
UNION ALL
SELECT id, attempts, succeeded_by, claimed_at, processed_at, 'succeeded', NULL
FROM events
WHERE succeeded_by IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "ALTER TABLE events ADD COLUMN succeeded_by VARCHAR(128) NULL",
                HISTORY,
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            &[
                "INSERT INTO event_attempts \
                 (event_key, attempt, worker, started_at, finished_at, outcome, error) \
                 SELECT id, attempts, succeeded_by, claimed_at, processed_at, 'succeeded', NULL \
                 FROM events WHERE succeeded_by IS NOT NULL",
                "DROP VIEW IF EXISTS attempt_history",
                "ALTER TABLE events DROP COLUMN succeeded_by",
            ],
        )
        .await
    }
}
