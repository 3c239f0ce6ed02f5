//! A stored webhook event and its processing status.

use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{EventId, SourceName};

/// hookd's own identifier of a stored event: a UUIDv7, so it sorts by the
/// time it was received. (`EventId` is the sender's identifier.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey(Uuid);

impl EventKey {
    /// A fresh key for an event received now.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventKey({})", self.0)
    }
}

impl std::str::FromStr for EventKey {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// SHA-256 of a body as received; tells a true duplicate from an id reused
/// with other content.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    pub fn of(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for BodyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodyDigest({})", self.to_hex())
    }
}

/// Where an event is in its life.
///
/// `pending` → `processing` → `processed`; a failed attempt goes to
/// `retrying` (and later back to `processing`) or, when it cannot succeed,
/// to `dead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Pending,
    Processing,
    Processed,
    Retrying,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event status {0:?}")]
pub struct UnknownStatus(pub String);

impl EventStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Processing,
        Self::Processed,
        Self::Retrying,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Processed => "processed",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
        }
    }

    /// # Errors
    /// [`UnknownStatus`] for anything but the five status names.
    pub fn parse(raw: &str) -> Result<Self, UnknownStatus> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| UnknownStatus(raw.to_owned()))
    }

    /// Whether the event will not be processed again unless replayed.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Processed | Self::Dead)
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified event about to be stored and queued.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub key: EventKey,
    pub source: SourceName,
    pub event_id: EventId,
    pub event_type: Option<String>,
    /// The body exactly as received (shared, not copied).
    pub body: Bytes,
    pub body_digest: BodyDigest,
    pub content_type: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The label of the source's secret that verified it (for rotations).
    pub secret_label: Option<String>,
    /// The `x-request-id` of the request that delivered it, so the logs of
    /// its processing can be joined to the logs of its intake.
    pub request_id: Option<String>,
    /// Its source also deduplicates on the body: the same body under another
    /// event id is a replay, not a new event.
    pub dedupe_by_body: bool,
}

/// A stored event as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct Event {
    pub key: EventKey,
    pub source: String,
    pub event_id: String,
    pub event_type: Option<String>,
    pub status: EventStatus,
    pub attempts: u32,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The label of the secret that verified it; `None` for events stored before labels were.
    pub secret_label: Option<String>,
    /// Its id was later received with a different body: a security signal.
    pub conflict: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in EventStatus::ALL {
            assert_eq!(EventStatus::parse(status.as_str()), Ok(status));
        }
        assert!(EventStatus::parse("done").is_err());
    }

    #[test]
    fn only_processed_and_dead_are_final() {
        let finals: Vec<_> = EventStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [EventStatus::Processed, EventStatus::Dead]);
    }

    #[test]
    fn keys_generated_later_sort_later() {
        let first = EventKey::generate();
        let second = EventKey::generate();
        assert!(second > first);
    }

    #[test]
    fn the_body_digest_is_sha256() {
        assert_eq!(
            BodyDigest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
