//! Configuration: built-in defaults → optional TOML file → `HOOKD__SECTION__KEY`
//! environment variables, deserialized into typed settings and validated.
//!
//! Validation errors name the key at fault (`processing.workers: …`).

mod handler;
mod retention;
mod source;
mod strength;
mod validate;

use std::{collections::BTreeMap, net::SocketAddr, path::Path};

use anyhow::Context as _;
use config::{Config, Environment as EnvSource, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use self::{
    handler::{HandlerKind, HandlerSettings, Ordering},
    retention::RetentionSettings,
    source::{ConfiguredSecret, LabelledSecret, SecretEntry, SourceSettings},
};

/// The webhook secret used when none is configured, for local trials only.
pub const DEV_WEBHOOK_SECRET: &str = "supersecret";
/// Shortest secret accepted in production.
pub const MIN_PRODUCTION_SECRET_BYTES: usize = 32;

const DEFAULTS: &str = r#"
environment = "development"

[server]
bind = "127.0.0.1:8000"
max_body_bytes = 1048576
header_read_timeout_seconds = 30
request_timeout_seconds = 30
max_concurrent_requests = 4096
max_inflight_body_bytes = 67108864
max_signature_candidates = 8

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
claim_at_intake = true

[log]
level = "info"

[quarantine]
per_source_per_minute = 100
retention_days = 7

[retention]
sweep_interval = "1m"

[ui]
enabled = true
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
    pub retention: RetentionSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    pub ui: UiSettings,
}

/// The dashboard page under `/ui/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSettings {
    pub enabled: bool,
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
    /// Bytes of webhook bodies being read at once, before authentication;
    /// a body that does not fit gets 503 + `Retry-After` at once.
    pub max_inflight_body_bytes: usize,
    /// Signatures one request may offer; more is 401 without checking any.
    pub max_signature_candidates: usize,
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
    /// New events are written already claimed for this process's workers
    /// when they have room (no separate claim write).
    pub claim_at_intake: bool,
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
    /// OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`;
    /// used by builds with the `otel` feature, ignored (with a warning) by others.
    pub otlp_endpoint: Option<String>,
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

    /// Without any configured source, a development instance uses a
    /// well-known webhook secret (and says so loudly at start). A missing
    /// JWT secret is generated at start instead (`crate::dev_secret`).
    fn apply_development_defaults(&mut self) {
        if self.sources.is_empty() {
            self.sources.insert(
                "default".to_owned(),
                SourceSettings::with_secret(DEV_WEBHOOK_SECRET),
            );
        }
    }

    /// Development secrets in use, by key, for the start-up warning.
    pub fn development_secrets_in_use(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for (name, source) in &self.sources {
            for secret in source.configured_secrets(name) {
                if secret.value.expose_secret() == DEV_WEBHOOK_SECRET {
                    keys.push(secret.key);
                }
            }
        }
        keys
    }

    /// The HS256 secret: configured, or (development) filled in at start by
    /// `crate::dev_secret::ensure_jwt_secret`.
    pub fn jwt_secret(&self) -> Option<&SecretString> {
        self.auth.jwt_secret.as_ref()
    }
}

#[cfg(test)]
mod source_tests;
#[cfg(test)]
mod tests;
