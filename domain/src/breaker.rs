//! A circuit breaker for one destination: after enough consecutive failures
//! the destination is paused for a cool-down, then tried with a single probe.
//!
//! It opens on consecutive failures *and* a failure ratio: after
//! `failure_threshold` failures in a row, it opens only if at least half of
//! the recent outcomes failed, recent meaning weighted by age with a time
//! constant of [`RATIO_TIME_CONSTANT`]. A few slow requests that time out
//! while every slot is taken (so no success can finish between them) do not
//! pause a target that answers everything else; a target that is down trips
//! it within seconds at any volume.
//!
//! Pure state: every call gets `now`. A "failure" is an attempt the target
//! did not answer usefully (a timeout, a refused connection, a 5xx, a 429);
//! an answer that refuses the event itself (a 4xx) shows the target is up,
//! so it counts as healthy here even though the event is dead.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How fast old outcomes stop counting in the failure ratio (an outcome
/// this old weighs 1/e of a new one).
pub const RATIO_TIME_CONSTANT: Duration = Duration::from_secs(2);

/// The failure ratio at which consecutive failures pause the destination.
const OPEN_RATIO: f64 = 0.5;

/// When a destination is paused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that pause the destination; 0 disables the breaker.
    pub failure_threshold: u32,
    /// The first pause; each failed probe doubles it, up to `max_cool_down`.
    pub cool_down: Duration,
    pub max_cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 10,
            cool_down: Duration::from_secs(30),
            max_cool_down: Duration::from_secs(300),
        }
    }
}

/// Where a breaker stands, as operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Deliveries flow.
    Closed,
    /// Paused until the time given; then one probe is let through.
    Open { until: DateTime<Utc> },
    /// One probe is in flight; everything else waits for its answer.
    Probing,
}

impl BreakerState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open { .. } => "open",
            Self::Probing => "probing",
        }
    }
}

/// What an attempt about to start may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// Go, as the one probe of a paused destination.
    Probe,
    /// A probe is in flight: wait for its answer.
    WaitForProbe,
    /// Paused: do not attempt before `until`.
    Paused {
        until: DateTime<Utc>,
    },
}

/// A change worth logging and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened { until: DateTime<Utc>, failures: u32 },
    Closed,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: BreakerState,
    consecutive_failures: u32,
    cool_down: Duration,
    recent: Recent,
}

/// Outcomes weighted by age: each weighs `exp(-age / RATIO_TIME_CONSTANT)`.
#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    successes: f64,
    failures: f64,
    at: Option<DateTime<Utc>>,
}

impl Recent {
    fn add(&mut self, healthy: bool, now: DateTime<Utc>) {
        if let Some(at) = self.at {
            let age = (now - at).to_std().unwrap_or_default();
            let keep = (-age.as_secs_f64() / RATIO_TIME_CONSTANT.as_secs_f64()).exp();
            self.successes *= keep;
            self.failures *= keep;
        }
        self.at = Some(now);
        if healthy {
            self.successes += 1.0;
        } else {
            self.failures += 1.0;
        }
    }

    fn failure_ratio(&self) -> f64 {
        self.failures / (self.successes + self.failures).max(f64::MIN_POSITIVE)
    }
}

