//! The ports: what the use cases need from the outside world, one capability each.

mod auth;
mod clock;
mod handler;
mod query;
mod queue;
mod rejections;
mod retention;
mod stats;
mod store;
mod usage;

pub use auth::{AuthError, Principal, Scope, TokenVerifier};
pub use clock::{Clock, SystemClock};
pub use handler::{EventHandler, HandlerError};
pub use query::{
    AttemptRecord, Cursor, EventDetail, EventFilter, EventQuery, EventReplay, QueryError,
    ReplayFilter, ReplayOutcome,
};
pub use queue::{
    AttemptResult, ClaimedEvent, EventQueue, LeaseToken, LostLease, LostSettlement, QueueError,
    Settlement,
};
pub use rejections::{DiscardRejections, RejectionFilter, RejectionQuery, RejectionSink};
pub use retention::{Deleted, EventRetention, Finished};
pub use stats::{EventCounts, EventStats, MinuteCount, QueueGauges};
pub use store::{EventStore, Insertion, StoreError};
pub use usage::{SecretUsage, SecretUse};

#[cfg(any(test, feature = "mocks"))]
pub use {
    auth::MockTokenVerifier, clock::MockClock, handler::MockEventHandler, query::MockEventQuery,
    query::MockEventReplay, queue::MockEventQueue, stats::MockEventStats, store::MockEventStore,
};
#[cfg(any(test, feature = "mocks"))]
pub use {
    rejections::{MockRejectionQuery, MockRejectionSink},
    retention::MockEventRetention,
    usage::MockSecretUsage,
};
