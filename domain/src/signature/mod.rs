//! Signature verification: pure functions over the raw body, the request's
//! headers, the source's secrets and a `now` the caller passes in.
//!
//! Verification always runs on the exact bytes received, before anything
//! parses them, and compares MACs in constant time (`Mac::verify_slice`) or
//! checks ed25519 signatures with `verify_strict`.
//!
//! Each provider scheme lives in its own module; this one holds the shared
//! vocabulary ([`SignatureScheme`], [`SignatureError`], [`Headers`]) and
//! dispatches to them. Replay windows are [`std::time::Duration`]s, because
//! that is what configuration parsers (humantime, serde) produce; only whole
//! seconds count, as provider timestamps are whole seconds.

mod candidates;
pub mod event_id_source;
pub mod github;
pub mod hmac_hex;
pub mod kind;
mod mac;
pub mod secret_rules;
pub mod shopify;
pub mod slack;
pub mod standard_webhooks;
pub mod stripe;
mod timestamp;

mod verify;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod rotation;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::SigningSecret;

pub use candidates::DEFAULT_MAX_CANDIDATES;
pub use event_id_source::EventIdSource;
pub use kind::{SchemeKind, UnknownScheme};
pub use secret_rules::{MIN_SECRET_LEN, SecretError, too_short, validate_secret};
pub use timestamp::DEFAULT_TOLERANCE;

/// Read access to a request's headers, by case-insensitive name.
pub trait Headers {
    /// The value of the first header with this name, if it is present and valid UTF-8.
    fn get(&self, name: &str) -> Option<&str>;

    /// The names of the headers present, for records that must not hold
    /// their values (quarantine). Empty unless an implementation knows them.
    fn names(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    fn names(&self) -> Vec<&str> {
        self.iter().map(|(key, _)| key.as_ref()).collect()
    }
}

/// Sized forms, so a literal list or [`SignatureScheme::sign`]'s output can be
/// passed as `&dyn Headers` directly.
impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }

    fn names(&self) -> Vec<&str> {
        Headers::names(self.as_slice())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }

    fn names(&self) -> Vec<&str> {
        Headers::names(self.as_slice())
    }
}

/// A header's value with surrounding whitespace removed, or `None` when it
/// is absent or blank (both mean the sender did not supply it).
pub(crate) fn present<'a>(headers: &'a dyn Headers, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// How a source signs its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureScheme {
    /// Hex HMAC-SHA256 of the raw body in one header (the seed's scheme).
    HmacHex {
        /// The header carrying the signature, e.g. `X-Signature`.
        header: String,
        /// A prefix before the hex digest, e.g. `sha256=`; empty for none.
        prefix: String,
    },
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
    /// HMAC `v1` with `whsec_` secrets and ed25519 `v1a` with `whpk_` keys.
    StandardWebhooks {
        /// How far `webhook-timestamp` may be from `now`, either direction.
        tolerance: Duration,
    },
    /// Stripe's `Stripe-Signature: t=…,v1=…`.
    Stripe {
        /// How far `t` may be from `now`, either direction.
        tolerance: Duration,
    },
    /// GitHub's `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// Shopify's `X-Shopify-Hmac-Sha256: <base64>`.
    Shopify,
    /// Slack's `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`.
    Slack {
        /// How far `X-Slack-Request-Timestamp` may be from `now`, either direction.
        tolerance: Duration,
    },
}

impl Default for SignatureScheme {
    fn default() -> Self {
        Self::HmacHex {
            header: "X-Signature".to_owned(),
            prefix: String::new(),
        }
    }
}

/// Why a request's signature was not accepted. Every variant means 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or empty")]
    Missing,
    #[error("the signature header is not in the scheme's format")]
    Malformed,
    #[error("no configured secret produces this signature")]
    Mismatch,
    /// Only reported for a correctly signed request: a replay or a slow clock.
    #[error("the signed timestamp is older than the tolerance allows")]
    Stale,
    /// Only reported for a correctly signed request: a fast clock or a forgery window.
    #[error("the signed timestamp is further ahead than the tolerance allows")]
    Future,
    /// Only a secret past its `not_after` produces this signature: the sender
    /// has not switched to the new secret yet (or the old one leaked).
    #[error("the signature was made with a secret that has expired")]
    ExpiredSecret,
    /// More signatures offered than the limit allows; none was checked.
    #[error("the request offers more signatures than this server checks")]
    TooManySignatures,
}

