//! Receiving a webhook: verify, extract, store once, wake a worker.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{
    BodyDigest, EventId, EventKey, Headers, NewEvent, PayloadError, RejectionReason,
    SignatureError, SignatureScheme, Source, payload::parse_envelope,
    signature::DEFAULT_MAX_CANDIDATES,
};
use tokio::sync::Notify;

use crate::{
    ports::{Clock, EventStore, Insertion, StoreError},
    quarantine::{Quarantine, Rejected},
};

/// The answer to a sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// First delivery: stored and queued (202).
    Accepted {
        key: EventKey,
        event_id: EventId,
        /// The label of the secret that verified the request.
        secret_label: Option<String>,
    },
    /// A later delivery of a stored event: not processed again (200).
    Duplicate {
        key: EventKey,
        event_id: EventId,
        /// The same id came with a different body.
        conflict: bool,
        secret_label: Option<String>,
    },
    /// A verified Slack `url_verification` handshake: answer its challenge
    /// (200); nothing is stored.
    Challenge { challenge: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("no source is configured under this name")]
    UnknownSource,
    #[error(transparent)]
    InvalidSignature(#[from] SignatureError),
    #[error(transparent)]
    InvalidPayload(#[from] PayloadError),
    #[error("the event store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

impl ReceiveError {
    /// Why quarantine records this refusal; `None` for our own failures.
    fn rejection_reason(&self) -> Option<RejectionReason> {
        match self {
            Self::UnknownSource => Some(RejectionReason::UnknownSource),
            Self::InvalidSignature(err) => Some(RejectionReason::from(*err)),
            Self::InvalidPayload(err) => Some(RejectionReason::from(err)),
            Self::Unavailable(_) | Self::Unknown(_) => None,
        }
    }
}

impl From<StoreError> for ReceiveError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Unknown(cause) => Self::Unknown(cause),
        }
    }
}

/// Longest `x-request-id` kept with an event; a longer one is not stored.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// A request the HTTP edge refused before reading (all of) its body.
pub struct EdgeRefusal<'a> {
    pub source: &'a str,
    pub reason: RejectionReason,
    pub headers: &'a dyn Headers,
    pub remote_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for EdgeRefusal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be signatures: never shown.
        f.debug_struct("EdgeRefusal")
            .field("source", &self.source)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Longest Slack challenge echoed back; Slack's are under 100 characters.
const MAX_CHALLENGE_CHARS: usize = 256;

/// The `challenge` of a Slack `url_verification` body, if it is one.
/// See <https://api.slack.com/events/url_verification>.
fn slack_challenge(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Handshake {
        #[serde(rename = "type")]
        kind: String,
        challenge: String,
    }
    // Cheap test first: ordinary events skip the second parse.
    if !body.windows(16).any(|w| w == b"url_verification") {
        return None;
    }
    let handshake: Handshake = serde_json::from_slice(body).ok()?;
    (handshake.kind == "url_verification"
        && !handshake.challenge.is_empty()
        && handshake.challenge.chars().count() <= MAX_CHALLENGE_CHARS)
        .then_some(handshake.challenge)
}

/// A request as the HTTP edge hands it over.
pub struct Delivery<'a> {
    pub source: &'a str,
    pub headers: &'a (dyn Headers + Sync),
    pub body: Bytes,
    /// The peer's address, for quarantine records.
    pub remote_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may carry signatures and tokens: never shown.
        f.debug_struct("Delivery")
            .field("source", &self.source)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

pub struct ReceiveWebhook {
    sources: HashMap<String, Source>,
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    new_work: Arc<Notify>,
    quarantine: Quarantine,
    max_signature_candidates: usize,
}

