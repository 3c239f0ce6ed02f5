//! One attempt at one event: wait for the destination's turn, run the
//! handler in its own task under the timeout, tell the destination how it went.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::task::AbortHandle;
use tracing::Instrument as _;

use crate::{
    destinations::{Destination, Entry, Held},
    ports::{ClaimedEvent, Clock, EventHandler, HandlerError},
};

pub(super) struct FinishedAttempt {
    pub(super) event: ClaimedEvent,
    pub(super) started_at: DateTime<Utc>,
    pub(super) finished_at: DateTime<Utc>,
    pub(super) outcome: Outcome,
    /// A failed probe's event is not retried before this (see `Pass::finish`).
    pub(super) retry_not_before: Option<DateTime<Utc>>,
}

pub(super) enum Outcome {
    Ran(Result<(), HandlerError>),
    /// The handler never ran: the destination was paused until `until`.
    Deferred {
        until: DateTime<Utc>,
    },
}

/// One attempt: waits for the destination's turn (the handler timeout starts
/// after that), runs the handler, and tells the destination how it went.
pub(super) async fn run_attempt(
    handler: Arc<dyn EventHandler>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    (destination, _held): (Arc<Destination>, Held),
    event: ClaimedEvent,
) -> FinishedAttempt {
    let pass = match destination.enter(clock.clone()).await {
        Entry::Admitted(pass) => pass,
        Entry::Deferred { until } => {
            let now = clock.now();
            return FinishedAttempt {
                event,
                started_at: now,
                finished_at: now,
                outcome: Outcome::Deferred { until },
                retry_not_before: None,
            };
        }
    };
    let started_at = clock.now();
    let for_handler = event.clone();
    // Its own task, so that a panic is caught as a `JoinError` and a timeout
    // drops the handler's future; aborting this attempt aborts that task too.
    // Every log line of the attempt carries the request id of the delivery.
    let span = tracing::info_span!(
        "attempt",
        key = %event.key,
        source = %event.source,
        event_id = %event.event_id,
        attempt = event.attempt,
        request_id = event.request_id.as_deref().unwrap_or_default(),
    );
    let run = tokio::spawn(
        async move { tokio::time::timeout(timeout, handler.handle(&for_handler)).await }
            .instrument(span),
    );
    let _abort_with_attempt = AbortOnDrop(run.abort_handle());
    let outcome = match run.await {
        Ok(Ok(result)) => result,
        Ok(Err(_elapsed)) => Err(HandlerError::retryable(format!(
            "handler timed out after {}s",
            timeout.as_secs_f64()
        ))),
        Err(join) if join.is_panic() => Err(HandlerError::retryable("handler panicked")),
        Err(_) => Err(HandlerError::retryable("handler was cancelled")),
    };
    // A refusal of the event itself (permanent) still shows the target is up.
    let retry_not_before = pass.finish(!matches!(outcome, Err(HandlerError::Retryable { .. })));
    FinishedAttempt {
        event,
        started_at,
        finished_at: clock.now(),
        outcome: Outcome::Ran(outcome),
        retry_not_before,
    }
}

/// Aborts a task when dropped (the attempt awaiting it was cancelled).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
