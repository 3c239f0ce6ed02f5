//! Signature verification: pure functions over the raw body, the request's
//! headers, the source's secrets and a `now` the caller passes in.
//!
//! Verification always runs on the exact bytes received, before anything
//! parses them, and compares MACs in constant time.

pub mod hmac_hex;

use chrono::{DateTime, Utc};

use crate::SigningSecret;

/// Read access to a request's headers, by case-insensitive name.
pub trait Headers {
    /// The value of the first header with this name, if it is present and valid UTF-8.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Headers for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
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
}

impl SignatureError {
    /// A stable, machine-readable reason (used in metrics and rejection records).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing_signature",
            Self::Malformed | Self::Mismatch => "bad_signature",
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
    /// Checks a request's signature against every secret in `secrets`.
    ///
    /// # Errors
    /// [`SignatureError`] says why the request is refused.
    pub fn verify(
        &self,
        secrets: &[SigningSecret],
        headers: &dyn Headers,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<Verified, SignatureError> {
        match self {
            Self::HmacHex { header, prefix } => {
                let value = headers.get(header).unwrap_or_default();
                hmac_hex::verify(secrets, value, prefix, body)
            }
        }
    }
}
