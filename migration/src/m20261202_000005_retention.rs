//! Retention of dead events: `events_dead` finds the dead events whose last
//! attempt started (`claimed_at`) before a cutoff without scanning the table.
//! Processed events need no index of their own: retention finds them through
//! the primary key (UUIDv7 keys sort by arrival, and an event is processed
//! after it arrives).

use sea_orm_migration::prelude::*;

use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    // Dead events from before `claimed_at` existed: their lease's expiry is
    // the nearest time we have.
    "UPDATE events SET claimed_at = next_attempt_at WHERE status = 'dead' AND claimed_at IS NULL",
    "CREATE INDEX IF NOT EXISTS events_dead ON events (claimed_at) WHERE status = 'dead'",
];

const DOWN: &[&str] = &["DROP INDEX IF EXISTS events_dead"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, DOWN).await
    }
}
