//! Quarantine: recording rejected requests, and reading them back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{Rejection, RejectionReason};
use uuid::Uuid;

use super::QueryError;

/// Records a rejected request. Called on the request path, so it must not
/// block or fail: adapters buffer and write in the background, and drop a
/// record rather than slow intake down when the buffer is full.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RejectionSink: Send + Sync {
    fn record(&self, rejection: Rejection);
}

/// A sink that keeps nothing (quarantine disabled).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardRejections;

impl RejectionSink for DiscardRejections {
    fn record(&self, _: Rejection) {}
}

/// Which rejections to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionFilter {
    pub source: Option<String>,
    /// Only these sources (a token's restriction); `None`: every source.
    pub only_sources: Option<Vec<String>>,
    pub reason: Option<RejectionReason>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RejectionQuery: Send + Sync {
    /// Up to `limit` rejections matching `filter`, newest first, strictly
    /// older than the rejection `after` when given (keyset pagination).
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn list(
        &self,
        filter: &RejectionFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Rejection>, QueryError>;

    /// Deletes rejections received before `cutoff`; returns how many.
    ///
    /// # Errors
    /// [`QueryError::Unavailable`] when the database cannot be reached.
    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, QueryError>;
}
