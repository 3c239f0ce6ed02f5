//! Which secret verified how many stored events: for retiring old secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::QueryError;

/// Stored events of one source verified by one secret label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub source: String,
    /// `None` for events stored before labels were recorded.
    pub label: Option<String>,
    pub events: u64,
    /// How many of them had their id replayed with another body.
    pub conflicts: u64,
    pub last_received_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SecretUsage: Send + Sync {
    /// One row per (source, label) that has stored events. Derived from the
    /// stored events, so it holds across restarts and replicas.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn usage(&self) -> Result<Vec<SecretUse>, QueryError>;
}
