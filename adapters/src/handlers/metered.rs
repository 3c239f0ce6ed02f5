//! Wraps the handler to count attempts and time them
//! (`hookd_attempts_total{source,outcome}`, `hookd_processing_duration_seconds`).

use std::{sync::Arc, time::Instant};

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;
use metrics::{counter, histogram};

/// The handler attempt as the metrics see it. An attempt cut off by the
/// handler timeout is not recorded here (its future is dropped); the
/// attempt history in the database has it.
pub struct Metered(pub Arc<dyn EventHandler>);

impl std::fmt::Debug for Metered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered").finish_non_exhaustive()
    }
}

#[async_trait]
impl EventHandler for Metered {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        let started = Instant::now();
        let result = self.0.handle(event).await;
        histogram!("hookd_processing_duration_seconds").record(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(()) => "succeeded",
            Err(HandlerError::Retryable { .. }) => "retryable",
            Err(HandlerError::Permanent(_)) => "permanent",
        };
        counter!("hookd_attempts_total", "source" => event.source.clone(), "outcome" => outcome)
            .increment(1);
        result
    }
}
