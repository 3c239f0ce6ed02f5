//! Configuration: built-in defaults → optional TOML file → `HOOKD__SECTION__KEY`
//! environment variables, deserialized into typed settings and validated.
//!
//! Validation errors name the key at fault (`processing.workers: …`).

mod handler;
mod source;

use std::{collections::BTreeMap, net::SocketAddr, path::Path};

use anyhow::Context as _;
use config::{Config, Environment as EnvSource, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use self::{
    handler::{HandlerKind, HandlerSettings, Ordering},
    source::{ConfiguredSecret, LabelledSecret, SecretEntry, SourceSettings},
};

/// The webhook secret used when none is configured, for local trials only.
pub const DEV_WEBHOOK_SECRET: &str = "supersecret";
/// The dashboard JWT secret used when none is configured, for local trials only.
pub const DEV_JWT_SECRET: &str = "hookd-development-jwt-secret-do-not-use-in-production";
/// Shortest secret accepted in production.
pub const MIN_PRODUCTION_SECRET_BYTES: usize = 32;

const DEFAULTS: &str = r#"
environment = "development"

[server]
bind = "0.0.0.0:8000"
max_body_bytes = 1048576
header_read_timeout_seconds = 30
request_timeout_seconds = 30
max_concurrent_requests = 4096

[database]
url = "sqlite://data/hookd.db?mode=rwc"
auto_migrate = true
max_connections = 16
acquire_timeout_seconds = 5

[auth]
algorithm = "HS256"
leeway_seconds = 60

[processing]
workers = 4
batch_size = 32
lease_seconds = 300
handler_timeout_seconds = 30
max_attempts = 10
backoff_base_ms = 1000
backoff_factor = 4
backoff_cap_seconds = 3600
poll_interval_ms = 1000
shutdown_grace_seconds = 15

[log]
level = "info"

[quarantine]
per_source_per_minute = 100
retention_days = 7
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    #[serde(default)]
    pub sources: BTreeMap<String, SourceSettings>,
    pub processing: ProcessingSettings,
    pub log: LogSettings,
    pub quarantine: QuarantineSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// `GET /metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, scrapers must send `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// Default body limit; `sources.NAME.max_body_bytes` overrides it per source.
    pub max_body_bytes: usize,
    /// A connection that has not sent a request's headers within this is closed.
    pub header_read_timeout_seconds: u64,
    /// From the end of the headers to the response; then 408.
    pub request_timeout_seconds: u64,
    /// Requests in flight beyond this get 503 + `Retry-After` at once.
    pub max_concurrent_requests: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, hence secret.
    pub url: SecretString,
    pub auto_migrate: bool,
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `HS256` (with `jwt_secret`), or `RS256`, `ES256`, `EdDSA` (with `public_key_file`).
    pub algorithm: JwtAlgorithm,
    pub jwt_secret: Option<SecretString>,
    /// PEM public key for RS256, ES256 and EdDSA.
    pub public_key_file: Option<std::path::PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_seconds: u64,
}

/// Records of rejected requests (`GET /rejections`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineSettings {
    /// Most rejections recorded per source per minute; 0 records none.
    pub per_source_per_minute: u32,
    /// Rejections older than this are deleted.
    pub retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingSettings {
    /// Worker tasks in this process; 0 makes an intake-only instance.
    pub workers: usize,
    pub batch_size: u32,
    pub lease_seconds: u64,
    pub handler_timeout_seconds: u64,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_factor: u32,
    pub backoff_cap_seconds: u64,
    pub poll_interval_ms: u64,
    pub shutdown_grace_seconds: u64,
}

