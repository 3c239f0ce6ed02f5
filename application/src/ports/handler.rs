//! What processing an event means: the port users implement.

use std::time::Duration;

use async_trait::async_trait;

use super::ClaimedEvent;

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth another attempt later (a timeout, a 503...). `retry_after` is a
    /// hint from the downstream system, honoured up to the backoff cap.
    #[error("{message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed (the downstream refused the event itself): the
    /// event goes to `dead` at once.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Processes one event. hookd calls it at least once per event and, barring
/// a lost lease (a crash or a handler outliving its lease), exactly once.
///
/// Implement this to run your own code on events, and register it for a
/// source in `bootstrap` (see the README, "Writing your own handler").
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// # Errors
    /// [`HandlerError::Retryable`] to be called again after a backoff,
    /// [`HandlerError::Permanent`] to give up on the event. A panic or
    /// running past the handler timeout counts as retryable.
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError>;
}
