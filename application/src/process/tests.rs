use std::sync::{
    Mutex,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use domain::EventKey;

use super::*;
use crate::ports::{LeaseToken, MockEventQueue, SystemClock};

fn event(attempt: u32) -> ClaimedEvent {
    ClaimedEvent {
        key: EventKey::generate(),
        source: "default".into(),
        event_id: format!("evt_{attempt}"),
        event_type: None,
        body: Bytes::from_static(b"{}"),
        content_type: None,
        received_at: Utc::now(),
        attempt,
        lease: LeaseToken::generate(),
        request_id: None,
    }
}

/// A `stop_claiming` token that is already cancelled: one batch, no refill.
fn one_batch() -> CancellationToken {
    let stop = CancellationToken::new();
    stop.cancel();
    stop
}

/// A handler whose behaviour is a closure: tiny, real, no mocking needed.
struct FnHandler<F>(F);

#[async_trait]
impl<F> EventHandler for FnHandler<F>
where
    F: Fn(&ClaimedEvent) -> Result<(), HandlerError> + Send + Sync,
{
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        if event.event_id == "slow" {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        (self.0)(event)
    }
}

/// Runs one step over `events` and returns what was settled.
async fn settle_one_batch(
    events: Vec<ClaimedEvent>,
    handler: impl EventHandler + 'static,
    applied: Option<usize>,
) -> (BatchReport, Vec<Settlement>) {
    let settled = Arc::new(Mutex::new(Vec::new()));
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .times(1)
        .return_once(move |_, _, _, _, _| Ok(events));
    let sink = settled.clone();
    // `applied`: how many outcomes the queue accepts in all (fencing).
    let mut accept = applied.unwrap_or(usize::MAX);
    queue
        .expect_settle()
        .times(1..)
        .returning(move |_, settlements| {
            let n = settlements.len().min(accept);
            accept -= n;
            sink.lock().unwrap().extend(settlements);
            Ok(n)
        });
    let settings = ProcessorSettings {
        handler_timeout: Duration::from_millis(50),
        retry: RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        },
        ..ProcessorSettings::default()
    };
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(handler),
        Arc::new(SystemClock),
        settings,
    );
    let report = processor
        .process_next_batch(&one_batch(), &CancellationToken::new())
        .await
        .unwrap();
    let settled = settled.lock().unwrap().clone();
    (report, settled)
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_settles_nothing() {
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .returning(|_, _, _, _, _| Ok(Vec::new()));
    queue.expect_settle().never();
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(FnHandler(|_: &ClaimedEvent| Ok(()))),
        Arc::new(SystemClock),
        ProcessorSettings::default(),
    );
    assert_eq!(
        processor
            .process_next_batch(&one_batch(), &CancellationToken::new())
            .await
            .unwrap(),
        BatchReport::default()
    );
}

