//! Structured logs with `tracing`: pretty for people, JSON for machines; and,
//! in builds with the `otel` feature, spans exported over OTLP/HTTP.

use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, prelude::*};

use crate::settings::{Environment, LogFormat, Settings};

/// Installs the global subscriber. `RUST_LOG` overrides `log.level`.
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let format = settings.log.format.unwrap_or(match settings.environment {
        Environment::Development => LogFormat::Pretty,
        Environment::Production => LogFormat::Json,
    });
    let output: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => fmt::layer().compact().boxed(),
    };
    let mut layers = vec![output];
    layers.extend(settings.log.otlp_endpoint.as_deref().and_then(otel::layer));
    let installed = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    // A second init (tests, embedding) keeps the first subscriber.
    drop(installed);
    if settings.log.otlp_endpoint.is_some() && !cfg!(feature = "otel") {
        tracing::warn!(
            "log.otlp_endpoint is set but this build has no `otel` feature: nothing is exported"
        );
    }
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
    use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
    use tracing_subscriber::{Layer, Registry};

    /// A layer exporting spans to `endpoint` in batches, off the request path.
    pub fn layer(endpoint: &str) -> Option<Box<dyn Layer<Registry> + Send + Sync>> {
        let exporter = match SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
        {
            Ok(exporter) => exporter,
            Err(err) => {
                eprintln!("hookd: OTLP export disabled: {err}");
                return None;
            }
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("hookd").build())
            .build();
        let tracer = provider.tracer("hookd");
        opentelemetry::global::set_tracer_provider(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
    }
}

#[cfg(not(feature = "otel"))]
mod otel {
    use tracing_subscriber::{Layer, Registry};

    /// Without the `otel` feature there is nothing to export to.
    pub fn layer(_endpoint: &str) -> Option<Box<dyn Layer<Registry> + Send + Sync>> {
        None
    }
}
