//! `[sources.NAME.handler]` and `ordering`: what processing a source's
//! events means, and in which order.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::validate::ensure;

/// `fifo`: one event of the source in flight at a time, in arrival order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    #[default]
    None,
    Fifo,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandlerKind {
    #[default]
    Log,
    Forward,
}

/// `[sources.NAME.handler]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerSettings {
    #[serde(default)]
    pub kind: HandlerKind,
    /// Where `forward` POSTs events.
    pub url: Option<String>,
    /// The `whsec_…` Standard Webhooks secret `forward` signs with.
    pub forward_secret: Option<SecretString>,
}

impl HandlerSettings {
    pub(super) fn validate(&self, key: &str) -> anyhow::Result<()> {
        match self.kind {
            HandlerKind::Log => ensure(
                self.url.is_none() && self.forward_secret.is_none(),
                key,
                "url and forward_secret only apply to kind = \"forward\"",
            ),
            HandlerKind::Forward => {
                let url = self.url.as_deref().unwrap_or_default();
                ensure(
                    url.starts_with("http://") || url.starts_with("https://"),
                    &format!("{key}.url"),
                    "is required for kind = \"forward\" and must be an http:// or https:// URL",
                )?;
                let secret = self
                    .forward_secret
                    .as_ref()
                    .map(ExposeSecret::expose_secret);
                let valid = secret.is_some_and(|s| {
                    s.starts_with("whsec_")
                        && domain::signature::validate_secret(
                            domain::signature::SchemeKind::StandardWebhooks,
                            &domain::SigningSecret::new(s.as_bytes(), "forward"),
                        )
                        .is_ok()
                });
                ensure(
                    valid,
                    &format!("{key}.forward_secret"),
                    "is required for kind = \"forward\": a whsec_ followed by base64",
                )
            }
        }
    }
}
