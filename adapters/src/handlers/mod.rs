//! Event handlers: what processing an event does, chosen per source.

mod forward;
mod log;
mod metered;

use std::{collections::HashMap, sync::Arc};

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;

pub use self::{forward::ForwardHandler, log::LogHandler, metered::Metered};

/// Routes each event to its source's handler (the log handler for others).
pub struct PerSource {
    by_source: HashMap<String, Arc<dyn EventHandler>>,
    fallback: Arc<dyn EventHandler>,
}

impl std::fmt::Debug for PerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerSource")
            .field("sources", &self.by_source.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PerSource {
    pub fn new(by_source: HashMap<String, Arc<dyn EventHandler>>) -> Self {
        Self {
            by_source,
            fallback: Arc::new(LogHandler),
        }
    }
}

#[async_trait]
impl EventHandler for PerSource {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        self.by_source
            .get(&event.source)
            .unwrap_or(&self.fallback)
            .handle(event)
            .await
    }
}
