//! `[sources.NAME]`: a sender's signing scheme, its secrets (several during a
//! rotation), and where its requests carry the event id and type. Turned into
//! the domain's `Source` (and checked) by `crate::sources`.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use super::{HandlerSettings, Ordering};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// `hmac-hex` (the default), `standard-webhooks`, `stripe`, `github`, `shopify` or `slack`.
    pub scheme: Option<String>,
    /// The seed's single secret: the same as a one-element `secrets`.
    pub secret: Option<SecretString>,
    /// Every secret valid at once; each a string or `{ value, label, not_after }`.
    pub secrets: Option<Vec<SecretEntry>>,
    /// How far a signed timestamp may be from now, either way (timed schemes; default 300).
    pub tolerance_seconds: Option<u64>,
    /// `hmac-hex` only: the signature header (default `X-Signature`).
    pub signature_header: Option<String>,
    /// `hmac-hex` only: a prefix before the hex digest, e.g. `sha256=`.
    pub signature_prefix: Option<String>,
    /// `hmac-hex` only: a JSON pointer to the event id (default `/event_id`).
    pub event_id_pointer: Option<String>,
    /// `hmac-hex` only: read the event id from this header instead.
    pub event_id_header: Option<String>,
    /// A JSON pointer to the event type (default: the scheme's place, else `/type`).
    pub event_type_pointer: Option<String>,
    /// `fifo`: one event of this source in flight at a time, in arrival order.
    /// This source's body limit, instead of `server.max_body_bytes`.
    pub max_body_bytes: Option<usize>,
    /// Also treat the same body under a new event id as a duplicate (a
    /// replay). Default: on where the signature does not cover the event id
    /// (GitHub, Shopify, `hmac-hex` with `event_id_header`), off elsewhere.
    pub dedupe_by_body: Option<bool>,
    #[serde(default)]
    pub ordering: Ordering,
    #[serde(default)]
    pub handler: HandlerSettings,
}

/// One entry of `secrets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretEntry {
    Plain(SecretString),
    Labelled(LabelledSecret),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledSecret {
    pub value: SecretString,
    /// Shown in `GET /sources` and stored with each event; default: the index.
    pub label: Option<String>,
    /// RFC 3339; the secret is refused after this instant.
    pub not_after: Option<DateTime<Utc>>,
}

/// A configured secret with the key that names it in errors.
#[derive(Debug)]
pub struct ConfiguredSecret<'a> {
    /// e.g. `sources.stripe.secrets[1]`.
    pub key: String,
    pub value: &'a SecretString,
    pub label: String,
    pub not_after: Option<DateTime<Utc>>,
}

impl SourceSettings {
    /// A source with just the seed's single secret.
    pub fn with_secret(secret: impl Into<String>) -> Self {
        Self {
            secret: Some(SecretString::from(secret.into())),
            ..Self::default()
        }
    }

    /// `secret` and `secrets` as one list, labelled (by index when unlabelled).
    pub fn configured_secrets(&self, name: &str) -> Vec<ConfiguredSecret<'_>> {
        let single = self.secret.iter().map(|value| ConfiguredSecret {
            key: format!("sources.{name}.secret"),
            value,
            label: "0".to_owned(),
            not_after: None,
        });
        let listed = self.secrets.iter().flatten().enumerate().map(|(i, entry)| {
            let key = format!("sources.{name}.secrets[{i}]");
            match entry {
                SecretEntry::Plain(value) => ConfiguredSecret {
                    key,
                    value,
                    label: i.to_string(),
                    not_after: None,
                },
                SecretEntry::Labelled(labelled) => ConfiguredSecret {
                    key,
                    value: &labelled.value,
                    label: labelled.label.clone().unwrap_or_else(|| i.to_string()),
                    not_after: labelled.not_after,
                },
            }
        });
        single.chain(listed).collect()
    }
}
