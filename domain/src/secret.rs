//! Signing secrets: bytes that must never be printed.

use std::fmt;

use chrono::{DateTime, Utc};

/// A shared secret used to verify (or create) webhook signatures.
///
/// `Debug` is redacted, there is no `Display`, and the bytes are only reachable
/// through [`SigningSecret::expose`], so a secret cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    bytes: Vec<u8>,
    /// Operator-facing name of the secret (for rotation), never secret itself.
    label: String,
    /// After this instant the secret no longer verifies anything (the end of a rotation).
    not_after: Option<DateTime<Utc>>,
}

impl SigningSecret {
    pub fn new(bytes: impl Into<Vec<u8>>, label: impl Into<String>) -> Self {
        Self {
            bytes: bytes.into(),
            label: label.into(),
            not_after: None,
        }
    }

    /// The same secret, refused after `not_after`.
    #[must_use]
    pub fn with_not_after(mut self, not_after: DateTime<Utc>) -> Self {
        self.not_after = Some(not_after);
        self
    }

    pub fn not_after(&self) -> Option<DateTime<Utc>> {
        self.not_after
    }

    /// Whether the secret may verify a request received at `now`; it still
    /// may at exactly `not_after`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.not_after.is_none_or(|end| now <= end)
    }

    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSecret")
            .field("label", &self.label)
            .field("not_after", &self.not_after)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = SigningSecret::new("supersecret", "default");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("default"));
    }

    #[test]
    fn a_secret_is_valid_until_and_at_its_not_after_only() {
        let end = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let secret = SigningSecret::new("s", "old").with_not_after(end);
        assert!(secret.is_valid_at(end));
        assert!(!secret.is_valid_at(end + chrono::Duration::seconds(1)));
        assert!(SigningSecret::new("s", "new").is_valid_at(DateTime::<Utc>::MAX_UTC));
    }
}
