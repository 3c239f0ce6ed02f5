//! The parts `build` assembles from the settings: intake limits, handlers,
//! the JWT verifier's settings, the processor's settings.

use std::{collections::HashMap, sync::Arc, time::Duration};

use adapters::{
    auth::JwtSettings,
    handlers::{ForwardHandler, LogHandler, PerSource},
    http::{IntakeLimits, SourceIntake},
};
use anyhow::Context as _;
use application::{DestinationLimits, Destinations, ProcessorSettings, ports::EventHandler};
use domain::{BreakerPolicy, RetryPolicy, SigningSecret};
use jsonwebtoken::Algorithm;
use secrecy::ExposeSecret as _;

use crate::settings::{HandlerKind, JwtAlgorithm, Settings};

/// Each source's body limit, and whether it needs a JSON `Content-Type`.
pub(super) fn intake_limits(settings: &Settings, sources: &[domain::Source]) -> IntakeLimits {
    let default = settings.server.max_body_bytes;
    sources
        .iter()
        .fold(IntakeLimits::new(default), |limits, source| {
            let name = source.name.as_str();
            let max_body_bytes = settings
                .sources
                .get(name)
                .and_then(|configured| configured.max_body_bytes)
                .unwrap_or(default);
            limits.with_source(
                name,
                SourceIntake {
                    max_body_bytes,
                    json_only: source.envelope.requires_json_body(),
                },
            )
        })
}

/// Each source's `[sources.NAME.handler]`, behind one router.
/// `overrides` (from `Overrides::handlers`) replace the configured ones.
pub(super) fn configured_handlers(
    settings: &Settings,
    mut overrides: HashMap<String, Arc<dyn EventHandler>>,
) -> anyhow::Result<Arc<dyn EventHandler>> {
    let timeout = Duration::from_secs(settings.processing.handler_timeout_seconds);
    let mut by_source: HashMap<String, Arc<dyn EventHandler>> = HashMap::new();
    for (name, source) in &settings.sources {
        if let Some(handler) = overrides.remove(name) {
            by_source.insert(name.clone(), handler);
            continue;
        }
        let handler: Arc<dyn EventHandler> = match source.handler.kind {
            HandlerKind::Log => Arc::new(LogHandler),
            HandlerKind::Forward => {
                let (Some(url), Some(secret)) =
                    (&source.handler.url, &source.handler.forward_secret)
                else {
                    anyhow::bail!("sources.{name}.handler: forward needs url and forward_secret");
                };
                let secret = SigningSecret::new(secret.expose_secret().as_bytes(), "forward");
                Arc::new(ForwardHandler::new(url.clone(), secret, timeout)?)
            }
        };
        by_source.insert(name.clone(), handler);
    }
    if let Some(name) = overrides.keys().next() {
        anyhow::bail!("a handler is registered for {name:?}, which is not a configured source");
    }
    Ok(Arc::new(PerSource::new(by_source)))
}

/// Each source's delivery limits (`[sources.NAME.handler]`), shared by the
/// process's workers.
pub(super) fn destinations(settings: &Settings) -> Destinations {
    let limits = settings
        .sources
        .iter()
        .map(|(name, source)| {
            let handler = &source.handler;
            let limits = DestinationLimits {
                max_in_flight: handler.max_in_flight,
                rate_per_second: handler.rate_per_second,
                breaker: BreakerPolicy {
                    failure_threshold: handler.breaker_failures,
                    cool_down: Duration::from_secs(handler.breaker_cool_down_seconds),
                    max_cool_down: Duration::from_secs(handler.breaker_max_cool_down_seconds),
                },
            };
            (name.clone(), limits)
        })
        .collect();
    Destinations::new(limits, DestinationLimits::default())
}

/// The verifier's settings; reads `auth.public_key_file` for the asymmetric algorithms.
///
/// # Errors
/// When the key file cannot be read.
pub fn jwt_settings(settings: &Settings) -> anyhow::Result<JwtSettings> {
    let auth = &settings.auth;
    let (algorithm, key) = match auth.algorithm {
        JwtAlgorithm::Hs256 => (
            Algorithm::HS256,
            settings
                .jwt_secret()
                .context(
                    "auth.jwt_secret: not set (in development `hookd serve` and `hookd token` generate it)",
                )?
                .expose_secret()
                .as_bytes()
                .to_vec(),
        ),
        asymmetric => {
            let path = auth
                .public_key_file
                .as_deref()
                .context("auth.public_key_file is required for this algorithm")?;
            let pem = std::fs::read(path)
                .with_context(|| format!("auth.public_key_file: reading {}", path.display()))?;
            let algorithm = match asymmetric {
                JwtAlgorithm::Rs256 => Algorithm::RS256,
                JwtAlgorithm::Es256 => Algorithm::ES256,
                JwtAlgorithm::Hs256 | JwtAlgorithm::EdDsa => Algorithm::EdDSA,
            };
            (algorithm, pem)
        }
    };
    Ok(JwtSettings {
        algorithm,
        key,
        issuer: auth.issuer.clone(),
        audience: auth.audience.clone(),
        leeway: Duration::from_secs(auth.leeway_seconds),
    })
}

pub(super) fn processor_settings(settings: &Settings) -> ProcessorSettings {
    let p = &settings.processing;
    ProcessorSettings {
        batch_size: p.batch_size,
        lease: Duration::from_secs(p.lease_seconds),
        handler_timeout: Duration::from_secs(p.handler_timeout_seconds),
        retry: RetryPolicy {
            base: Duration::from_millis(p.backoff_base_ms),
            factor: p.backoff_factor,
            cap: Duration::from_secs(p.backoff_cap_seconds),
            jitter: 0.2,
            max_attempts: p.max_attempts,
        },
    }
}

/// Names this process in leases and attempt history: host, pid and a nonce
/// (in a container every restart is pid 1 on the same host name).
pub(super) fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "hookd".to_owned());
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{host}:{}:{nonce}", std::process::id())
}
