//! The worker loop: a thin loop around `Processor::process_next_batch`.

use std::{sync::Arc, time::Duration};

use application::{Processor, RecoverLostLeases};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Runs one worker until `shutdown` is cancelled. A batch in flight is
/// finished (and its outcomes recorded) before the loop looks at `shutdown`,
/// unless `abort` is cancelled too (the grace period is over): then its
/// unfinished events are released for other workers.
///
/// It wakes on `new_work` (an event was just stored in this process), or
/// every `poll` as a fallback (events stored by other replicas, retries that
/// came due, leases that expired).
pub async fn run_worker(
    processor: Processor,
    new_work: Arc<Notify>,
    poll: Duration,
    shutdown: CancellationToken,
    abort: CancellationToken,
) {
    let worker = processor.worker_id().to_owned();
    let batch_size = processor.batch_size();
    tracing::debug!(%worker, "worker started");
    while !shutdown.is_cancelled() {
        match processor.process_next_batch(&shutdown, &abort).await {
            Ok(report) if report.claimed > 0 => {
                // There may be more: go again, and after a full batch let an
                // idle worker help.
                if report.claimed >= batch_size {
                    new_work.notify_one();
                }
                continue;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%worker, error = %format!("{err:#}"), "claiming failed; will retry after the poll interval");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = new_work.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!(%worker, "worker stopped: shutdown requested");
}

/// Recovers lost attempts (see `RecoverLostLeases`): once at start, so a
/// restarted instance takes over what it or a dead replica left behind at
/// once, then every `interval` until `shutdown`. Wakes the workers when it
/// put events back in the queue.
pub async fn run_recovery(
    recover: RecoverLostLeases,
    new_work: Arc<Notify>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match recover.step().await {
            Ok(0) => {}
            Ok(recovered) => {
                tracing::info!(recovered, "lost attempts recovered");
                new_work.notify_one();
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "recovering lost attempts failed; will retry");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    tracing::info!("lease recovery stopped: shutdown requested");
}
