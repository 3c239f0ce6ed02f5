//! The work queue: hands out due events under a lease and records outcomes.
//!
//! The queue is the events table itself, so an event is queued in the same
//! transaction that stores it.

use std::{fmt, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::EventKey;
use uuid::Uuid;

/// Proof that an attempt still owns an event. Every write about an attempt
/// carries it, so a worker whose lease expired (and whose event was claimed
/// again) changes nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(Uuid);

impl LeaseToken {
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseToken({})", self.0)
    }
}

/// An event handed to a worker for one attempt.
#[derive(Debug, Clone)]
pub struct ClaimedEvent {
    pub key: EventKey,
    pub source: String,
    pub event_id: String,
    pub event_type: Option<String>,
    pub body: Bytes,
    pub content_type: Option<String>,
    pub received_at: DateTime<Utc>,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub lease: LeaseToken,
    /// The `x-request-id` of the request that delivered the event.
    pub request_id: Option<String>,
}

/// How an attempt ended, as the queue must record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Succeeded,
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Dead {
        error: String,
    },
    /// The handler never ran (its destination was paused): the event goes
    /// back to the queue uncharged (its attempt count as before the claim,
    /// no history row), due at `until`.
    Deferred {
        until: DateTime<Utc>,
    },
}

/// One finished attempt.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub key: EventKey,
    pub lease: LeaseToken,
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub result: AttemptResult,
}

/// An attempt whose worker is gone: its lease expired, or the instance that
/// held it no longer shows that it is alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostLease {
    pub key: EventKey,
    pub lease: LeaseToken,
    /// The attempt that was lost (1-based).
    pub attempt: u32,
    /// Who held it.
    pub worker: String,
    /// When that attempt was claimed.
    pub started_at: DateTime<Utc>,
}

/// What becomes of an event whose attempt was lost: it is recorded in the
/// history as `lost`, and the event is retried or, its attempts used up, dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostSettlement {
    pub lost: LostLease,
    /// When the loss was found (the history row's end).
    pub found_at: DateTime<Utc>,
    /// `Retry` or `Dead`.
    pub result: AttemptResult,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventQueue: Send + Sync {
    /// Claims up to `limit` due events for `worker`: each is marked
    /// `processing`, its attempt count incremented, and leased until
    /// `now + lease` under a fresh [`LeaseToken`]. An event whose lease has
    /// expired is due again. Concurrent claims never return the same event.
    /// Events of the sources in `skip` are left in the queue.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn claim(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[String],
    ) -> Result<Vec<ClaimedEvent>, QueueError>;

    /// Records finished attempts. A settlement whose lease no longer holds
    /// is ignored. Returns how many settlements were applied.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn settle(&self, worker: &str, settlements: Vec<Settlement>)
    -> Result<usize, QueueError>;

    /// Extends the lease of the events in `keys` still held under `lease`
    /// until `until` (a heartbeat for long-running handlers). Returns how
    /// many leases were extended.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn extend(
        &self,
        lease: LeaseToken,
        keys: Vec<EventKey>,
        until: DateTime<Utc>,
    ) -> Result<usize, QueueError>;

    /// Gives back events still held under `lease` (at shutdown), so that
    /// another worker can claim them at once. Returns how many were released.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn release(
        &self,
        lease: LeaseToken,
        keys: Vec<EventKey>,
        now: DateTime<Utc>,
    ) -> Result<usize, QueueError>;

    /// Up to `limit` events in `processing` whose attempt is lost: the lease
    /// expired at `now`, or the instance holding it is gone (PostgreSQL: its
    /// liveness lock is no longer held; SQLite: any other instance, since
    /// this process holds the database exclusively).
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn lost_leases(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LostLease>, QueueError>;

    /// Records lost attempts (history outcome `lost`) and applies each
    /// result, fenced by the lost lease: an attempt that settled meanwhile
    /// is left alone. Returns how many were applied.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when the database cannot be reached.
    async fn settle_lost(&self, lost: Vec<LostSettlement>) -> Result<usize, QueueError>;
}
