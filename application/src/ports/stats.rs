//! Counting events for `GET /stats` and the metrics gauges.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::EventStatus;

use super::QueryError;

/// Events by source and status, and the age of the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// (source, status, count), every combination present.
    pub by_source_and_status: Vec<(String, EventStatus, u64)>,
    /// When the most overdue waiting (pending or retrying) event became due:
    /// a new event when it arrived, a retry when its backoff ended. May lie
    /// in the future when every waiting event is a retry not yet due.
    pub oldest_due_since: Option<DateTime<Utc>>,
}

/// What the metrics gauges show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueGauges {
    /// Pending and retrying events.
    pub waiting: u64,
    /// As in [`EventCounts::oldest_due_since`].
    pub oldest_due_since: Option<DateTime<Utc>>,
    pub dead: u64,
    /// Pending and retrying events per source.
    pub waiting_by_source: Vec<(String, u64)>,
}

/// Arrivals per minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    pub events: u64,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventStats: Send + Sync {
    /// Counts, over `only_sources` when given.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn counts(&self, only_sources: Option<Vec<String>>) -> Result<EventCounts, QueryError>;

    /// Waiting and dead events, from the maintained counters and the queue's
    /// partial index.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn queue_gauges(&self) -> Result<QueueGauges, QueryError>;

    /// Arrivals per minute since `since` (minutes without arrivals are absent).
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn per_minute(
        &self,
        since: DateTime<Utc>,
        only_sources: Option<Vec<String>>,
    ) -> Result<Vec<MinuteCount>, QueryError>;

    /// Folds the counters' accumulated changes and forgets arrivals older
    /// than the per-minute window, so that counting stays a few rows; safe
    /// to run from several instances at once. `now` is the current time.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn compact(&self, now: DateTime<Utc>) -> Result<(), QueryError>;
}
