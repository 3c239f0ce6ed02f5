//! A token bucket for one destination's request rate.
//!
//! Each caller reserves the next slot and is told how long to wait for it
//! (the bucket may go into debt), so waiters are served in order without
//! polling. Pure state: every call gets `now`.

use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    /// Tokens at `updated`; negative while slots are reserved ahead.
    tokens: f64,
    updated: Option<DateTime<Utc>>,
}

impl TokenBucket {
    /// `per_second` requests on average, at most `burst` at once after a
    /// quiet spell. Both are at least a tiny positive amount.
    pub fn new(per_second: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            per_second: per_second.max(1e-3),
            burst,
            tokens: burst,
            updated: None,
        }
    }

    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Takes one slot; returns how long to wait before using it.
    pub fn reserve(&mut self, now: DateTime<Utc>) -> Duration {
        if let Some(updated) = self.updated {
            let elapsed = (now - updated).to_std().unwrap_or_default().as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        }
        self.updated = Some(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + millis).unwrap()
    }

    #[test]
    fn a_burst_goes_at_once_then_slots_are_spaced_by_the_rate() {
        let mut bucket = TokenBucket::new(10.0, 2.0);
        assert_eq!(bucket.reserve(at(0)), Duration::ZERO);
        assert_eq!(bucket.reserve(at(0)), Duration::ZERO);
        assert_eq!(bucket.reserve(at(0)), Duration::from_millis(100));
        assert_eq!(bucket.reserve(at(0)), Duration::from_millis(200));
    }

    #[test]
    fn quiet_time_refills_up_to_the_burst_only() {
        let mut bucket = TokenBucket::new(10.0, 2.0);
        bucket.reserve(at(0));
        bucket.reserve(at(0));
        // An hour later: two free slots, not 36,000.
        assert_eq!(bucket.reserve(at(3_600_000)), Duration::ZERO);
        assert_eq!(bucket.reserve(at(3_600_000)), Duration::ZERO);
        assert_eq!(bucket.reserve(at(3_600_000)), Duration::from_millis(100));
    }

    #[test]
    fn over_a_long_run_the_rate_holds() {
        let mut bucket = TokenBucket::new(50.0, 1.0);
        let mut ready = at(0);
        for _ in 0..500 {
            // Each caller comes when the previous slot is ready.
            let wait = bucket.reserve(ready);
            ready += chrono::Duration::from_std(wait).unwrap();
        }
        let spent = (ready - at(0)).num_milliseconds();
        assert!(
            (9_900..=10_000).contains(&spent),
            "500 slots at 50/s: {spent} ms"
        );
    }
}
