//! Reading stored events for the dashboard API.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{BodyDigest, Event, EventKey, EventStatus};

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub source: Option<String>,
    /// Only these sources (a token's restriction); `None`: every source.
    pub only_sources: Option<Vec<String>>,
    pub event_type: Option<String>,
    /// The sender's id.
    pub event_id: Option<String>,
    pub received_after: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
}

/// Where the next page starts: strictly older than this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub EventKey);

/// One event with everything stored about it.
#[derive(Debug, Clone)]
pub struct EventDetail {
    pub event: Event,
    pub body: Bytes,
    pub body_digest: BodyDigest,
    pub content_type: Option<String>,
    /// The `x-request-id` of the request that delivered it (joins the logs).
    pub request_id: Option<String>,
    /// Every attempt so far, oldest first.
    pub history: Vec<AttemptRecord>,
}

/// One recorded attempt at processing an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `succeeded`, `retrying` or `dead`.
    pub outcome: String,
    pub error: Option<String>,
}

/// Which finished events to re-queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayFilter {
    /// `processed` or `dead`; both when `None`.
    pub status: Option<EventStatus>,
    pub source: Option<String>,
    /// Only these sources (a token's restriction); `None`: every source.
    pub only_sources: Option<Vec<String>>,
    pub event_type: Option<String>,
    pub received_after: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
}

/// What replaying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    Requeued,
    NotFound,
    /// The event is not finished (pending, processing or retrying).
    NotReplayable(EventStatus),
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the event store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventQuery: Send + Sync {
    /// Up to `limit` events matching `filter`, newest first, strictly older
    /// than `after` when given (keyset pagination).
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn list(
        &self,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Event>, QueryError>;

    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn get(&self, key: EventKey) -> Result<Option<EventDetail>, QueryError>;
}

/// Re-queueing finished events for a new cycle (their history is kept).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventReplay: Send + Sync {
    /// Re-queues a `processed` or `dead` event: `pending`, attempts reset,
    /// due at `now`.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn replay_one(
        &self,
        key: EventKey,
        now: DateTime<Utc>,
    ) -> Result<ReplayOutcome, QueryError>;

    /// Re-queues every `processed` or `dead` event matching `filter`;
    /// returns how many.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn replay_matching(
        &self,
        filter: &ReplayFilter,
        now: DateTime<Utc>,
    ) -> Result<u64, QueryError>;
}
