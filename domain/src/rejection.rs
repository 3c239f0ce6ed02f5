//! Rejected requests, as quarantine records them: why, from where, and a
//! fingerprint of what was sent, never the signature or the body itself.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{BodyDigest, PayloadError, SignatureError};

/// Why a request was refused, as stored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    MissingSignature,
    BadSignature,
    Stale,
    Future,
    ExpiredSecret,
    UnknownSource,
    /// Correctly signed, but the id or body breaks a rule; or more
    /// signatures offered than are checked.
    Malformed,
    /// Refused at the HTTP edge, before the signature was checked: a body
    /// over the limit (413)...
    PayloadTooLarge,
    /// ...a non-JSON `Content-Type` for a JSON source (415)...
    UnsupportedMediaType,
    /// ...a request not complete within the request timeout (408)...
    RequestTimeout,
    /// ...or shed for load: requests or body bytes in flight (503).
    Overloaded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown rejection reason {0:?}; expected one of missing_signature, bad_signature, stale, future, expired_secret, unknown_source, malformed, payload_too_large, unsupported_media_type, request_timeout, overloaded"
)]
pub struct UnknownReason(pub String);

impl RejectionReason {
    pub const ALL: [Self; 11] = [
        Self::MissingSignature,
        Self::BadSignature,
        Self::Stale,
        Self::Future,
        Self::ExpiredSecret,
        Self::UnknownSource,
        Self::Malformed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RequestTimeout,
        Self::Overloaded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::Stale => "stale",
            Self::Future => "future",
            Self::ExpiredSecret => "expired_secret",
            Self::UnknownSource => "unknown_source",
            Self::Malformed => "malformed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RequestTimeout => "request_timeout",
            Self::Overloaded => "overloaded",
        }
    }

    /// # Errors
    /// [`UnknownReason`] for any other string.
    pub fn parse(raw: &str) -> Result<Self, UnknownReason> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == raw)
            .ok_or_else(|| UnknownReason(raw.to_owned()))
    }
}

impl From<SignatureError> for RejectionReason {
    fn from(err: SignatureError) -> Self {
        match err {
            SignatureError::Missing => Self::MissingSignature,
            SignatureError::Malformed | SignatureError::Mismatch => Self::BadSignature,
            SignatureError::Stale => Self::Stale,
            SignatureError::Future => Self::Future,
            SignatureError::ExpiredSecret => Self::ExpiredSecret,
            SignatureError::TooManySignatures => Self::Malformed,
        }
    }
}

impl From<&PayloadError> for RejectionReason {
    fn from(_: &PayloadError) -> Self {
        Self::Malformed
    }
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A UUIDv7: sorts by time, and is the listing's keyset cursor.
    pub id: Uuid,
    /// The source named by the request (possibly not a configured one).
    pub source: String,
    pub reason: RejectionReason,
    pub received_at: DateTime<Utc>,
    pub remote_addr: Option<String>,
    pub body_sha256: BodyDigest,
    pub body_size: u64,
    /// Lower-case header names, without their values.
    pub header_names: Vec<String>,
}

impl Rejection {
    /// The source named by a request, safe to store and show: control
    /// characters (a `%00` in the path, say — PostgreSQL cannot store NUL) are
    /// escaped as Rust does (`\u{0}`, `\u{1b}`), and it is cut to `max_chars`.
    pub fn printable_source(raw: &str, max_chars: usize) -> String {
        let mut printable = String::new();
        for c in raw.chars() {
            if c.is_control() {
                printable.extend(c.escape_default());
            } else {
                printable.push(c);
            }
            if printable.chars().count() >= max_chars {
                break;
            }
        }
        printable.chars().take(max_chars).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_a_source_are_escaped_and_the_length_capped() {
        assert_eq!(
            Rejection::printable_source("str\0ipe\u{1b}[31m", 64),
            "str\\u{0}ipe\\u{1b}[31m"
        );
        assert_eq!(Rejection::printable_source("stripe", 64), "stripe");
        assert_eq!(
            Rejection::printable_source(&"\0".repeat(100), 10),
            "\\u{0}\\u{0}"
        );
    }

    #[test]
    fn every_reason_round_trips_through_its_name() {
        for reason in RejectionReason::ALL {
            assert_eq!(RejectionReason::parse(reason.as_str()), Ok(reason));
        }
        assert!(RejectionReason::parse("nope").is_err());
    }

    #[test]
    fn signature_errors_map_to_their_documented_reasons() {
        for err in [
            SignatureError::Missing,
            SignatureError::Malformed,
            SignatureError::Mismatch,
            SignatureError::Stale,
            SignatureError::Future,
            SignatureError::ExpiredSecret,
            SignatureError::TooManySignatures,
        ] {
            assert_eq!(RejectionReason::from(err).as_str(), err.reason());
        }
    }
}