#[tokio::test(start_paused = true)]
async fn a_successful_attempt_is_settled_with_its_lease() {
    let claimed = event(1);
    let (key, lease) = (claimed.key, claimed.lease);
    let (report, settled) =
        settle_one_batch(vec![claimed], FnHandler(|_: &ClaimedEvent| Ok(())), None).await;
    assert_eq!(report.succeeded, 1);
    assert_eq!(settled[0].result, AttemptResult::Succeeded);
    assert_eq!(
        (settled[0].key, settled[0].lease, settled[0].attempt),
        (key, lease, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_is_retried_after_the_backoff() {
    let handler = FnHandler(|_: &ClaimedEvent| Err(HandlerError::retryable("downstream 503")));
    let (report, settled) = settle_one_batch(vec![event(2)], handler, None).await;
    assert_eq!(report.failed, 1);
    let AttemptResult::Retry { at, error } = &settled[0].result else {
        panic!("expected a retry, got {:?}", settled[0].result)
    };
    assert_eq!(error, "downstream 503");
    // Attempt 2 waits 4 s ± 20 %.
    let wait = (*at - settled[0].finished_at).num_milliseconds();
    assert!((3200..=4800).contains(&wait), "{wait}");
}

#[tokio::test(start_paused = true)]
async fn the_last_allowed_attempt_goes_dead() {
    let handler = FnHandler(|_: &ClaimedEvent| Err(HandlerError::retryable("still failing")));
    let (_, settled) = settle_one_batch(vec![event(3)], handler, None).await;
    assert_eq!(
        settled[0].result,
        AttemptResult::Dead {
            error: "still failing".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_goes_dead_at_once() {
    let handler =
        FnHandler(|_: &ClaimedEvent| Err(HandlerError::Permanent("400 Bad Request".into())));
    let (_, settled) = settle_one_batch(vec![event(1)], handler, None).await;
    assert_eq!(
        settled[0].result,
        AttemptResult::Dead {
            error: "400 Bad Request".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_a_retryable_failure() {
    let handler = FnHandler(|_: &ClaimedEvent| -> Result<(), HandlerError> { panic!("boom") });
    let (_, settled) = settle_one_batch(vec![event(1)], handler, None).await;
    assert!(
        matches!(&settled[0].result, AttemptResult::Retry { error, .. } if error == "handler panicked")
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_past_its_timeout_is_a_retryable_failure() {
    let mut slow = event(1);
    slow.event_id = "slow".into();
    let (_, settled) =
        settle_one_batch(vec![slow], FnHandler(|_: &ClaimedEvent| Ok(())), None).await;
    assert!(
        matches!(&settled[0].result, AttemptResult::Retry { error, .. } if error.contains("timed out"))
    );
}

#[tokio::test(start_paused = true)]
async fn outcomes_refused_by_fencing_are_reported() {
    let (report, _) = settle_one_batch(
        vec![event(1), event(1)],
        FnHandler(|_: &ClaimedEvent| Ok(())),
        Some(1),
    )
    .await;
    assert_eq!((report.claimed, report.fenced), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_long_handler_keeps_its_lease_alive() {
    let claimed = event(1);
    let key = claimed.key;
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .return_once(move |_, _, _, _, _| Ok(vec![claimed]));
    queue
        .expect_extend()
        .withf(move |_, keys, _| keys == &[key])
        .times(2..)
        .returning(|_, keys, _| Ok(keys.len()));
    queue.expect_settle().returning(|_, s| Ok(s.len()));
    struct Slow;
    #[async_trait]
    impl EventHandler for Slow {
        async fn handle(&self, _: &ClaimedEvent) -> Result<(), HandlerError> {
            tokio::time::sleep(Duration::from_millis(350)).await;
            Ok(())
        }
    }
    let settings = ProcessorSettings {
        lease: Duration::from_millis(300),
        handler_timeout: Duration::from_secs(5),
        ..ProcessorSettings::default()
    };
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(Slow),
        Arc::new(SystemClock),
        settings,
    );
    let report = processor
        .process_next_batch(&one_batch(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.succeeded, 1);
}

#[tokio::test(start_paused = true)]
async fn an_abort_releases_the_events_still_running() {
    let mut stuck = event(1);
    stuck.event_id = "slow".into();
    let key = stuck.key;
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .return_once(move |_, _, _, _, _| Ok(vec![stuck]));
    queue
        .expect_release()
        .withf(move |_, keys, _| keys == &[key])
        .times(1)
        .returning(|_, keys, _| Ok(keys.len()));
    queue.expect_settle().returning(|_, s| Ok(s.len()));
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(FnHandler(|_: &ClaimedEvent| Ok(()))),
        Arc::new(SystemClock),
        ProcessorSettings::default(),
    );
    let abort = CancellationToken::new();
    let cancel = abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let report = processor
        .process_next_batch(&one_batch(), &abort)
        .await
        .unwrap();
    assert_eq!((report.claimed, report.failed, report.succeeded), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_finished_attempt_is_settled_while_a_slow_one_still_runs() {
    let fast = event(1);
    let mut slow = event(1);
    slow.event_id = "slow".into();
    let (fast_key, slow_key) = (fast.key, slow.key);
    let settled_at = Arc::new(Mutex::new(Vec::new()));
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .return_once(move |_, _, _, _, _| Ok(vec![slow, fast]));
    let sink = settled_at.clone();
    queue.expect_settle().returning(move |_, settlements| {
        let keys: Vec<_> = settlements.iter().map(|s| s.key).collect();
        sink.lock()
            .unwrap()
            .push((tokio::time::Instant::now(), keys));
        Ok(settlements.len())
    });
    queue.expect_extend().returning(|_, keys, _| Ok(keys.len()));
    queue
        .expect_release()
        .withf(move |_, keys, _| keys == &[slow_key])
        .times(1)
        .returning(|_, keys, _| Ok(keys.len()));
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(FnHandler(|_: &ClaimedEvent| Ok(()))),
        Arc::new(SystemClock),
        ProcessorSettings {
            handler_timeout: Duration::from_secs(7200),
            lease: Duration::from_secs(9000),
            ..ProcessorSettings::default()
        },
    );
    let started = tokio::time::Instant::now();
    let abort = CancellationToken::new();
    let cancel = abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(600)).await;
        cancel.cancel();
    });
    let report = processor
        .process_next_batch(&one_batch(), &abort)
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.failed), (1, 1));
    let settled_at = settled_at.lock().unwrap().clone();
    assert_eq!(settled_at.len(), 1);
    let (at, keys) = &settled_at[0];
    assert_eq!(keys, &[fast_key]);
    // Settled at once, not when the slow one was given up after 600 s.
    assert!(*at - started < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_does_not_idle_the_rest_of_the_worker() {
    let mut slow = event(1);
    slow.event_id = "slow".into();
    let claims = Arc::new(Mutex::new(vec![
        vec![event(1)],
        vec![event(1)],
        vec![slow, event(1)],
    ]));
    let mut queue = MockEventQueue::new();
    let next = claims.clone();
    queue
        .expect_claim()
        .times(4)
        .returning(move |_, _, _, _, _| Ok(next.lock().unwrap().pop().unwrap_or_default()));
    queue.expect_settle().returning(|_, s| Ok(s.len()));
    queue.expect_extend().returning(|_, keys, _| Ok(keys.len()));
    let processor = Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(FnHandler(|_: &ClaimedEvent| Ok(()))),
        Arc::new(SystemClock),
        ProcessorSettings {
            batch_size: 2,
            handler_timeout: Duration::from_secs(7200),
            lease: Duration::from_secs(9000),
            ..ProcessorSettings::default()
        },
    );
    let started = tokio::time::Instant::now();
    let report = processor
        .process_next_batch(&CancellationToken::new(), &CancellationToken::new())
        .await
        .unwrap();
    // While the slow one ran, the worker claimed (and finished) two more,
    // until a claim came back short.
    assert_eq!((report.claimed, report.succeeded), (4, 4));
    assert!(tokio::time::Instant::now() - started >= Duration::from_secs(3600));
}

/// A queue whose first `failures` settles fail as unavailable; counts tries.
fn queue_unavailable_for(failures: usize, tries: Arc<AtomicUsize>) -> MockEventQueue {
    let mut queue = MockEventQueue::new();
    queue
        .expect_claim()
        .times(1)
        .return_once(|_, _, _, _, _| Ok(vec![event(1)]));
    queue.expect_settle().returning(move |_, settlements| {
        if tries.fetch_add(1, Ordering::SeqCst) < failures {
            Err(QueueError::Unavailable(anyhow::anyhow!(
                "connection refused"
            )))
        } else {
            Ok(settlements.len())
        }
    });
    queue
}

fn processor_on(queue: MockEventQueue, lease: Duration) -> Processor {
    Processor::new(
        "w1",
        Arc::new(queue),
        Arc::new(FnHandler(|_: &ClaimedEvent| Ok(()))),
        Arc::new(SystemClock),
        ProcessorSettings {
            lease,
            handler_timeout: Duration::from_secs(1),
            ..ProcessorSettings::default()
        },
    )
}

/// A database away for a minute: the outcome is still recorded, since the
/// five-minute lease holds (it used to be given up after five retries).
#[tokio::test(start_paused = true)]
async fn outcomes_are_retried_while_the_lease_may_hold() {
    let tries = Arc::new(AtomicUsize::new(0));
    let processor = processor_on(
        queue_unavailable_for(30, tries.clone()),
        Duration::from_secs(300),
    );
    let report = processor
        .process_next_batch(&one_batch(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(tries.load(Ordering::SeqCst), 31);
    assert_eq!((report.succeeded, report.fenced), (1, 0));
}

/// Past the lease, trying stops: the attempt is recovered as lost.
#[tokio::test(start_paused = true)]
async fn outcomes_are_given_up_once_the_lease_is_over() {
    let tries = Arc::new(AtomicUsize::new(0));
    let processor = processor_on(
        queue_unavailable_for(usize::MAX, tries.clone()),
        Duration::from_secs(10),
    );
    let started = tokio::time::Instant::now();
    processor
        .process_next_batch(&one_batch(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() <= Duration::from_secs(10));
    // Tries at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 5.1, 7.1 and 9.1 s; the next
    // would come after the lease.
    assert_eq!(tries.load(Ordering::SeqCst), 9);
}

/// Shutdown's grace period ending stops the tries at once.
#[tokio::test(start_paused = true)]
async fn abort_stops_trying_to_record_outcomes() {
    let tries = Arc::new(AtomicUsize::new(0));
    let processor = processor_on(
        queue_unavailable_for(usize::MAX, tries.clone()),
        Duration::from_secs(300),
    );
    let abort = CancellationToken::new();
    let cancel = abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        cancel.cancel();
    });
    let started = tokio::time::Instant::now();
    processor
        .process_next_batch(&one_batch(), &abort)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(6));
}
