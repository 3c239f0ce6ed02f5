//! Recovering attempts whose worker vanished (a crash, a kill, a lost
//! machine): each lost attempt is written into the history, and its event is
//! retried after the usual backoff or, when it has used its attempts, moved to
//! `dead` without running the handler again. This is what bounds an event
//! that takes its process down with it.

use std::sync::Arc;

use domain::{RetryDecision, RetryPolicy};

use crate::ports::{AttemptResult, Clock, EventQueue, LostLease, LostSettlement, QueueError};

/// Most lost attempts handled in one step.
const STEP_LIMIT: u32 = 256;

pub struct RecoverLostLeases {
    queue: Arc<dyn EventQueue>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for RecoverLostLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoverLostLeases")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl RecoverLostLeases {
    pub fn new(queue: Arc<dyn EventQueue>, clock: Arc<dyn Clock>, retry: RetryPolicy) -> Self {
        Self {
            queue,
            clock,
            retry,
        }
    }

    /// Finds lost attempts and settles them; returns how many events were
    /// retried or moved to `dead` (0 when nothing was lost).
    ///
    /// # Errors
    /// [`QueueError`] when the queue cannot be read or written; the lost
    /// leases are found again by the next step.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<usize, QueueError> {
        let mut recovered = 0;
        loop {
            let now = self.clock.now();
            let lost = self.queue.lost_leases(now, STEP_LIMIT).await?;
            if lost.is_empty() {
                return Ok(recovered);
            }
            let full = lost.len() >= STEP_LIMIT as usize;
            let settlements = lost.into_iter().map(|lost| self.judge(lost, now)).collect();
            recovered += self.queue.settle_lost(settlements).await?;
            if !full {
                return Ok(recovered);
            }
        }
    }

    fn judge(&self, lost: LostLease, now: chrono::DateTime<chrono::Utc>) -> LostSettlement {
        let unit = rand::random::<f64>();
        let result = match self.retry.decide(lost.attempt, now, unit, None) {
            RetryDecision::RetryAt(at) => {
                tracing::warn!(key = %lost.key, attempt = lost.attempt, worker = ?lost.worker, retry_at = %at,
                    "attempt lost: its worker vanished; will retry");
                AttemptResult::Retry {
                    at,
                    error: format!(
                        "attempt {} lost: worker {} vanished",
                        lost.attempt, lost.worker
                    ),
                }
            }
            RetryDecision::GiveUp => {
                tracing::warn!(key = %lost.key, attempt = lost.attempt, worker = ?lost.worker,
                    "attempt lost and attempts exhausted; event is dead");
                AttemptResult::Dead {
                    error: format!(
                        "attempts exhausted by lost leases: attempt {} lost (worker {} vanished)",
                        lost.attempt, lost.worker
                    ),
                }
            }
        };
        LostSettlement {
            lost,
            found_at: now,
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use domain::EventKey;

    use super::*;
    use crate::ports::{LeaseToken, MockClock, MockEventQueue};

    fn lost(attempt: u32) -> LostLease {
        LostLease {
            key: EventKey::generate(),
            lease: LeaseToken::generate(),
            attempt,
            worker: "host:1:ab/0".to_owned(),
            started_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_lost_attempt_below_the_ceiling_is_retried_and_one_at_it_is_dead() {
        let now = Utc.timestamp_opt(1_700_000_100, 0).unwrap();
        let mut queue = MockEventQueue::new();
        let (below, at_ceiling) = (lost(1), lost(3));
        let found = vec![below.clone(), at_ceiling.clone()];
        queue
            .expect_lost_leases()
            .times(1)
            .returning(move |_, _| Ok(found.clone()));
        queue
            .expect_settle_lost()
            .times(1)
            .withf(move |settled| {
                settled.len() == 2
                    && matches!(&settled[0].result, AttemptResult::Retry { at, .. } if *at > now)
                    && matches!(&settled[1].result, AttemptResult::Dead { error } if error.contains("exhausted"))
                    && settled.iter().all(|s| s.found_at == now)
            })
            .returning(|settled| Ok(settled.len()));
        let retry = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        let recover = RecoverLostLeases::new(Arc::new(queue), Arc::new(clock), retry);
        assert_eq!(recover.step().await.unwrap(), 2);
    }
}
