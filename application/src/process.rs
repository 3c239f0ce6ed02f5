//! Processing queued events: one step (`process_next_batch`, which keeps
//! the worker full while there is work) that a worker loop calls over and over.

use std::{collections::HashMap, sync::Arc, time::Duration};

use domain::{EventKey, RetryDecision, RetryPolicy};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use self::attempt::{FinishedAttempt, Outcome, run_attempt};

use crate::{
    destinations::Destinations,
    ports::{
        AttemptResult, ClaimedEvent, Clock, EventHandler, EventQueue, HandlerError, LeaseToken,
        QueueError, Settlement,
    },
};

/// Pauses between tries at recording outcomes while the database is
/// unavailable: 100 ms, doubling up to 2 s.
const SETTLE_FIRST_PAUSE: Duration = Duration::from_millis(100);
const SETTLE_LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// How a worker claims and runs events.
#[derive(Debug, Clone, Copy)]
pub struct ProcessorSettings {
    /// Most events claimed (and run concurrently) in one step.
    pub batch_size: u32,
    /// How long a claim stays valid; must exceed `handler_timeout`.
    pub lease: Duration,
    pub handler_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            batch_size: 32,
            lease: Duration::from_secs(300),
            handler_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub claimed: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Outcomes discarded because the lease had been lost meanwhile.
    pub fenced: usize,
    /// Not attempted, given back uncharged: the destination was paused.
    pub deferred: usize,
}

