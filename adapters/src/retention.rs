//! Quarantine retention: a loop that deletes rejections older than the
//! configured age, one purge per interval, until shutdown.

use std::{sync::Arc, time::Duration};

use application::ports::{Clock, RejectionQuery};
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
