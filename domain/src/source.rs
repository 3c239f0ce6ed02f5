//! A source is one sender of webhooks (a provider account, an internal system)
//! with its own signing scheme and secrets.

use std::fmt;

use crate::{EnvelopeSpec, SignatureScheme, SigningSecret};

/// The name of a source as it appears in `/webhooks/{source}` and in config:
/// 1..=64 characters of `a-z`, `0-9`, `-` and `_`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a source name is 1 to 64 characters of a-z, 0-9, '-' and '_'")]
pub struct SourceNameError;

impl SourceName {
    /// # Errors
    /// [`SourceNameError`] when the name is empty, too long or has other characters.
    pub fn parse(raw: &str) -> Result<Self, SourceNameError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(SourceNameError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SourceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceName({:?})", self.0)
    }
}

/// A configured source: who it is, how its requests are signed, with which secrets.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: SourceName,
    pub scheme: SignatureScheme,
    /// Every configured secret; several during a rotation, each valid until
    /// its `not_after`.
    pub secrets: Vec<SigningSecret>,
    /// Where its requests carry the event id and type.
    pub envelope: EnvelopeSpec,
    /// Also deduplicate on the body's SHA-256: the same signed body under a
    /// new event id is a replay. On by default where the signature does not
    /// cover the id (see [`EnvelopeSpec::event_id_is_signed`]).
    pub dedupe_by_body: bool,
}

impl Source {
    /// A source reading the id and type where its scheme puts them.
    pub fn new(name: SourceName, scheme: SignatureScheme, secrets: Vec<SigningSecret>) -> Self {
        let envelope = EnvelopeSpec::for_scheme(&scheme);
        let dedupe_by_body = !envelope.event_id_is_signed(&scheme);
        Self {
            name,
            scheme,
            secrets,
            envelope,
            dedupe_by_body,
        }
    }

    /// Reads the event id from `envelope` instead; body deduplication follows
    /// whether the signature covers that place.
    #[must_use]
    pub fn with_envelope(mut self, envelope: EnvelopeSpec) -> Self {
        self.dedupe_by_body = !envelope.event_id_is_signed(&self.scheme);
        self.envelope = envelope;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_deduplication_is_on_where_the_signature_does_not_cover_the_id() {
        use crate::signature::SchemeKind;
        let name = SourceName::parse("s").unwrap();
        let source = |kind| Source::new(name.clone(), SignatureScheme::default_for(kind), vec![]);
        for kind in [SchemeKind::Github, SchemeKind::Shopify] {
            assert!(source(kind).dedupe_by_body, "{kind:?}");
        }
        for kind in [
            SchemeKind::HmacHex,
            SchemeKind::StandardWebhooks,
            SchemeKind::Stripe,
            SchemeKind::Slack,
        ] {
            assert!(!source(kind).dedupe_by_body, "{kind:?}");
        }
        let by_header = source(SchemeKind::HmacHex).with_envelope(EnvelopeSpec {
            event_id: crate::signature::EventIdSource::Header("x-request-id".into()),
            ..EnvelopeSpec::for_scheme(&SignatureScheme::default_for(SchemeKind::HmacHex))
        });
        assert!(by_header.dedupe_by_body);
    }

    #[test]
    fn lower_case_names_with_dashes_and_underscores_are_accepted() {
        assert!(SourceName::parse("stripe-live_2").is_ok());
    }

    #[test]
    fn empty_long_upper_case_or_slashed_names_are_rejected() {
        for bad in ["", "Stripe", "a/b", "a b", &"a".repeat(65)] {
            assert_eq!(SourceName::parse(bad), Err(SourceNameError), "{bad:?}");
        }
    }
}
