//! Re-queueing finished events: one by id, or every one matching a filter.

use std::sync::Arc;

use domain::{EventKey, EventStatus};
use tokio::sync::Notify;

use crate::ports::{Clock, EventReplay, QueryError, ReplayFilter, ReplayOutcome};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("only processed or dead events can be replayed, not {0}")]
    InvalidStatus(EventStatus),
    #[error(transparent)]
    Store(#[from] QueryError),
}

pub struct ReplayEvents {
    replay: Arc<dyn EventReplay>,
    clock: Arc<dyn Clock>,
    new_work: Arc<Notify>,
}

impl std::fmt::Debug for ReplayEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayEvents").finish_non_exhaustive()
    }
}

impl ReplayEvents {
    pub fn new(replay: Arc<dyn EventReplay>, clock: Arc<dyn Clock>, new_work: Arc<Notify>) -> Self {
        Self {
            replay,
            clock,
            new_work,
        }
    }

    /// # Errors
    /// [`ReplayError::Store`] when the store fails.
    #[tracing::instrument(skip(self))]
    pub async fn one(&self, key: EventKey) -> Result<ReplayOutcome, ReplayError> {
        let outcome = self.replay.replay_one(key, self.clock.now()).await?;
        if outcome == ReplayOutcome::Requeued {
            tracing::info!(%key, "event re-queued");
            self.new_work.notify_one();
        }
        Ok(outcome)
    }

    /// # Errors
    /// [`ReplayError::InvalidStatus`] for a status filter other than
    /// `processed` or `dead`; [`ReplayError::Store`] when the store fails.
    #[tracing::instrument(skip(self))]
    pub async fn matching(&self, filter: &ReplayFilter) -> Result<u64, ReplayError> {
        if let Some(status) = filter.status.filter(|status| !status.is_final()) {
            return Err(ReplayError::InvalidStatus(status));
        }
        let count = self
            .replay
            .replay_matching(filter, self.clock.now())
            .await?;
        tracing::info!(count, "events re-queued");
        if count > 0 {
            self.new_work.notify_one();
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockEventReplay, SystemClock};

    #[tokio::test]
    async fn a_filter_on_an_unfinished_status_is_refused_before_the_store() {
        let mut replay = MockEventReplay::new();
        replay.expect_replay_matching().never();
        let use_case = ReplayEvents::new(
            Arc::new(replay),
            Arc::new(SystemClock),
            Arc::new(Notify::new()),
        );
        let filter = ReplayFilter {
            status: Some(EventStatus::Processing),
            ..ReplayFilter::default()
        };
        assert!(matches!(
            use_case.matching(&filter).await,
            Err(ReplayError::InvalidStatus(EventStatus::Processing))
        ));
    }

    #[tokio::test]
    async fn a_requeued_event_wakes_a_worker() {
        let mut replay = MockEventReplay::new();
        replay
            .expect_replay_one()
            .returning(|_, _| Ok(ReplayOutcome::Requeued));
        let new_work = Arc::new(Notify::new());
        let use_case = ReplayEvents::new(Arc::new(replay), Arc::new(SystemClock), new_work.clone());
        assert_eq!(
            use_case.one(EventKey::generate()).await.unwrap(),
            ReplayOutcome::Requeued
        );
        let woken = tokio::time::timeout(std::time::Duration::ZERO, new_work.notified()).await;
        assert!(woken.is_ok());
    }
}
