//! Signing secrets: bytes that must never be printed.

use std::fmt;

/// A shared secret used to verify (or create) webhook signatures.
///
/// `Debug` is redacted, there is no `Display`, and the bytes are only reachable
/// through [`SigningSecret::expose`], so a secret cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    bytes: Vec<u8>,
    /// Operator-facing name of the secret (for rotation), never secret itself.
    label: String,
}

impl SigningSecret {
    pub fn new(bytes: impl Into<Vec<u8>>, label: impl Into<String>) -> Self {
        Self {
            bytes: bytes.into(),
            label: label.into(),
        }
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
}
