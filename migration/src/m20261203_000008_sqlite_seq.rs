//! SQLite: an index on `seq`, so that a starting process finds the next queue
//! position (`SELECT MAX(seq) FROM events`) in the index instead of scanning
//! the table (80 s on ten million events). `seq` only grows, so the index is
//! appended to like the primary key. PostgreSQL takes positions from the
//! `events_seq` sequence and needs none.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX IF NOT EXISTS events_seq_max ON events (seq)")
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS events_seq_max")
            .await
            .map(drop)
    }
}