impl std::fmt::Debug for ReceiveWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveWebhook")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ReceiveWebhook {
    pub fn new(
        sources: impl IntoIterator<Item = Source>,
        store: Arc<dyn EventStore>,
        clock: Arc<dyn Clock>,
        new_work: Arc<Notify>,
    ) -> Self {
        let sources = sources
            .into_iter()
            .map(|source| (source.name.as_str().to_owned(), source))
            .collect();
        Self {
            sources,
            store,
            clock,
            new_work,
            quarantine: Quarantine::default(),
            max_signature_candidates: DEFAULT_MAX_CANDIDATES,
        }
    }

    /// Refuses requests offering more signatures than `max` before checking
    /// any (default [`DEFAULT_MAX_CANDIDATES`]).
    #[must_use]
    pub fn with_max_signature_candidates(mut self, max: usize) -> Self {
        self.max_signature_candidates = max;
        self
    }

    /// Records a request refused at the HTTP edge, before this use case
    /// ran (too large, wrong type, too slow, shed), under the same cap.
    pub fn record_refusal(&self, refusal: &EdgeRefusal<'_>) {
        self.quarantine.record(&Rejected {
            source: refusal.source,
            known_source: self.sources.contains_key(refusal.source),
            reason: refusal.reason,
            headers: refusal.headers,
            body: b"",
            remote_addr: refusal.remote_addr,
            now: self.clock.now(),
        });
    }

    /// Records rejected requests in `quarantine` (by default, none are).
    #[must_use]
    pub fn with_quarantine(mut self, quarantine: Quarantine) -> Self {
        self.quarantine = quarantine;
        self
    }

    /// Verifies the signature over the raw bytes, then reads the event id,
    /// then stores the event unless the source already has it. A refused
    /// request is recorded in quarantine.
    ///
    /// # Errors
    /// [`ReceiveError`] says why the request is refused; nothing is stored then.
    #[tracing::instrument(skip_all, fields(source = delivery.source, event_id))]
    pub async fn execute(&self, delivery: Delivery<'_>) -> Result<Receipt, ReceiveError> {
        let now = self.clock.now();
        let result = self.receive(&delivery, now).await;
        if let Err(err) = &result
            && let Some(reason) = err.rejection_reason()
        {
            self.quarantine.record(&Rejected {
                source: delivery.source,
                known_source: self.sources.contains_key(delivery.source),
                reason,
                headers: delivery.headers,
                body: &delivery.body,
                remote_addr: delivery.remote_addr,
                now,
            });
        }
        result
    }

    async fn receive(
        &self,
        delivery: &Delivery<'_>,
        now: DateTime<Utc>,
    ) -> Result<Receipt, ReceiveError> {
        let source = self
            .sources
            .get(delivery.source)
            .ok_or(ReceiveError::UnknownSource)?;
        let verified = source.scheme.verify_bounded(
            &source.secrets,
            delivery.headers,
            &delivery.body,
            now,
            self.max_signature_candidates,
        )?;
        if matches!(source.scheme, SignatureScheme::Slack { .. })
            && let Some(challenge) = slack_challenge(&delivery.body)
        {
            return Ok(Receipt::Challenge { challenge });
        }
        // Only a verified body is parsed, and only for the fields we need.
        let envelope = parse_envelope(&delivery.body, delivery.headers, &source.envelope)?;
        tracing::Span::current().record("event_id", envelope.event_id.as_str());

        let event = NewEvent {
            key: EventKey::generate(),
            source: source.name.clone(),
            event_id: envelope.event_id.clone(),
            event_type: envelope.event_type,
            body_digest: BodyDigest::of(&delivery.body),
            content_type: delivery.headers.get("content-type").map(str::to_owned),
            body: delivery.body.clone(),
            received_at: now,
            secret_label: source
                .secrets
                .get(verified.secret_index)
                .map(|secret| secret.label().to_owned()),
            request_id: delivery
                .headers
                .get("x-request-id")
                .filter(|id| id.len() <= MAX_REQUEST_ID_BYTES)
                .map(str::to_owned),
            dedupe_by_body: source.dedupe_by_body,
        };
        let secret_label = event.secret_label.clone();
        let receipt = match self.store.insert_if_absent(event).await? {
            Insertion::Inserted(key) => {
                self.new_work.notify_one();
                Receipt::Accepted {
                    key,
                    event_id: envelope.event_id,
                    secret_label,
                }
            }
            Insertion::Duplicate {
                existing,
                same_body,
            } => {
                if !same_body {
                    tracing::warn!(
                        %existing,
                        security = "event_id_conflict",
                        "event id reused with a different body; the stored event is kept and flagged"
                    );
                }
                Receipt::Duplicate {
                    key: existing,
                    event_id: envelope.event_id,
                    conflict: !same_body,
                    secret_label,
                }
            }
            Insertion::Replayed { existing } => {
                tracing::warn!(
                    %existing,
                    security = "body_replay",
                    "a stored body arrived again under a new event id (the signature does not \
                     cover the id): treated as a replay, not processed; the stored event is flagged"
                );
                Receipt::Duplicate {
                    key: existing,
                    event_id: envelope.event_id,
                    conflict: true,
                    secret_label,
                }
            }
        };
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests;
