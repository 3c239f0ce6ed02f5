use std::time::Duration;

use tokio::time::Instant;

use super::*;

/// Wall time that follows tokio's paused clock, so that the breaker's
/// cool-downs and the rate limit's waits move together.
struct TokioClock {
    start: Instant,
    epoch: DateTime<Utc>,
}

impl TokioClock {
    fn started() -> Arc<dyn Clock> {
        Arc::new(Self {
            start: Instant::now(),
            epoch: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        })
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.epoch + chrono::Duration::from_std(self.start.elapsed()).unwrap()
    }
}

fn destination(max_in_flight: usize, rate: Option<f64>, threshold: u32) -> Arc<Destination> {
    let limits = DestinationLimits {
        max_in_flight,
        rate_per_second: rate,
        breaker: BreakerPolicy {
            failure_threshold: threshold,
            cool_down: Duration::from_secs(10),
            max_cool_down: Duration::from_secs(60),
        },
    };
    Destinations::new(HashMap::from([("target".to_owned(), limits)]), limits).get("target")
}

async fn admitted(destination: &Arc<Destination>, clock: &Arc<dyn Clock>) -> Pass {
    match destination.enter(clock.clone()).await {
        Entry::Admitted(pass) => pass,
        Entry::Deferred { until } => panic!("deferred until {until}"),
    }
}

#[tokio::test(start_paused = true)]
async fn no_more_than_max_in_flight_attempts_run_at_once() {
    let clock = TokioClock::started();
    let target = destination(2, None, 0);
    let first = admitted(&target, &clock).await;
    let _second = admitted(&target, &clock).await;
    let third = tokio::spawn({
        let (target, clock) = (target.clone(), clock.clone());
        async move { admitted(&target, &clock).await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!third.is_finished(), "a third attempt ran beside two");
    assert_eq!(target.report().in_flight, 2);
    first.finish(true);
    let _third = third.await.unwrap();
    assert_eq!(target.report().in_flight, 2);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_attempt_starts() {
    let clock = TokioClock::started();
    let target = destination(100, Some(5.0), 0);
    let started = Instant::now();
    for _ in 0..15 {
        admitted(&target, &clock).await.finish(true);
    }
    // A burst of 5, then 10 more at 5 per second.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_failing_destination_is_paused_then_probed_and_resumed() {
    let clock = TokioClock::started();
    let target = destination(4, None, 2);
    let destinations_view = || target.claimable(clock.now());
    admitted(&target, &clock).await.finish(false);
    assert!(destinations_view());
    admitted(&target, &clock).await.finish(false);
    assert!(!destinations_view(), "paused: its events stay in the queue");
    assert_eq!(target.report().times_opened, 1);
    let Entry::Deferred { until } = target.enter(clock.clone()).await else {
        panic!("a paused destination ran an attempt");
    };
    assert_eq!(until, clock.now() + chrono::Duration::seconds(10));
    assert_eq!(target.report().deferred, 1);

    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(destinations_view(), "the cool-down is over: claim a probe");
    let probe = admitted(&target, &clock).await;
    assert!(
        !destinations_view(),
        "nothing more is claimed while probing"
    );
    let waiting = tokio::spawn({
        let (target, clock) = (target.clone(), clock.clone());
        async move { admitted(&target, &clock).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "ran beside the probe");
    probe.finish(true);
    waiting.await.unwrap().finish(true);
    assert_eq!(target.report().state, BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn attempts_waiting_on_a_failed_probe_are_deferred() {
    let clock = TokioClock::started();
    let target = destination(4, None, 1);
    admitted(&target, &clock).await.finish(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let probe = admitted(&target, &clock).await;
    let waiting = tokio::spawn({
        let (target, clock) = (target.clone(), clock.clone());
        async move { target.enter(clock).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let not_before = probe.finish(false);
    let Entry::Deferred { until } = waiting.await.unwrap() else {
        panic!("ran after the probe failed");
    };
    assert_eq!(
        until,
        clock.now() + chrono::Duration::seconds(20),
        "twice the cool-down"
    );
    // The probe's own event sits out the next probe: another event goes.
    assert_eq!(not_before, Some(until + chrono::Duration::seconds(20)));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_lets_the_next_attempt_probe() {
    let clock = TokioClock::started();
    let target = destination(4, None, 1);
    admitted(&target, &clock).await.finish(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    drop(admitted(&target, &clock).await);
    let _next = admitted(&target, &clock).await;
    assert_eq!(target.report().state, BreakerState::Probing);
}

#[tokio::test(start_paused = true)]
async fn a_destination_with_twice_its_slots_claimed_is_not_claimed_from() {
    let clock = TokioClock::started();
    let destinations = Destinations::new(
        HashMap::from([(
            "slow".to_owned(),
            DestinationLimits {
                max_in_flight: 2,
                ..DestinationLimits::default()
            },
        )]),
        DestinationLimits::default(),
    );
    let slow = destinations.get("slow");
    let held: Vec<Held> = (0..3).map(|_| slow.hold()).collect();
    assert!(destinations.not_claimable(clock.now()).is_empty());
    let fourth = slow.hold();
    assert_eq!(
        destinations.not_claimable(clock.now()),
        vec!["slow".to_owned()]
    );
    drop(fourth);
    assert!(destinations.not_claimable(clock.now()).is_empty());
    drop(held);
    assert_eq!(slow.report().claimed, 0);
}
