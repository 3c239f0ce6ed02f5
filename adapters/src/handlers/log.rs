//! The default handler: logs the event and succeeds.

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;

#[derive(Debug, Clone, Copy, Default)]
pub struct LogHandler;

#[async_trait]
impl EventHandler for LogHandler {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        tracing::info!(
            key = %event.key,
            source = %event.source,
            event_id = %event.event_id,
            event_type = event.event_type.as_deref().unwrap_or("-"),
            attempt = event.attempt,
            "event processed"
        );
        Ok(())
    }
}