/// The one algorithm dashboard tokens are signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    #[serde(rename = "HS256")]
    Hs256,
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` in development and `json` in production unless set.
    pub format: Option<LogFormat>,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub level: String,
}

impl Settings {
    /// The built-in defaults alone: no file, no environment.
    ///
    /// # Errors
    /// Never in practice: the defaults are part of the binary.
    pub fn defaults() -> anyhow::Result<Self> {
        Self::from_builder(Config::builder())
    }

    /// Defaults, then `file` (if given), then `HOOKD__…` environment variables.
    ///
    /// # Errors
    /// When the file cannot be read, a value has the wrong type, or
    /// validation fails; the message names the key.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with_env(file, None)
    }

    /// [`Settings::load`] with the environment given as a map (for tests).
    fn load_with_env(
        file: Option<&Path>,
        env: Option<config::Map<String, String>>,
    ) -> anyhow::Result<Self> {
        let mut builder = Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        builder = builder.add_source(
            EnvSource::with_prefix("HOOKD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(env),
        );
        Self::from_builder(builder)
    }

    fn from_builder(
        builder: config::ConfigBuilder<config::builder::DefaultState>,
    ) -> anyhow::Result<Self> {
        let config = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(builder.build().context("reading configuration")?)
            .build()
            .context("reading configuration")?;
        let mut settings: Self = config.try_deserialize().context("invalid configuration")?;
        settings.apply_development_defaults();
        settings.validate()?;
        Ok(settings)
    }

    /// Without any configured source or JWT secret, a development instance
    /// uses well-known ones (and says so loudly at start).
    fn apply_development_defaults(&mut self) {
        if self.sources.is_empty() {
            self.sources.insert(
                "default".to_owned(),
                SourceSettings::with_secret(DEV_WEBHOOK_SECRET),
            );
        }
        if self.auth.jwt_secret.is_none() && self.auth.algorithm == JwtAlgorithm::Hs256 {
            self.auth.jwt_secret = Some(SecretString::from(DEV_JWT_SECRET));
        }
    }

    /// Development secrets in use, by key, for the start-up warning.
    pub fn development_secrets_in_use(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if self.auth.algorithm == JwtAlgorithm::Hs256
            && self.jwt_secret().expose_secret() == DEV_JWT_SECRET
        {
            keys.push("auth.jwt_secret".to_owned());
        }
        for (name, source) in &self.sources {
            for secret in source.configured_secrets(name) {
                if secret.value.expose_secret() == DEV_WEBHOOK_SECRET {
                    keys.push(secret.key);
                }
            }
        }
        keys
    }

    pub fn jwt_secret(&self) -> SecretString {
        self.auth
            .jwt_secret
            .clone()
            .unwrap_or_else(|| SecretString::from(DEV_JWT_SECRET))
    }

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
        ensure(
            self.server.max_concurrent_requests >= 1,
            "server.max_concurrent_requests",
            "must be at least 1",
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
                !self.jwt_secret().expose_secret().is_empty(),
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

    fn validate_production(&self) -> anyhow::Result<()> {
        if let Some(key) = self.development_secrets_in_use().first() {
            anyhow::bail!("{key}: the development secret may not be used in production");
        }
        ensure(
            self.auth.algorithm != JwtAlgorithm::Hs256
                || self.jwt_secret().expose_secret().len() >= MIN_PRODUCTION_SECRET_BYTES,
            "auth.jwt_secret",
            "must be at least 32 bytes in production",
        )?;
        // The seed's rule for its own source; other sources follow the
        // per-scheme minimum (`domain::signature::too_short`).
        if let Some(source) = self.sources.get("default")
            && source.scheme.as_deref().is_none_or(|s| s == "hmac-hex")
        {
            for secret in source.configured_secrets("default") {
                ensure(
                    secret.value.expose_secret().len() >= MIN_PRODUCTION_SECRET_BYTES,
                    &secret.key,
                    "must be at least 32 bytes in production",
                )?;
            }
        }
        Ok(())
    }
}

fn ensure(ok: bool, key: &str, rule: &str) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        anyhow::bail!("{key}: {rule}")
    }
}

#[cfg(test)]
mod source_tests;
#[cfg(test)]
mod tests;
