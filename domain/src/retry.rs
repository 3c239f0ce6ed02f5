//! When to try a failed event again, and when to stop.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Exponential backoff with jitter and a cap, plus a limit on attempts.
///
/// The delay after attempt `n` (1-based) is `base * factor^(n-1)`, capped,
/// then spread by ±`jitter` so that events which failed together do not all
/// come back together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub factor: u32,
    pub cap: Duration,
    /// Fraction of the delay to spread either way, in `0.0..1.0`.
    pub jitter: f64,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            factor: 4,
            cap: Duration::from_secs(3600),
            jitter: 0.2,
            max_attempts: 10,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAt(DateTime<Utc>),
    GiveUp,
}

impl RetryPolicy {
    /// The delay after `attempt` failed, before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(63);
        let multiplier = u64::from(self.factor).saturating_pow(exponent);
        let millis = u64::try_from(self.base.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(multiplier);
        Duration::from_millis(millis).min(self.cap)
    }

    /// The delay after `attempt` failed; `unit` is a uniform sample from
    /// `0.0..1.0` (0.5 means no jitter). The result never exceeds the cap.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let spread = self.jitter * (unit.clamp(0.0, 1.0) * 2.0 - 1.0);
        self.base_delay(attempt).mul_f64(1.0 + spread).min(self.cap)
    }

    /// Whether and when to try again after `attempt` failed at `now`.
    /// A `retry_after` hint from the handler (e.g. an HTTP `Retry-After`) is
    /// honoured when it is later than the backoff, up to the cap.
    pub fn decide(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let backoff = self.delay(attempt, unit);
        let wait = retry_after.map_or(backoff, |hint| hint.min(self.cap).max(backoff));
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        RetryDecision::RetryAt(
            now.checked_add_signed(wait)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn defaults_grow_by_four_from_one_second() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = (1..=5).map(|n| policy.base_delay(n)).collect();
        assert_eq!(delays, [secs(1), secs(4), secs(16), secs(64), secs(256)]);
    }

    #[test]
    fn delays_stop_at_the_cap_and_never_overflow() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.base_delay(7), secs(3600));
        assert_eq!(policy.base_delay(u32::MAX), secs(3600));
        assert_eq!(policy.delay(u32::MAX, 1.0), secs(3600));
    }

    #[test]
    fn jitter_spreads_twenty_percent_either_way() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(2, 0.0), Duration::from_millis(3200));
        assert_eq!(policy.delay(2, 0.5), secs(4));
        assert_eq!(policy.delay(2, 1.0), Duration::from_millis(4800));
    }

    #[test]
    fn the_last_attempt_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        assert_eq!(
            policy.decide(2, now, 0.5, None),
            RetryDecision::RetryAt(now + chrono::Duration::seconds(4))
        );
        assert_eq!(policy.decide(3, now, 0.5, None), RetryDecision::GiveUp);
    }

    #[test]
    fn a_later_retry_after_hint_wins_but_is_capped() {
        let policy = RetryPolicy::default();
        let now = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let at = |s| RetryDecision::RetryAt(now + chrono::Duration::seconds(s));
        assert_eq!(policy.decide(1, now, 0.5, Some(secs(30))), at(30));
        assert_eq!(policy.decide(3, now, 0.5, Some(secs(1))), at(16));
        assert_eq!(policy.decide(1, now, 0.5, Some(secs(999_999))), at(3600));
    }
}