impl SignatureError {
    /// A stable, machine-readable reason (used in metrics and rejection records).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing_signature",
            Self::Malformed | Self::Mismatch => "bad_signature",
            Self::Stale => "stale",
            Self::Future => "future",
            Self::ExpiredSecret => "expired_secret",
            Self::TooManySignatures => "malformed",
        }
    }
}

/// A request whose signature matched one of the source's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Index into the source's secrets of the one that matched.
    pub secret_index: usize,
}

impl SignatureScheme {
    /// The scheme as configured by its name alone: `X-Signature` without a
    /// prefix for `hmac-hex`, [`DEFAULT_TOLERANCE`] for the timed schemes.
    pub fn default_for(kind: SchemeKind) -> Self {
        match kind {
            SchemeKind::HmacHex => Self::default(),
            SchemeKind::StandardWebhooks => Self::StandardWebhooks {
                tolerance: DEFAULT_TOLERANCE,
            },
            SchemeKind::Stripe => Self::Stripe {
                tolerance: DEFAULT_TOLERANCE,
            },
            SchemeKind::Github => Self::Github,
            SchemeKind::Shopify => Self::Shopify,
            SchemeKind::Slack => Self::Slack {
                tolerance: DEFAULT_TOLERANCE,
            },
        }
    }

    /// The headers a sender of this scheme would attach to `body` at `now`
    /// (for `hookd sign` and tests).
    ///
    /// `id` goes where the scheme carries an event id in a header
    /// (`webhook-id`, `X-GitHub-Delivery`, `X-Shopify-Event-Id`); schemes that
    /// carry it in the body ignore it. Standard Webhooks needs one, so without
    /// `id` it derives a deterministic one from the body (see
    /// [`standard_webhooks::derived_id`]).
    ///
    /// # Errors
    /// [`SecretError`] when the secret cannot sign for this scheme (only
    /// Standard Webhooks keys can be undecodable or public-only).
    pub fn sign(
        &self,
        secret: &SigningSecret,
        body: &[u8],
        now: DateTime<Utc>,
        id: Option<&str>,
    ) -> Result<Vec<(String, String)>, SecretError> {
        Ok(match self {
            Self::HmacHex { header, prefix } => {
                vec![(
                    header.clone(),
                    format!("{prefix}{}", hmac_hex::sign(secret, body)),
                )]
            }
            Self::StandardWebhooks { .. } => {
                let id = id.map_or_else(|| standard_webhooks::derived_id(body), str::to_owned);
                standard_webhooks::sign(secret, &id, now, body)?
            }
            Self::Stripe { .. } => stripe::sign(secret, now, body),
            Self::Github => github::sign(secret, body, id),
            Self::Shopify => shopify::sign(secret, body, id),
            Self::Slack { .. } => slack::sign(secret, now, body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_errors_have_their_own_reasons() {
        assert_eq!(SignatureError::Stale.reason(), "stale");
        assert_eq!(SignatureError::Future.reason(), "future");
        assert_eq!(SignatureError::ExpiredSecret.reason(), "expired_secret");
    }

    #[test]
    fn signature_errors_keep_their_reasons() {
        assert_eq!(SignatureError::Missing.reason(), "missing_signature");
        assert_eq!(SignatureError::Malformed.reason(), "bad_signature");
        assert_eq!(SignatureError::Mismatch.reason(), "bad_signature");
    }

    #[test]
    fn blank_headers_count_as_absent() {
        let headers = [("A", "  "), ("B", " x ")];
        assert_eq!(present(&headers, "a"), None);
        assert_eq!(present(&headers, "b"), Some("x"));
        assert_eq!(present(&headers, "c"), None);
    }

    #[test]
    fn default_for_gives_each_kind_its_own_scheme() {
        for kind in SchemeKind::ALL {
            assert_eq!(SignatureScheme::default_for(kind).kind(), kind);
        }
    }

    #[test]
    fn timed_schemes_default_to_five_minutes() {
        assert_eq!(
            SignatureScheme::default_for(SchemeKind::Stripe),
            SignatureScheme::Stripe {
                tolerance: Duration::from_secs(300)
            }
        );
    }
}
