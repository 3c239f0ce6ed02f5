//! hookd's database schema, one migration per change, for PostgreSQL and SQLite.
//!
//! Timestamps are `BIGINT` microseconds since the Unix epoch on both backends:
//! SQLite has no timestamp type, and integer keys compare and index the same
//! way everywhere, which the queue's `next_attempt_at <= now` relies on.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_events;
mod m20261130_000002_sources;
mod m20261130_000003_request_id;
mod m20261201_000004_recovery;
mod m20261202_000005_retention;
mod m20261202_000006_counters;
mod m20261203_000007_due_by_source;
mod m20261203_000008_sqlite_seq;
mod m20261203_000009_page_by_source;
mod m20261204_000010_success_on_event;

#[derive(Debug)]
pub struct Migrator;

/// Runs raw statements in order (the migrations written as SQL).
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(statement)
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_events::Migration),
            Box::new(m20261130_000002_sources::Migration),
            Box::new(m20261130_000003_request_id::Migration),
            Box::new(m20261201_000004_recovery::Migration),
            Box::new(m20261202_000005_retention::Migration),
            Box::new(m20261202_000006_counters::Migration),
            Box::new(m20261203_000007_due_by_source::Migration),
            Box::new(m20261203_000008_sqlite_seq::Migration),
            Box::new(m20261203_000009_page_by_source::Migration),
            Box::new(m20261204_000010_success_on_event::Migration),
        ]
    }
}
