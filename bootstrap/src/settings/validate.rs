//! The rules a loaded configuration must keep; each error names its key.

use secrecy::ExposeSecret as _;

use domain::signature::standard_webhooks::PUBLIC_KEY_PREFIX;

use super::{Environment, JwtAlgorithm, MIN_PRODUCTION_SECRET_BYTES, Settings, strength::weakness};

impl Settings {
    /// # Errors
    /// The first rule broken, naming its key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let p = &self.processing;
        ensure(
            p.batch_size >= 1,
            "processing.batch_size",
            "must be at least 1",
        )?;
        ensure(
            p.max_attempts >= 1,
            "processing.max_attempts",
            "must be at least 1",
        )?;
        ensure(
            p.backoff_factor >= 1,
            "processing.backoff_factor",
            "must be at least 1",
        )?;
        ensure(
            p.poll_interval_ms >= 1,
            "processing.poll_interval_ms",
            "must be at least 1",
        )?;
        ensure(
            p.handler_timeout_seconds >= 1,
            "processing.handler_timeout_seconds",
            "must be at least 1",
        )?;
        ensure(
            p.lease_seconds > p.handler_timeout_seconds,
            "processing.lease_seconds",
            "must exceed processing.handler_timeout_seconds, or a running handler could lose its event",
        )?;
        ensure(
            self.database.max_connections >= 1,
            "database.max_connections",
            "must be at least 1",
        )?;
        ensure(
            self.database.acquire_timeout_seconds >= 1,
            "database.acquire_timeout_seconds",
            "must be at least 1",
        )?;
        ensure(
            self.server.max_body_bytes >= 1,
            "server.max_body_bytes",
            "must be at least 1",
        )?;
        for (key, value) in [
            (
                "server.header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "server.request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
        ] {
            ensure(value >= 1, key, "must be at least 1")?;
        }
        for (key, value) in [
            (
                "server.max_concurrent_requests",
                self.server.max_concurrent_requests,
            ),
            (
                "server.max_signature_candidates",
                self.server.max_signature_candidates,
            ),
        ] {
            ensure(value >= 1, key, "must be at least 1")?;
        }
        ensure(
            self.server.max_inflight_body_bytes >= self.server.max_body_bytes,
            "server.max_inflight_body_bytes",
            "must be at least server.max_body_bytes, or no full-size body could be read",
        )?;
        let url = self.database.url.expose_secret();
        ensure(
            ["sqlite:", "postgres:", "postgresql:"]
                .iter()
                .any(|scheme| url.starts_with(scheme)),
            "database.url",
            "must start with sqlite:, postgres:// or postgresql://",
        )?;
        self.validate_auth()?;
        ensure(
            self.quarantine.retention_days >= 1,
            "quarantine.retention_days",
            "must be at least 1",
        )?;
        ensure(
            self.retention.sweep_interval >= std::time::Duration::from_secs(1),
            "retention.sweep_interval",
            "must be at least 1s",
        )?;
        for (name, source) in &self.sources {
            source
                .handler
                .validate(&format!("sources.{name}.handler"))?;
            ensure(
                source.max_body_bytes != Some(0),
                &format!("sources.{name}.max_body_bytes"),
                "must be at least 1",
            )?;
        }
        if self.environment == Environment::Production {
            self.validate_production()?;
        }
        // Building the sources checks every source rule (scheme, secrets, pointers).
        crate::sources::from_settings(self)?;
        Ok(())
    }

    /// Exactly one way to verify tokens: a secret for HS256, a key file otherwise.
    fn validate_auth(&self) -> anyhow::Result<()> {
        if self.auth.algorithm == JwtAlgorithm::Hs256 {
            ensure(
                self.auth.public_key_file.is_none(),
                "auth.public_key_file",
                "is for RS256, ES256 and EdDSA; HS256 uses auth.jwt_secret",
            )?;
            ensure(
                self.jwt_secret()
                    .is_none_or(|secret| !secret.expose_secret().is_empty()),
                "auth.jwt_secret",
                "must not be empty",
            )
        } else {
            ensure(
                self.auth.jwt_secret.is_none(),
                "auth.jwt_secret",
                "is for HS256; set only auth.public_key_file for the configured algorithm",
            )?;
            ensure(
                self.auth.public_key_file.is_some(),
                "auth.public_key_file",
                "is required for RS256, ES256 and EdDSA",
            )
        }
    }

    /// Production takes no development default and no weak secret: each is
    /// at least 32 bytes, not a placeholder, and varied enough to be random.
    fn validate_production(&self) -> anyhow::Result<()> {
        if let Some(key) = self.development_secrets_in_use().first() {
            anyhow::bail!("{key}: the development secret may not be used in production");
        }
        if self.auth.algorithm == JwtAlgorithm::Hs256 {
            let secret = self.jwt_secret().ok_or_else(|| {
                anyhow::anyhow!(
                    "auth.jwt_secret: is required in production (generate one with `hookd secret`)"
                )
            })?;
            strong("auth.jwt_secret", secret.expose_secret())?;
        }
        for (name, source) in &self.sources {
            for secret in source.configured_secrets(name) {
                let value = secret.value.expose_secret();
                // A public key verifies but cannot sign: nothing to guess.
                if value.starts_with(PUBLIC_KEY_PREFIX) {
                    continue;
                }
                strong(&secret.key, value)?;
            }
            if let Some(forward) = &source.handler.forward_secret {
                strong(
                    &format!("sources.{name}.handler.forward_secret"),
                    forward.expose_secret(),
                )?;
            }
        }
        if let Some(token) = &self.metrics.token {
            strong("metrics.token", token.expose_secret())?;
        }
        Ok(())
    }
}

fn strong(key: &str, value: &str) -> anyhow::Result<()> {
    match weakness(value, MIN_PRODUCTION_SECRET_BYTES) {
        Some(reason) => anyhow::bail!("{key}: {reason}"),
        None => Ok(()),
    }
}

pub(super) fn ensure(ok: bool, key: &str, rule: &str) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        anyhow::bail!("{key}: {rule}")
    }
}
