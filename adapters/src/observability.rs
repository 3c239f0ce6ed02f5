//! Prometheus metrics. Counters on the intake path are registered once per
//! source at start, so counting a webhook costs an atomic add and no
//! allocation; queue gauges are refreshed by a background task from one
//! query, never per request.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
    time::Duration,
};

use application::ports::{Clock, EventStats};
use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

/// Histogram buckets for every `*_seconds` metric: 1 ms to 60 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder the first time (several instances in
/// one process, as in the tests, share it) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS)
            {
                Ok(builder) => builder,
                Err(err) => unreachable!("the buckets are not empty: {err}"),
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; GET /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// How a delivery was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Accepted,
    Duplicate,
    Conflict,
}

#[derive(Debug, Clone)]
struct SourceCounters {
    accepted: Counter,
    duplicate: Counter,
    conflict: Counter,
    /// `hookd_webhooks_rejected_total` by reason, registered on first use:
    /// rejections can come fast (a flood of forged requests), so counting one
    /// should not build labels either.
    rejected: Arc<RwLock<HashMap<&'static str, Counter>>>,
}

impl SourceCounters {
    fn register(source: &str) -> Self {
        let received = |outcome: &'static str| counter!("hookd_webhooks_received_total", "source" => source.to_owned(), "outcome" => outcome);
        Self {
            accepted: received("accepted"),
            duplicate: received("duplicate"),
            conflict: received("conflict"),
            rejected: Arc::default(),
        }
    }
}

/// Intake counters by configured source; other names count as `unknown`,
/// so a caller cannot grow the label set.
#[derive(Debug, Clone)]
pub struct IntakeMetrics {
    by_source: HashMap<String, SourceCounters>,
    unknown: SourceCounters,
    /// `hookd_signature_secret_used_total` by (source, secret label).
    secrets: HashMap<String, HashMap<String, Counter>>,
}

impl IntakeMetrics {
    /// Call after [`install`], or the counters go nowhere.
    pub fn new<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            by_source: sources
                .into_iter()
                .map(|name| (name.to_owned(), SourceCounters::register(name)))
                .collect(),
            unknown: SourceCounters::register("unknown"),
            secrets: HashMap::new(),
        }
    }

    /// Registers `hookd_signature_secret_used_total{source,label}` for every
    /// configured secret, so that counting a verified request allocates nothing.
    #[must_use]
    pub fn with_secret_labels<'a>(
        mut self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        for (source, label) in labels {
            let counter = counter!("hookd_signature_secret_used_total", "source" => source.to_owned(), "label" => label.to_owned());
            self.secrets
                .entry(source.to_owned())
                .or_default()
                .insert(label.to_owned(), counter);
        }
        self
    }

    /// Counts a request verified by the secret labelled `label` of `source`.
    pub fn secret_used(&self, source: &str, label: Option<&str>) {
        let Some(label) = label else { return };
        if let Some(counter) = self
            .secrets
            .get(source)
            .and_then(|labels| labels.get(label))
        {
            counter.increment(1);
        }
    }

    pub fn received(&self, source: &str, outcome: Received) {
        let counters = self.by_source.get(source).unwrap_or(&self.unknown);
        match outcome {
            Received::Accepted => &counters.accepted,
            Received::Duplicate => &counters.duplicate,
            Received::Conflict => &counters.conflict,
        }
        .increment(1);
    }

    pub fn rejected(&self, source: &str, reason: &'static str) {
        let (source, counters) = match self.by_source.get_key_value(source) {
            Some((name, counters)) => (name.as_str(), counters),
            None => ("unknown", &self.unknown),
        };
        if let Ok(cached) = counters.rejected.read()
            && let Some(counter) = cached.get(reason)
        {
            counter.increment(1);
            return;
        }
        let counter = counter!("hookd_webhooks_rejected_total", "source" => source.to_owned(), "reason" => reason);
        counter.increment(1);
        // Before `install`, a handle would go nowhere for good: do not keep it.
        if HANDLE.get().is_some()
            && let Ok(mut cached) = counters.rejected.write()
        {
            cached.insert(reason, counter);
        }
    }
}

impl Default for IntakeMetrics {
    fn default() -> Self {
        Self::new([])
    }
}

/// `hookd_http_request_duration_seconds` handles by (route, status),
/// registered on first use: timing a request then neither builds a label set
/// nor looks it up in the registry (a hash of the whole key and a lock).
type HttpHistograms = RwLock<HashMap<(&'static str, &'static str), Histogram>>;
static HTTP_HISTOGRAMS: OnceLock<HttpHistograms> = OnceLock::new();

/// One HTTP request, by route template and status.
pub fn http_request(route: &'static str, status: &'static str, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let register =
        || histogram!("hookd_http_request_duration_seconds", "route" => route, "status" => status);
    // Before `install`, a handle would go nowhere for good: do not keep it.
    if HANDLE.get().is_none() {
        register().record(seconds);
        return;
    }
    let cache = HTTP_HISTOGRAMS.get_or_init(Default::default);
    if let Ok(cached) = cache.read()
        && let Some(histogram) = cached.get(&(route, status))
    {
        histogram.record(seconds);
        return;
    }
    let histogram = register();
    histogram.record(seconds);
    if let Ok(mut cached) = cache.write() {
        cached.insert((route, status), histogram);
    }
}

/// Compacts the maintained counters, then refreshes `hookd_queue_depth`,
/// `hookd_oldest_pending_age_seconds`,
/// `hookd_dead_events` and `hookd_unconfigured_source_events` (waiting
/// events of sources not in `configured`, which are not processed) every
/// `interval` until `shutdown`.
pub async fn run_gauge_refresh(
    stats: Arc<dyn EventStats>,
    clock: Arc<dyn Clock>,
    configured: Vec<String>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = shutdown.cancelled() => break,
        }
        let started = std::time::Instant::now();
        // Keeps the counters a few rows, so that the reads below stay cheap.
        if let Err(err) = stats.compact(clock.now()).await {
            tracing::debug!(error = %err, "counters not compacted");
        }
        let refreshed = stats.queue_gauges().await;
        // What a refresh costs the database, whatever the table's size.
        histogram!("hookd_gauge_refresh_seconds").record(started.elapsed().as_secs_f64());
        match refreshed {
            Ok(gauges) => {
                gauge!("hookd_queue_depth").set(gauges.waiting as f64);
                gauge!("hookd_dead_events").set(gauges.dead as f64);
                let unconfigured: u64 = gauges
                    .waiting_by_source
                    .iter()
                    .filter(|(source, _)| !configured.contains(source))
                    .map(|(_, count)| count)
                    .sum();
                gauge!("hookd_unconfigured_source_events").set(unconfigured as f64);
                let age = gauges.oldest_due_since.map_or(0.0, |since| {
                    (clock.now() - since)
                        .to_std()
                        .unwrap_or_default()
                        .as_secs_f64()
                });
                gauge!("hookd_oldest_pending_age_seconds").set(age);
            }
            Err(err) => tracing::debug!(error = %err, "queue gauges not refreshed"),
        }
    }
    tracing::info!("metrics gauge refresh stopped");
}
