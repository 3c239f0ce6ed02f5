//! hookd's use cases, written against narrow ports.
//!
//! Each port is one capability (`EventStore` stores, `EventQueue` hands out
//! work, `EventHandler` does it...). Adapters implement them; use cases hold
//! them as `Arc<dyn Port>`; unit tests mock them with mockall.
#![forbid(unsafe_code)]

pub mod dashboard;
pub mod destinations;
pub mod ports;
pub mod process;
pub mod quarantine;
pub mod receive;
pub mod recover;
pub mod replay;
pub mod retention;
pub mod sources;
pub mod stats;

pub use dashboard::{EventPage, ListEvents, ListRejections, MAX_PAGE_SIZE, RejectionPage};
pub use destinations::{DestinationLimits, DestinationReport, Destinations};
pub use process::{BatchReport, Processor, ProcessorSettings};
pub use receive::{Receipt, ReceiveError, ReceiveWebhook};
pub use recover::RecoverLostLeases;
pub use replay::{ReplayError, ReplayEvents};
pub use retention::{RetentionPolicy, SweepFinishedEvents, SweepReport};
pub use sources::{SecretReport, SourceOverview, SourceReport};
pub use stats::{EventStatistics, StatsReport};
