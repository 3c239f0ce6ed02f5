//! Reading stored events for the dashboard API.

use async_trait::async_trait;
use bytes::Bytes;
use domain::{BodyDigest, Event, EventKey, EventStatus};

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub source: Option<String>,
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
