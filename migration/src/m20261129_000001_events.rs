//! The events table, which is also the work queue, and the attempt history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(pk_uuid(Events::Id))
                    .col(string_len(Events::Source, 64))
                    .col(string_len(Events::EventId, 255))
                    .col(string_len_null(Events::EventType, 255))
                    .col(blob(Events::Payload))
                    .col(blob(Events::PayloadSha256))
                    .col(text_null(Events::ContentType))
                    .col(big_integer(Events::ReceivedAt))
                    // pending | processing | processed | retrying | dead
                    .col(string_len(Events::Status, 16))
                    .col(integer(Events::Attempts).default(0))
                    // When the event is next due for a claim: now for a new
                    // event, the backoff for a retry, the lease's expiry for an
                    // event being processed. One column, so claiming is one
                    // index range scan.
                    .col(big_integer(Events::NextAttemptAt))
                    .col(uuid_null(Events::LeaseToken))
                    .col(string_len_null(Events::LeasedBy, 128))
                    .col(big_integer_null(Events::ProcessedAt))
                    .col(text_null(Events::LastError))
                    .to_owned(),
            )
            .await?;
        // Idempotency: one event per (source, event id), enforced by the database.
        manager
            .create_index(
                Index::create()
                    .name("events_source_event_id")
                    .table(Events::Table)
                    .col(Events::Source)
                    .col(Events::EventId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // The queue: only unfinished events, ordered by when they are due.
        // Partial indexes exist on both backends with this syntax.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS events_due ON events (next_attempt_at, id) \
                 WHERE status IN ('pending', 'retrying', 'processing')",
            )
            .await?;
        // FIFO sources: the oldest unfinished event of a source.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS events_fifo ON events (source, id) \
                 WHERE status IN ('pending', 'retrying', 'processing')",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventAttempts::Table)
                    .if_not_exists()
                    .col(uuid(EventAttempts::EventKey))
                    .col(integer(EventAttempts::Attempt))
                    .col(string_len(EventAttempts::Worker, 128))
                    .col(big_integer(EventAttempts::StartedAt))
                    .col(big_integer(EventAttempts::FinishedAt))
                    // succeeded | retrying | dead
                    .col(string_len(EventAttempts::Outcome, 16))
                    .col(text_null(EventAttempts::Error))
                    .primary_key(
                        Index::create()
                            .col(EventAttempts::EventKey)
                            .col(EventAttempts::Attempt)
                            .col(EventAttempts::StartedAt),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventAttempts::Table, EventAttempts::EventKey)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventAttempts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Source,
    EventId,
    EventType,
    Payload,
    PayloadSha256,
    ContentType,
    ReceivedAt,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseToken,
    LeasedBy,
    ProcessedAt,
    LastError,
}

#[derive(DeriveIden)]
enum EventAttempts {
    Table,
    EventKey,
    Attempt,
    Worker,
    StartedAt,
    FinishedAt,
    Outcome,
    Error,
}
