//! Deleting finished events once they are old enough to forget.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::EventKey;

use super::QueryError;

/// The finished states retention deletes; unfinished events are never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finished {
    /// Aged by `processed_at`, when the successful attempt finished.
    Processed,
    /// Aged by when the last attempt started (`claimed_at`): a dead event's
    /// last attempt ends within one handler timeout of it.
    Dead,
}

impl Finished {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Dead => "dead",
        }
    }
}

/// What one bounded delete did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub events: u64,
    /// The greatest key deleted, to continue after (keys grow with arrival).
    pub last: Option<EventKey>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventRetention: Send + Sync {
    /// Deletes at most `limit` events in state `state` that finished before
    /// `before`, with keys after `after`, oldest key first, together with
    /// their attempt history; in one short transaction.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn delete_finished(
        &self,
        state: Finished,
        before: DateTime<Utc>,
        after: Option<EventKey>,
        limit: u32,
    ) -> Result<Deleted, QueryError>;
}
