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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandlerSettings {
    pub kind: HandlerKind,
    /// Where `forward` POSTs events.
    pub url: Option<String>,
    /// The `whsec_…` Standard Webhooks secret `forward` signs with.
    pub forward_secret: Option<SecretString>,
    /// Attempts running at once against this destination, per process.
    pub max_in_flight: usize,
    /// Attempts started per second, per process (absent: no limit).
    pub rate_per_second: Option<f64>,
    /// Consecutive failures (timeouts, refused connections, 5xx, 429) that
    /// pause the destination; 0 turns the circuit breaker off.
    pub breaker_failures: u32,
    /// The first pause; it doubles after each failed probe, up to
    /// `breaker_max_cool_down_seconds`.
    pub breaker_cool_down_seconds: u64,
    pub breaker_max_cool_down_seconds: u64,
}

impl Default for HandlerSettings {
    fn default() -> Self {
        Self {
            kind: HandlerKind::default(),
            url: None,
            forward_secret: None,
            max_in_flight: 32,
            rate_per_second: None,
            breaker_failures: 10,
            breaker_cool_down_seconds: 30,
            breaker_max_cool_down_seconds: 300,
        }
    }
}

impl HandlerSettings {
    pub(super) fn validate(&self, key: &str) -> anyhow::Result<()> {
        ensure(
            (1..=10_000).contains(&self.max_in_flight),
            &format!("{key}.max_in_flight"),
            "must be between 1 and 10000",
        )?;
        ensure(
            self.rate_per_second
                .is_none_or(|rate| rate.is_finite() && (0.001..=1_000_000.0).contains(&rate)),
            &format!("{key}.rate_per_second"),
            "must be a number between 0.001 and 1000000",
        )?;
        ensure(
            self.breaker_cool_down_seconds >= 1
                && self.breaker_max_cool_down_seconds >= self.breaker_cool_down_seconds,
            &format!("{key}.breaker_cool_down_seconds"),
            "must be at least 1 and at most breaker_max_cool_down_seconds",
        )?;
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
