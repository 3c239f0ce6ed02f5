//! Retention of finished events: processed and dead events older than their
//! configured age are deleted, with their attempt history, in bounded batches
//! so that no statement is large and the writer is never held for long.

use std::{sync::Arc, time::Duration};

use crate::ports::{Clock, EventRetention, Finished, QueryError};

/// Rows deleted per statement.
pub const RETENTION_BATCH: u32 = 1_000;
/// Batches per state per sweep: a backlog of old events is worked off over
/// several sweeps rather than in one long burst.
const MAX_BATCHES_PER_SWEEP: u32 = 1_000;

/// How long finished events are kept; `None` keeps them forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub processed: Option<Duration>,
    pub dead: Option<Duration>,
}

impl RetentionPolicy {
    /// Whether anything is ever deleted.
    pub fn is_active(&self) -> bool {
        self.processed.is_some() || self.dead.is_some()
    }

    fn keep(&self, state: Finished) -> Option<Duration> {
        match state {
            Finished::Processed => self.processed,
            Finished::Dead => self.dead,
        }
    }
}

/// What one sweep deleted, per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub processed: u64,
    pub dead: u64,
}

pub struct SweepFinishedEvents {
    retention: Arc<dyn EventRetention>,
    clock: Arc<dyn Clock>,
    policy: RetentionPolicy,
    batch: u32,
}

impl std::fmt::Debug for SweepFinishedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepFinishedEvents")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SweepFinishedEvents {
    pub fn new(
        retention: Arc<dyn EventRetention>,
        clock: Arc<dyn Clock>,
        policy: RetentionPolicy,
    ) -> Self {
        Self {
            retention,
            clock,
            policy,
            batch: RETENTION_BATCH,
        }
    }

    /// Rows per statement (tests use small batches).
    #[must_use]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// One sweep: for each state with a retention, deletes batch after batch
    /// until a batch comes back short (nothing older is left).
    ///
    /// # Errors
    /// The store's [`QueryError`]; what was deleted before it stays deleted.
    #[tracing::instrument(skip(self))]
    pub async fn sweep(&self) -> Result<SweepReport, QueryError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for state in [Finished::Processed, Finished::Dead] {
            let Some(keep) = self.policy.keep(state) else {
                continue;
            };
            let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
            let Some(before) = now.checked_sub_signed(keep) else {
                continue;
            };
            let mut after = None;
            for _ in 0..MAX_BATCHES_PER_SWEEP {
                let deleted = self
                    .retention
                    .delete_finished(state, before, after, self.batch)
                    .await?;
                match state {
                    Finished::Processed => report.processed += deleted.events,
                    Finished::Dead => report.dead += deleted.events,
                }
                if deleted.events < u64::from(self.batch) {
                    break;
                }
                after = deleted.last;
                // Between batches, let intake and workers have the writer.
                tokio::task::yield_now().await;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use domain::EventKey;
    use mockall::predicate::eq;

    use super::*;
    use crate::ports::{Deleted, MockClock, MockEventRetention};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn clock(now: DateTime<Utc>) -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        Arc::new(clock)
    }

    #[tokio::test]
    async fn each_state_is_deleted_in_batches_until_one_comes_back_short() {
        let now = at(1_800_000_000);
        let first = EventKey::generate();
        let mut store = MockEventRetention::new();
        let mut seq = mockall::Sequence::new();
        store
            .expect_delete_finished()
            .with(
                eq(Finished::Processed),
                eq(at(1_800_000_000 - 60)),
                eq(None),
                eq(2),
            )
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _, _, _| {
                Ok(Deleted {
                    events: 2,
                    last: Some(first),
                })
            });
        store
            .expect_delete_finished()
            .with(
                eq(Finished::Processed),
                eq(at(1_800_000_000 - 60)),
                eq(Some(first)),
                eq(2),
            )
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| {
                Ok(Deleted {
                    events: 1,
                    last: None,
                })
            });
        store
            .expect_delete_finished()
            .with(
                eq(Finished::Dead),
                eq(at(1_800_000_000 - 3600)),
                eq(None),
                eq(2),
            )
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(Deleted::default()));
        let policy = RetentionPolicy {
            processed: Some(Duration::from_secs(60)),
            dead: Some(Duration::from_secs(3600)),
        };
        let report = SweepFinishedEvents::new(Arc::new(store), clock(now), policy)
            .with_batch(2)
            .sweep()
            .await
            .unwrap();
        assert_eq!(
            report,
            SweepReport {
                processed: 3,
                dead: 0
            }
        );
    }

    #[tokio::test]
    async fn a_state_kept_forever_is_never_touched() {
        let mut store = MockEventRetention::new();
        store
            .expect_delete_finished()
            .withf(|state, _, _, _| *state == Finished::Dead)
            .times(1)
            .returning(|_, _, _, _| Ok(Deleted::default()));
        let policy = RetentionPolicy {
            processed: None,
            dead: Some(Duration::from_secs(1)),
        };
        assert!(policy.is_active());
        assert!(!RetentionPolicy::default().is_active());
        let report = SweepFinishedEvents::new(Arc::new(store), clock(at(1_800_000_000)), policy)
            .sweep()
            .await
            .unwrap();
        assert_eq!(report, SweepReport::default());
    }
}