impl Breaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            state: BreakerState::Closed,
            consecutive_failures: 0,
            cool_down: policy.cool_down,
            recent: Recent::default(),
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Whether events for this destination are worth claiming at `now`:
    /// closed, or paused with the cool-down over (the next one is a probe).
    pub fn accepts_work(&self, now: DateTime<Utc>) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until } => now >= until,
            BreakerState::Probing => false,
        }
    }

    /// Decides for one attempt about to start; the first one after a
    /// cool-down becomes the probe.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Admission {
        match self.state {
            BreakerState::Closed => Admission::Go,
            BreakerState::Open { until } if now < until => Admission::Paused { until },
            BreakerState::Open { .. } => {
                self.state = BreakerState::Probing;
                Admission::Probe
            }
            BreakerState::Probing => Admission::WaitForProbe,
        }
    }

    /// Records how an admitted attempt went (`probe`: it was the probe).
    pub fn record(&mut self, healthy: bool, probe: bool, now: DateTime<Utc>) -> Option<Transition> {
        self.recent.add(healthy, now);
        if healthy {
            self.consecutive_failures = 0;
            self.cool_down = self.policy.cool_down;
            if self.state == BreakerState::Closed {
                return None;
            }
            self.state = BreakerState::Closed;
            // A fresh start: the outage's failures no longer count.
            self.recent = Recent::default();
            return Some(Transition::Closed);
        }
        if self.policy.failure_threshold == 0 {
            return None;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let open = match self.state {
            BreakerState::Closed => {
                self.consecutive_failures >= self.policy.failure_threshold
                    && self.recent.failure_ratio() >= OPEN_RATIO
            }
            BreakerState::Probing if probe => {
                self.cool_down = (self.cool_down * 2).min(self.policy.max_cool_down);
                true
            }
            // An attempt started before the pause failed too: already paused.
            BreakerState::Open { .. } | BreakerState::Probing => false,
        };
        open.then(|| {
            let until = now + chrono::Duration::from_std(self.cool_down).unwrap_or_default();
            self.state = BreakerState::Open { until };
            Transition::Opened {
                until,
                failures: self.consecutive_failures,
            }
        })
    }

    /// The probe ended without an answer (its attempt was cancelled): the
    /// next attempt probes again at once.
    pub fn abandon_probe(&mut self, now: DateTime<Utc>) {
        if self.state == BreakerState::Probing {
            self.state = BreakerState::Open { until: now };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn breaker(threshold: u32) -> Breaker {
        Breaker::new(BreakerPolicy {
            failure_threshold: threshold,
            cool_down: Duration::from_secs(10),
            max_cool_down: Duration::from_secs(25),
        })
    }

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures_only() {
        let mut b = breaker(3);
        assert_eq!(b.record(false, false, at(0)), None);
        assert_eq!(b.record(false, false, at(0)), None);
        assert_eq!(
            b.record(true, false, at(0)),
            None,
            "a success resets the count"
        );
        assert_eq!(b.record(false, false, at(1)), None);
        assert_eq!(b.record(false, false, at(1)), None);
        assert_eq!(
            b.record(false, false, at(1)),
            Some(Transition::Opened {
                until: at(11),
                failures: 3
            })
        );
        assert!(!b.accepts_work(at(5)));
        assert_eq!(b.admit(at(5)), Admission::Paused { until: at(11) });
    }

    #[test]
    fn after_the_cool_down_one_probe_goes_and_the_rest_wait_for_it() {
        let mut b = breaker(1);
        b.record(false, false, at(0));
        assert!(b.accepts_work(at(10)));
        assert_eq!(b.admit(at(10)), Admission::Probe);
        assert!(!b.accepts_work(at(10)));
        assert_eq!(b.admit(at(10)), Admission::WaitForProbe);
        assert_eq!(b.record(true, true, at(11)), Some(Transition::Closed));
        assert_eq!(b.admit(at(11)), Admission::Go);
        assert_eq!(b.consecutive_failures(), 0);
    }

    #[test]
    fn a_failed_probe_pauses_again_for_twice_as_long_up_to_the_cap() {
        let mut b = breaker(1);
        b.record(false, false, at(0));
        assert_eq!(b.admit(at(10)), Admission::Probe);
        assert_eq!(
            b.record(false, true, at(10)),
            Some(Transition::Opened {
                until: at(30),
                failures: 2
            })
        );
        assert_eq!(b.admit(at(30)), Admission::Probe);
        let Some(Transition::Opened { until, .. }) = b.record(false, true, at(30)) else {
            panic!("the probe failed: paused again");
        };
        assert_eq!(until, at(55), "capped at 25 s");
        // Once it answers, the next pause starts from the base again.
        assert_eq!(b.admit(at(55)), Admission::Probe);
        b.record(true, true, at(55));
        b.record(false, false, at(56));
        assert_eq!(b.state(), BreakerState::Open { until: at(66) });
    }

    #[test]
    fn failures_of_attempts_started_before_the_pause_change_nothing() {
        let mut b = breaker(1);
        b.record(false, false, at(0));
        assert_eq!(b.record(false, false, at(1)), None);
        assert_eq!(b.state(), BreakerState::Open { until: at(10) });
        assert_eq!(b.admit(at(10)), Admission::Probe);
        assert_eq!(b.record(false, false, at(10)), None, "not the probe");
        assert_eq!(b.state(), BreakerState::Probing);
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_attempt_probe_at_once() {
        let mut b = breaker(1);
        b.record(false, false, at(0));
        assert_eq!(b.admit(at(10)), Admission::Probe);
        b.abandon_probe(at(12));
        assert_eq!(b.admit(at(12)), Admission::Probe);
    }

    #[test]
    fn failures_in_a_row_amid_a_stream_of_successes_do_not_open_it() {
        let mut b = breaker(10);
        let ms = |n: i64| at(0) + chrono::Duration::milliseconds(n);
        // 1,000 answers a second for 5 s…
        for n in 0..5_000 {
            b.record(true, false, ms(n));
        }
        // …then for 1.5 s only timeouts finish: slow requests held every slot.
        for n in 0..20 {
            assert_eq!(b.record(false, false, ms(5_000 + n * 75)), None);
        }
        assert_eq!(b.consecutive_failures(), 20);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_busy_destination_that_goes_down_is_paused_within_seconds() {
        let mut b = breaker(10);
        let ms = |n: i64| at(0) + chrono::Duration::milliseconds(n);
        for n in 0..5_000 {
            b.record(true, false, ms(n));
        }
        let opened = (0..5_000)
            .find_map(|n| b.record(false, false, ms(5_000 + n)).map(|_| n))
            .expect("never paused");
        assert!(
            (1_000..2_000).contains(&opened),
            "after {opened} ms of failures"
        );
    }

    #[test]
    fn a_threshold_of_zero_never_opens() {
        let mut b = breaker(0);
        for _ in 0..100 {
            assert_eq!(b.record(false, false, at(0)), None);
        }
        assert_eq!(b.admit(at(0)), Admission::Go);
    }
}
