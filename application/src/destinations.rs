//! Per-destination delivery limits, shared by every worker of a process:
//! how many attempts run at once, how fast they start, and a circuit breaker
//! that pauses a failing destination.
//!
//! A destination is a source's handler (its `forward` URL, say). An attempt
//! first [`enter`](Destination::enter)s its destination: it waits for a free
//! slot and, with a rate limit, for its turn; the handler timeout only starts
//! after that. While the breaker is open, an attempt does not run at all: it
//! is [`Entry::Deferred`] and its event goes back to the queue uncharged. The
//! claim skips destinations that are paused or already have plenty of work
//! waiting here ([`Destinations::not_claimable`]), so paused events stay
//! in the queue instead of sitting in a worker.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use chrono::{DateTime, Utc};
use domain::{Admission, Breaker, BreakerPolicy, BreakerState, TokenBucket, Transition};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::ports::Clock;

/// `[sources.NAME.handler]`'s delivery limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DestinationLimits {
    /// Attempts running at once in this process.
    pub max_in_flight: usize,
    /// Attempts started per second in this process (a token bucket whose
    /// burst is one second's worth); `None`: no limit.
    pub rate_per_second: Option<f64>,
    pub breaker: BreakerPolicy,
}

impl Default for DestinationLimits {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            rate_per_second: None,
            breaker: BreakerPolicy::default(),
        }
    }
}

/// Every destination of a process, by source name.
#[derive(Debug, Default)]
pub struct Destinations {
    configured: HashMap<String, DestinationLimits>,
    default: DestinationLimits,
    by_source: Mutex<HashMap<String, Arc<Destination>>>,
}

impl Destinations {
    /// `configured` limits per source; any other source gets `default`.
    pub fn new(configured: HashMap<String, DestinationLimits>, default: DestinationLimits) -> Self {
        Self {
            configured,
            default,
            by_source: Mutex::default(),
        }
    }

    /// The destination of `source`'s events.
    pub fn get(&self, source: &str) -> Arc<Destination> {
        let mut by_source = self
            .by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Every claimed event comes here: no allocation once it exists.
        if let Some(destination) = by_source.get(source) {
            return destination.clone();
        }
        by_source
            .entry(source.to_owned())
            .or_insert_with(|| {
                let limits = self.configured.get(source).copied().unwrap_or(self.default);
                Arc::new(Destination::new(source, limits))
            })
            .clone()
    }

    /// Sources whose events a claim should leave in the queue at `now`:
    /// paused (or probing), or with twice their `max_in_flight` already
    /// claimed here and not finished.
    pub fn not_claimable(&self, now: DateTime<Utc>) -> Vec<String> {
        let by_source = self
            .by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        by_source
            .values()
            .filter(|d| !d.claimable(now))
            .map(|d| d.name.clone())
            .collect()
    }

    /// Each configured destination's state, sorted by source.
    pub fn report(&self) -> Vec<DestinationReport> {
        let mut names: Vec<&String> = self.configured.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|name| self.get(name).report())
            .collect()
    }
}

/// What an operator sees of a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationReport {
    pub source: String,
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// Attempts running now (holding a slot).
    pub in_flight: usize,
    /// Claimed here and not finished: running, or waiting for a slot.
    pub claimed: usize,
    pub limits: DestinationLimits,
    /// How often the breaker paused the destination since start.
    pub times_opened: u64,
    /// Attempts given back uncharged because the destination was paused.
    pub deferred: u64,
}

#[derive(Debug)]
pub struct Destination {
    name: String,
    limits: DestinationLimits,
    slots: Arc<Semaphore>,
    bucket: Option<Mutex<TokenBucket>>,
    breaker: Mutex<Breaker>,
    /// Bumped whenever the breaker changes, for attempts waiting on a probe.
    changed: watch::Sender<()>,
    claimed: AtomicUsize,
    times_opened: AtomicU64,
    deferred: AtomicU64,
}

/// Whether an attempt may run.
#[derive(Debug)]
pub enum Entry {
    Admitted(Pass),
    /// The destination is paused: give the event back, uncharged, due `until`.
    Deferred {
        until: DateTime<Utc>,
    },
}