pub struct Processor {
    worker_id: String,
    queue: Arc<dyn EventQueue>,
    handler: Arc<dyn EventHandler>,
    clock: Arc<dyn Clock>,
    settings: ProcessorSettings,
    destinations: Arc<Destinations>,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("worker_id", &self.worker_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Processor {
    pub fn new(
        worker_id: impl Into<String>,
        queue: Arc<dyn EventQueue>,
        handler: Arc<dyn EventHandler>,
        clock: Arc<dyn Clock>,
        settings: ProcessorSettings,
    ) -> Self {
        Self {
            worker_id: worker_id.into(),
            queue,
            handler,
            clock,
            settings,
            destinations: Arc::new(Destinations::default()),
        }
    }

    /// The per-destination limits this worker shares with the process's
    /// other workers (default: each source gets the default limits alone).
    #[must_use]
    pub fn with_destinations(mut self, destinations: Arc<Destinations>) -> Self {
        self.destinations = destinations;
        self
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Most events claimed in one step.
    pub fn batch_size(&self) -> usize {
        self.settings.batch_size as usize
    }

    /// Claims a batch of due events, runs the handler on each (concurrently,
    /// each under the handler timeout, a panic counted as a failure) and
    /// records every outcome as soon as its attempt ends — in the background,
    /// so that the next claim does not wait for the write. It keeps the
    /// worker full: when half of its slots are free and the last claim was
    /// full (there is more work), it claims again while the others still run,
    /// so one slow handler never idles the rest — until `stop_claiming` is
    /// cancelled (already cancelled: one batch). It returns when nothing it
    /// claimed is still running and every outcome is recorded.
    ///
    /// # Errors
    /// [`QueueError`] when the first claim fails; nothing is claimed then.
    ///
    /// Cancelling `abort` stops the handlers still running and releases
    /// their events at once (used when the shutdown grace period is over).
    #[tracing::instrument(skip_all, fields(worker = %self.worker_id))]
    pub async fn process_next_batch(
        &self,
        stop_claiming: &CancellationToken,
        abort: &CancellationToken,
    ) -> Result<BatchReport, QueueError> {
        let capacity = self.settings.batch_size;
        let claimed = self.claim(capacity).await?;
        if claimed.is_empty() {
            return Ok(BatchReport::default());
        }
        let mut report = BatchReport::default();
        let mut running: HashMap<EventKey, LeaseToken> = HashMap::new();
        let mut attempts = JoinSet::new();
        // Outcomes being recorded: the next claim does not wait for them.
        let mut settling: JoinSet<usize> = JoinSet::new();
        let mut more_due = self.start(claimed, &mut running, &mut attempts, &mut report, capacity);
        // Long handlers keep their lease alive: renew it every third of it.
        let beat = self.settings.lease / 3;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        loop {
            tokio::select! {
                finished = attempts.join_next() => {
                    let Some(first) = finished else { break };
                    // Each outcome is recorded as soon as its attempt ends,
                    // together with any others that ended meanwhile: a slow
                    // handler never holds back the batch's finished events.
                    let mut done = vec![first];
                    while let Some(more) = attempts.try_join_next() {
                        done.push(more);
                    }
                    // `run_attempt` itself cannot panic: the handler runs in its own task.
                    let settlements: Vec<_> = done
                        .into_iter()
                        .filter_map(Result::ok)
                        .map(|attempt| {
                            running.remove(&attempt.event.key);
                            self.settlement(attempt, &mut report)
                        })
                        .collect();
                    settling.spawn(
                        settle(
                            self.queue.clone(),
                            self.worker_id.clone(),
                            settlements,
                            self.settings.lease,
                            abort.clone(),
                        )
                        .in_current_span(),
                    );

                    let free = capacity as usize - running.len();
                    if !stop_claiming.is_cancelled() && more_due && free * 2 >= capacity as usize {
                        let wanted = u32::try_from(free).unwrap_or(capacity);
                        match self.claim(wanted).await {
                            Ok(claimed) => {
                                more_due = self.start(claimed, &mut running, &mut attempts, &mut report, wanted);
                            }
                            Err(err) => {
                                tracing::warn!(error = %format!("{err:#}"), "claiming more failed; finishing what runs");
                                more_due = false;
                            }
                        }
                    }
                }
                Some(settled) = settling.join_next(), if !settling.is_empty() => {
                    report.fenced += settled.unwrap_or(0);
                }
                _ = heartbeat.tick() => self.renew(&running).await,
                () = abort.cancelled() => {
                    // Out of time (shutdown grace expired): stop the handlers
                    // and hand their events back for another worker.
                    attempts.abort_all();
                    self.give_back(&running).await;
                    report.failed += running.len();
                    break;
                }
            }
        }
        // Every outcome is recorded (or given up on) before the step ends.
        while let Some(settled) = settling.join_next().await {
            report.fenced += settled.unwrap_or(0);
        }
        Ok(report)
    }

    async fn claim(&self, limit: u32) -> Result<Vec<ClaimedEvent>, QueueError> {
        let now = self.clock.now();
        // Paused destinations, and those with plenty waiting here already,
        // leave their events in the queue (for a replica, or for later).
        let skip = self.destinations.not_claimable(now);
        self.queue
            .claim(&self.worker_id, limit, now, self.settings.lease, &skip)
            .await
    }

    /// Starts an attempt for each claimed event; says whether the claim was
    /// full (more is probably due).
    fn start(
        &self,
        claimed: Vec<ClaimedEvent>,
        running: &mut HashMap<EventKey, LeaseToken>,
        attempts: &mut JoinSet<FinishedAttempt>,
        report: &mut BatchReport,
        asked: u32,
    ) -> bool {
        let full = claimed.len() >= asked as usize;
        report.claimed += claimed.len();
        for event in claimed {
            running.insert(event.key, event.lease);
            let destination = self.destinations.get(&event.source);
            let held = destination.hold();
            attempts.spawn(run_attempt(
                self.handler.clone(),
                self.clock.clone(),
                self.settings.handler_timeout,
                (destination, held),
                event,
            ));
        }
        full
    }

    fn settlement(&self, attempt: FinishedAttempt, report: &mut BatchReport) -> Settlement {
        let result = self.judge(&attempt);
        match result {
            AttemptResult::Succeeded => report.succeeded += 1,
            AttemptResult::Deferred { .. } => report.deferred += 1,
            AttemptResult::Retry { .. } | AttemptResult::Dead { .. } => report.failed += 1,
        }
        Settlement {
            key: attempt.event.key,
            lease: attempt.event.lease,
            attempt: attempt.event.attempt,
            started_at: attempt.started_at,
            finished_at: attempt.finished_at,
            result,
        }
    }

    /// Extends every lease still held, one call per claim (lease token).
    async fn renew(&self, running: &HashMap<EventKey, LeaseToken>) {
        let until = self.clock.now()
            + chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::MAX);
        for (lease, keys) in by_lease(running) {
            let held = keys.len();
            match self.queue.extend(lease, keys, until).await {
                Ok(extended) if extended < held => tracing::warn!(
                    lost = held - extended,
                    "leases lost while handlers ran; their outcomes will be ignored"
                ),
                Ok(_) => tracing::debug!(events = held, "leases extended"),
                Err(err) => tracing::warn!(error = %err, "could not extend leases; will try again"),
            }
        }
    }

    async fn give_back(&self, running: &HashMap<EventKey, LeaseToken>) {
        for (lease, keys) in by_lease(running) {
            match self.queue.release(lease, keys, self.clock.now()).await {
                Ok(released) => {
                    tracing::info!(released, "released unfinished events for other workers")
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not release events; their leases will expire")
                }
            }
        }
    }

    fn judge(&self, attempt: &FinishedAttempt) -> AttemptResult {
        let event = &attempt.event;
        let outcome = match &attempt.outcome {
            Outcome::Ran(outcome) => outcome,
            Outcome::Deferred { until } => {
                tracing::debug!(key = %event.key, until = %until, "destination paused; event given back uncharged");
                return AttemptResult::Deferred { until: *until };
            }
        };
        let (message, retry_after) = match outcome {
            Ok(()) => {
                tracing::debug!(key = %event.key, attempt = event.attempt, "event processed");
                return AttemptResult::Succeeded;
            }
            Err(HandlerError::Permanent(message)) => {
                tracing::warn!(key = %event.key, attempt = event.attempt, error = %message, "event failed permanently");
                return AttemptResult::Dead {
                    error: message.clone(),
                };
            }
            Err(HandlerError::Retryable {
                message,
                retry_after,
            }) => (message, *retry_after),
        };
        let unit = rand::random::<f64>();
        match self
            .settings
            .retry
            .decide(event.attempt, attempt.finished_at, unit, retry_after)
        {
            RetryDecision::RetryAt(at) => {
                let at = attempt
                    .retry_not_before
                    .map_or(at, |not_before| at.max(not_before));
                tracing::info!(key = %event.key, attempt = event.attempt, error = %message, retry_at = %at, "attempt failed; will retry");
                AttemptResult::Retry {
                    at,
                    error: message.clone(),
                }
            }
            RetryDecision::GiveUp => {
                tracing::warn!(key = %event.key, attempt = event.attempt, error = %message, "attempts exhausted; event is dead");
                AttemptResult::Dead {
                    error: message.clone(),
                }
            }
        }
    }
}

/// Records outcomes, trying again while the database is away for as long
/// as their leases may hold (or until `abort`): the work is done, and
/// losing its outcome would mean doing it again once the lease expires
/// (which is what happens if every try fails: the attempt is then recovered
/// as lost). Past the lease a late write is harmless, fenced by the token,
/// but no longer useful. Returns how many outcomes were discarded because
/// their lease had been lost.
async fn settle(
    queue: Arc<dyn EventQueue>,
    worker: String,
    settlements: Vec<Settlement>,
    lease: Duration,
    abort: CancellationToken,
) -> usize {
    let settled = settlements.len();
    // No lease was renewed after its attempt finished, so none outlives this.
    let give_up = tokio::time::Instant::now() + lease;
    let mut wait = SETTLE_FIRST_PAUSE;
    let applied = loop {
        match queue.settle(&worker, settlements.clone()).await {
            Ok(applied) => break applied,
            Err(QueueError::Unavailable(err)) if tokio::time::Instant::now() + wait < give_up => {
                tracing::warn!(error = %format!("{err:#}"), "recording outcomes failed; retrying");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = abort.cancelled() => {
                        tracing::error!(events = settled,
                            "shutting down with outcomes unrecorded; the attempts will be recovered as lost");
                        return 0;
                    }
                }
                wait = (wait * 2).min(SETTLE_LONGEST_PAUSE);
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), events = settled,
                    "outcomes could not be recorded; the attempts will be recovered as lost");
                return 0;
            }
        }
    };
    let fenced = settled - applied.min(settled);
    if fenced > 0 {
        tracing::warn!(
            fenced,
            "outcomes discarded: their leases expired and the events were claimed again"
        );
    }
    fenced
}

/// The running events grouped by the claim (lease token) that holds them.
fn by_lease(running: &HashMap<EventKey, LeaseToken>) -> HashMap<LeaseToken, Vec<EventKey>> {
    let mut groups: HashMap<LeaseToken, Vec<EventKey>> = HashMap::new();
    for (key, lease) in running {
        groups.entry(*lease).or_default().push(*key);
    }
    groups
}

mod attempt;
#[cfg(test)]
mod tests;
