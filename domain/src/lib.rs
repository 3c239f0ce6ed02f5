//! hookd's domain: the types and rules of receiving webhooks, with no I/O.
//!
//! Everything here is a plain value or a pure function. Time is passed in,
//! randomness is passed in, bytes are passed in; nothing here talks to a
//! network, a disk or a clock.
#![forbid(unsafe_code)]

pub mod breaker;
pub mod event;
pub mod event_id;
pub mod payload;
pub mod rate_limit;
pub mod rejection;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod source;

pub use breaker::{Admission, Breaker, BreakerPolicy, BreakerState, Transition};
pub use event::{BodyDigest, Event, EventKey, EventStatus, NewEvent};
pub use event_id::{EventId, EventIdError};
pub use payload::{Envelope, EnvelopeSpec, EventTypeSource, PayloadError};
pub use rate_limit::TokenBucket;
pub use rejection::{Rejection, RejectionReason};
pub use retry::{RetryDecision, RetryPolicy};
pub use secret::SigningSecret;
pub use signature::{Headers, SignatureError, SignatureScheme, Verified};
pub use source::{Source, SourceName, SourceNameError};
