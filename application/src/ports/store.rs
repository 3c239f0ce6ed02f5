//! Storing a verified event and queueing it, atomically.

use async_trait::async_trait;
use domain::{EventKey, NewEvent};

/// What happened to an event handed to [`EventStore::insert_if_absent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// The event is stored and queued: it is durable once this is returned.
    Inserted(EventKey),
    /// The source already had an event with this id; nothing was written.
    Duplicate {
        /// The key of the event stored first.
        existing: EventKey,
        /// Whether the stored body is byte-identical to this one.
        same_body: bool,
    },
    /// The source deduplicates by body, and this body is stored already under
    /// another event id: a captured request resent with a fresh id. Nothing
    /// was written but the stored event's conflict flag.
    Replayed {
        /// The key of the event stored with this body.
        existing: EventKey,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time; the caller may retry later.
    #[error("the event store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The write side of ingestion.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores `event` and queues it for processing in one transaction,
    /// unless the source already has an event with the same id.
    ///
    /// Concurrent calls with the same (source, event id) insert exactly one
    /// row. Adapters may batch concurrent calls into one commit; each call
    /// returns only once its own event is committed.
    ///
    /// # Errors
    /// MUST return [`StoreError::Unavailable`] when the database cannot be
    /// reached or a connection cannot be acquired within the configured
    /// timeout; [`StoreError::Unknown`] for anything else.
    async fn insert_if_absent(&self, event: NewEvent) -> Result<Insertion, StoreError>;

    /// Whether the database answers (readiness).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}