impl Destination {
    fn new(name: &str, limits: DestinationLimits) -> Self {
        Self {
            name: name.to_owned(),
            limits,
            slots: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            bucket: limits
                .rate_per_second
                .map(|rate| Mutex::new(TokenBucket::new(rate, rate))),
            breaker: Mutex::new(Breaker::new(limits.breaker)),
            changed: watch::Sender::new(()),
            claimed: AtomicUsize::new(0),
            times_opened: AtomicU64::new(0),
            deferred: AtomicU64::new(0),
        }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.breaker().accepts_work(now)
            && self.claimed.load(Ordering::Relaxed) < self.limits.max_in_flight.saturating_mul(2)
    }

    /// Counts an event claimed for this destination until the guard drops.
    pub fn hold(self: &Arc<Self>) -> Held {
        self.claimed.fetch_add(1, Ordering::Relaxed);
        Held(self.clone())
    }

    /// Waits for a slot (and the rate limit's turn); a paused destination
    /// defers the attempt instead, and while a probe is in flight the
    /// attempt waits for its answer.
    pub async fn enter(self: &Arc<Self>, clock: Arc<dyn Clock>) -> Entry {
        let (permit, probe) = loop {
            let mut changed = self.changed.subscribe();
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                unreachable!("the semaphore is never closed");
            };
            let admission = self.breaker().admit(clock.now());
            match admission {
                Admission::Go => break (permit, false),
                Admission::Probe => {
                    tracing::info!(source = %self.name, "destination paused: probing it with one attempt");
                    break (permit, true);
                }
                Admission::WaitForProbe => {
                    drop(permit);
                    // The sender lives as long as `self`: this cannot fail.
                    let _ = changed.changed().await;
                }
                Admission::Paused { until } => {
                    self.deferred.fetch_add(1, Ordering::Relaxed);
                    return Entry::Deferred { until };
                }
            }
        };
        if let Some(bucket) = &self.bucket {
            let wait = bucket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .reserve(clock.now());
            tokio::time::sleep(wait).await;
        }
        Entry::Admitted(Pass {
            destination: self.clone(),
            clock,
            _permit: permit,
            probe,
            recorded: false,
        })
    }

    /// Records an outcome; for a failed probe, says when its event may be
    /// tried again: not before the pause it caused ends plus one more pause,
    /// so that the next probe is another event and no single event burns its
    /// attempts on probes.
    fn record(&self, healthy: bool, probe: bool, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let transition = self.breaker().record(healthy, probe, now);
        let mut not_before = None;
        match transition {
            Some(Transition::Opened { until, failures }) => {
                self.times_opened.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.name, failures, paused_until = %until,
                    "destination failing: paused; its events wait, uncharged, until a probe succeeds");
                if probe {
                    not_before = Some(until + (until - now));
                }
            }
            Some(Transition::Closed) => {
                tracing::info!(source = %self.name, "destination answered: resumed");
            }
            None if !probe => return None,
            None => {}
        }
        self.changed.send_replace(());
        not_before
    }

    pub fn report(&self) -> DestinationReport {
        let breaker = self.breaker().clone();
        DestinationReport {
            source: self.name.clone(),
            state: breaker.state(),
            consecutive_failures: breaker.consecutive_failures(),
            in_flight: self.limits.max_in_flight.max(1) - self.slots.available_permits(),
            claimed: self.claimed.load(Ordering::Relaxed),
            limits: self.limits,
            times_opened: self.times_opened.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
        }
    }
}

/// An event claimed for a destination and not finished yet.
#[derive(Debug)]
pub struct Held(Arc<Destination>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.claimed.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A running attempt's slot; say how it went with [`Pass::finish`].
pub struct Pass {
    destination: Arc<Destination>,
    clock: Arc<dyn Clock>,
    _permit: OwnedSemaphorePermit,
    probe: bool,
    recorded: bool,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("destination", &self.destination.name)
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

impl Pass {
    /// `healthy`: the destination answered (a success, or a refusal of the
    /// event itself); a timeout, an unreachable target or a 5xx is not.
    /// Returns, for a probe that failed, the earliest its event may be
    /// retried.
    pub fn finish(mut self, healthy: bool) -> Option<DateTime<Utc>> {
        self.recorded = true;
        self.destination
            .record(healthy, self.probe, self.clock.now())
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            // The probe was cancelled (shutdown): let the next attempt probe.
            self.destination.breaker().abandon_probe(self.clock.now());
            self.destination.changed.send_replace(());
        }
    }
}

#[cfg(test)]
mod tests;
