//! Structured logs with `tracing`: pretty for people, JSON for machines.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::settings::{Environment, LogFormat, Settings};

/// Installs the global subscriber. `RUST_LOG` overrides `log.level`.
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let format = settings.log.format.unwrap_or(match settings.environment {
        Environment::Development => LogFormat::Pretty,
        Environment::Production => LogFormat::Json,
    });
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    drop(installed);
}
