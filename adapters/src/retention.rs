//! Retention loops: the quarantine's (rejections older than the configured
//! age) and the events' (processed and dead events past theirs), each one
//! sweep per interval until shutdown.

use std::{sync::Arc, time::Duration};

use application::{
    SweepFinishedEvents,
    ports::{Clock, RejectionQuery},
};
use metrics::counter;
use tokio_util::sync::CancellationToken;

/// Purges rejections older than `keep` now and then every `every`.
pub async fn run_rejection_retention(
    rejections: Arc<dyn RejectionQuery>,
    clock: Arc<dyn Clock>,
    keep: Duration,
    every: Duration,
    shutdown: CancellationToken,
) {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    loop {
        let cutoff = clock.now().checked_sub_signed(keep).unwrap_or_default();
        match rejections.purge_before(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "old rejections deleted"),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "could not delete old rejections")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    tracing::info!("quarantine retention stopped");
}

/// Sweeps old finished events now and then every `every`, counting what it
/// deletes in `hookd_retention_deleted_total{status}`.
pub async fn run_event_retention(
    sweeper: SweepFinishedEvents,
    every: Duration,
    shutdown: CancellationToken,
) {
    let processed = counter!("hookd_retention_deleted_total", "status" => "processed");
    let dead = counter!("hookd_retention_deleted_total", "status" => "dead");
    loop {
        // A sweep is a series of short transactions; shutdown drops it at
        // once (a batch in flight is rolled back, the next sweep redoes it).
        let swept = tokio::select! {
            () = shutdown.cancelled() => break,
            swept = sweeper.sweep() => swept,
        };
        match swept {
            Ok(report) => {
                processed.increment(report.processed);
                dead.increment(report.dead);
                if report.processed + report.dead > 0 {
                    tracing::info!(
                        processed = report.processed,
                        dead = report.dead,
                        "old events deleted"
                    );
                }
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "could not delete old events")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    tracing::info!("event retention stopped");
}
