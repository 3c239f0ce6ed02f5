//! The processing engine in-process: exactly once, retries and dead letter,
//! panics and timeouts, replay, FIFO ordering, and fencing of lost leases.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use application::ports::{
    AttemptResult, ClaimedEvent, EventHandler, EventQueue, HandlerError, LostSettlement, Settlement,
};
use async_trait::async_trait;
use hookd_tests::{Backend, TestDb, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    a_thousand_events_on_eight_workers_are_each_handled_once,
    failing_events_follow_the_schedule_then_die_and_replay_revives_them,
    a_success_is_written_on_its_event_alone_and_kept_in_the_history_through_replays,
    two_replays_of_one_event_at_once_requeue_it_once,
    panics_and_timeouts_are_retryable_failures_in_the_history,
    fifo_sources_are_handled_strictly_in_arrival_order,
    a_lost_lease_cannot_settle_an_event_claimed_again,
    two_attempts_of_one_event_settled_together_leave_one_success,
    successes_settled_together_keep_each_its_own_finish,
    a_deferred_attempt_goes_back_to_the_queue_uncharged,
    replay_answers_404_for_unknown_and_409_for_unfinished_events,
    events_unfinished_after_the_grace_period_are_released_at_once,
    new_events_are_claimed_at_intake_while_the_workers_have_room,
    bodies_over_64_kib_wait_in_the_queue_instead_of_memory,
    a_burst_beyond_the_workers_room_waits_in_the_queue_and_is_handled_once,
    events_claimed_at_intake_are_handed_out_when_the_database_claim_fails,
);

const WAIT: Duration = Duration::from_secs(60);

/// A handler that records every call and fails on demand.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, u32)>>,
    /// event id → how many of its first attempts fail.
    failures: Mutex<HashMap<String, u32>>,
    panic_on: Option<String>,
    hang_on: Option<String>,
    /// Every attempt waits for a permit here, when set.
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

impl Recorder {
    /// A recorder whose first `times` attempts at `event_id` fail (retryably).
    fn failing(event_id: &str, times: u32) -> Self {
        let recorder = Self::default();
        recorder
            .failures
            .lock()
            .unwrap()
            .insert(event_id.to_owned(), times);
        recorder
    }

    fn calls(&self) -> Vec<(String, u32)> {
        self.calls.lock().unwrap().clone()
    }

    fn count_per_event(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (event_id, _) in self.calls() {
            *counts.entry(event_id).or_default() += 1;
        }
        counts
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        self.calls
            .lock()
            .unwrap()
            .push((event.event_id.clone(), event.attempt));
        if self.panic_on.as_deref() == Some(event.event_id.as_str()) {
            panic!("handler bug");
        }
        if self.hang_on.as_deref() == Some(event.event_id.as_str()) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if let Some(gate) = &self.gate {
            let _open = gate.acquire().await.unwrap();
        }
        let mut failures = self.failures.lock().unwrap();
        match failures.get_mut(&event.event_id) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(HandlerError::retryable("downstream is down"))
            }
            _ => Ok(()),
        }
    }
}

fn body(event_id: &str) -> String {
    format!(r#"{{"event_id":"{event_id}","type":"test"}}"#)
}

async fn a_thousand_events_on_eight_workers_are_each_handled_once(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder::default());
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 8;
            s.processing.batch_size = 16;
        },
        Some(recorder.clone()),
    )
    .await;
    let mut requests = tokio::task::JoinSet::new();
    for chunk in 0..10 {
        let batch: Vec<_> = (0..100)
            .map(|n| app.signed_request(&body(&format!("evt_{chunk}_{n}"))))
            .collect();
        requests.spawn(async move {
            for request in batch {
                assert_eq!(request.send().await.unwrap().status(), StatusCode::ACCEPTED);
            }
        });
    }
    requests.join_all().await;
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1000,
        WAIT,
    )
    .await;
    let counts = recorder.count_per_event();
    assert_eq!(counts.len(), 1000);
    assert!(
        counts.values().all(|n| *n == 1),
        "some event was handled twice"
    );
    app.stop().await;
}

async fn failing_events_follow_the_schedule_then_die_and_replay_revives_them(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder::failing("evt_fail", 3));
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.max_attempts = 3;
            s.processing.backoff_base_ms = 200;
            s.processing.backoff_factor = 2;
            s.processing.poll_interval_ms = 20;
        },
        Some(recorder.clone()),
    )
    .await;
    let accepted: Value = app
        .post_signed(&body("evt_fail"))
        .await
        .json()
        .await
        .unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'dead' AND attempts = 3",
        1,
        WAIT,
    )
    .await;

    let (_, event) = app.get_json(&format!("/events/{id}")).await;
    let history = event["history"].as_array().unwrap();
    let outcomes: Vec<_> = history
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retrying", "retrying", "dead"]);
    assert_eq!(event["last_error"], "downstream is down");
    // The waits between attempts follow the backoff: 200 ms, then 400 ms (±20 %).
    let at = |i: usize, key: &str| {
        chrono::DateTime::parse_from_rfc3339(history[i][key].as_str().unwrap()).unwrap()
    };
    let first_wait = (at(1, "started_at") - at(0, "finished_at")).num_milliseconds();
    let second_wait = (at(2, "started_at") - at(1, "finished_at")).num_milliseconds();
    assert!(first_wait >= 160, "first wait {first_wait} ms");
    assert!(second_wait >= 320, "second wait {second_wait} ms");

    // Replay: a new cycle, history kept; the handler succeeds now.
    let replayed = app.replay(&id).await;
    assert_eq!(replayed.status(), StatusCode::ACCEPTED);
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1,
        WAIT,
    )
    .await;
    let (_, event) = app.get_json(&format!("/events/{id}")).await;
    assert_eq!(event["history"].as_array().unwrap().len(), 4);
    assert_eq!(event["attempts"], 1);
    app.stop().await;
}

/// Two replays of one processed event at the same moment: one requeues it,
/// the other finds it unfinished (409), never a 500 from both trying to move
/// its success into the history; the history holds it once.
async fn two_replays_of_one_event_at_once_requeue_it_once(backend: Backend) {
    const EVENTS: i64 = 8;
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let mut ids = Vec::new();
    for n in 0..EVENTS {
        let accepted: Value = app
            .post_signed(&body(&format!("evt_{n}")))
            .await
            .json()
            .await
            .unwrap();
        ids.push(accepted["id"].as_str().unwrap().to_owned());
    }
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        EVENTS,
        WAIT,
    )
    .await;
    app.stop().await;

    // No workers: a requeued event stays pending.
    let app = spawn_app(&db, |s| s.processing.workers = 0).await;
    for id in &ids {
        let (first, second) = tokio::join!(app.replay(id), app.replay(id));
        let mut statuses = [first.status(), second.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::CONFLICT]);
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded'")
            .await,
        EVENTS
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE status = 'pending'")
            .await,
        EVENTS
    );
    app.stop().await;
}

/// Waits until the one event is processed (its success recorded on it) and
/// the history holds `attempts` rows.
async fn processed_with_history(app: &hookd_tests::TestApp, attempts: i64) {
    app.wait_for(
        &format!(
            "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 1 \
             AND succeeded_by IS NOT NULL AND processed_at IS NOT NULL \
             AND (SELECT COUNT(*) FROM attempt_history) = {attempts}"
        ),
        1,
        WAIT,
    )
    .await;
}

/// A success writes the event row alone (no `event_attempts` row), yet the
/// history shows it like any attempt; replaying the event keeps it there
/// while the event starts over.
async fn a_success_is_written_on_its_event_alone_and_kept_in_the_history_through_replays(
    backend: Backend,
) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let accepted: Value = app.post_signed(&body("evt_ok")).await.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    processed_with_history(&app, 1).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM event_attempts").await, 0);
    let (_, event) = app.get_json(&format!("/events/{id}")).await;
    let history = event["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    let first = &history[0];
    assert_eq!(first["outcome"], "succeeded");
    assert_eq!(first["attempt"], 1);
    assert!(first["error"].is_null());
    let worker = first["worker"].as_str().unwrap();
    assert!(
        worker.contains('/') && !worker.ends_with("/intake"),
        "ran by a worker: {worker}"
    );
    assert!(first["started_at"].as_str() <= first["finished_at"].as_str());
    assert_eq!(first["finished_at"], event["processed_at"]);

    // Twice: each replay moves the success into the history table.
    for cycle in 2..=3 {
        let replayed = app.replay(&id).await;
        assert_eq!(replayed.status(), StatusCode::ACCEPTED);
        processed_with_history(&app, cycle).await;
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM event_attempts").await,
            cycle - 1
        );
        let (_, event) = app.get_json(&format!("/events/{id}")).await;
        let history = event["history"].as_array().unwrap();
        assert_eq!(history.len(), usize::try_from(cycle).unwrap());
        assert_eq!(history[0], *first, "the first success is kept as it was");
        assert!(
            history
                .iter()
                .all(|a| a["outcome"] == "succeeded" && a["attempt"] == 1)
        );
    }
    app.stop().await;
}

async fn panics_and_timeouts_are_retryable_failures_in_the_history(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder {
        panic_on: Some("evt_panic".into()),
        hang_on: Some("evt_hang".into()),
        ..Recorder::default()
    });
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.handler_timeout_seconds = 1;
            s.processing.lease_seconds = 5;
            s.processing.max_attempts = 1;
        },
        Some(recorder),
    )
    .await;
    app.post_signed(&body("evt_panic")).await;
    app.post_signed(&body("evt_hang")).await;
    app.wait_for("SELECT COUNT(*) FROM events WHERE status = 'dead'", 2, WAIT)
        .await;
    let errors = |event_id: &str| {
        format!(
            "SELECT COUNT(*) FROM attempt_history a JOIN events e ON e.id = a.event_key \
             WHERE e.event_id = '{event_id}' AND a.error LIKE '%{}%'",
            if event_id == "evt_panic" {
                "panicked"
            } else {
                "timed out"
            }
        )
    };
    assert_eq!(app.scalar(&errors("evt_panic")).await, 1);
    assert_eq!(app.scalar(&errors("evt_hang")).await, 1);
    app.stop().await;
}

async fn fifo_sources_are_handled_strictly_in_arrival_order(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder::failing("evt_009", 1));
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 4;
            s.processing.backoff_base_ms = 100;
            s.processing.poll_interval_ms = 20;
            s.sources.get_mut("default").unwrap().ordering = bootstrap::settings::Ordering::Fifo;
        },
        Some(recorder.clone()),
    )
    .await;
    for n in 0..200 {
        let response = app.post_signed(&body(&format!("evt_{n:03}"))).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        200,
        WAIT,
    )
    .await;
    let calls = recorder.calls();
    let order: Vec<_> = calls.iter().map(|(id, _)| id.as_str()).collect();
    let mut expected: Vec<String> = (0..200).map(|n| format!("evt_{n:03}")).collect();
    // The 10th fails once and is retried before anything after it.
    expected.insert(10, "evt_009".into());
    assert_eq!(order, expected);
    app.stop().await;
}

async fn a_lost_lease_cannot_settle_an_event_claimed_again(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (store, conn, alive) = store_with_one_event(&db, "evt_lease").await;
    let now = chrono::Utc::now();

    let first = store
        .claim("w1", 10, now, Duration::from_secs(1), &[])
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    // Nothing else is due while the lease holds, and nothing is lost.
    assert!(
        store
            .claim("w2", 10, now, Duration::from_secs(1), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.lost_leases(now, 10).await.unwrap().is_empty());
    // After it expires, recovery records the lost attempt and re-queues it;
    // another worker takes the event with attempt 2.
    let later = now + chrono::Duration::seconds(2);
    let lost = store.lost_leases(later, 10).await.unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!((lost[0].attempt, lost[0].worker.as_str()), (1, "w1"));
    let requeued = LostSettlement {
        lost: lost[0].clone(),
        found_at: later,
        result: AttemptResult::Retry {
            at: later,
            error: "lost".into(),
        },
    };
    assert_eq!(store.settle_lost(vec![requeued.clone()]).await.unwrap(), 1);
    // Settling the same loss twice changes nothing.
    assert_eq!(store.settle_lost(vec![requeued]).await.unwrap(), 0);
    let second = store
        .claim("w2", 10, later, Duration::from_secs(30), &[])
        .await
        .unwrap();
    assert_eq!((second.len(), second[0].attempt), (1, 2));

    // The first worker finishes late: nothing changes.
    let late = Settlement {
        key: first[0].key,
        lease: first[0].lease,
        attempt: 1,
        started_at: now,
        finished_at: later,
        result: AttemptResult::Succeeded,
    };
    assert_eq!(store.settle("w1", vec![late]).await.unwrap(), 0);
    let scalar = |sql: &'static str| hookd_tests::db::scalar(&conn, sql);
    assert_eq!(
        scalar("SELECT COUNT(*) FROM events WHERE status = 'processing'").await,
        1
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'lost' AND worker = 'w1'")
            .await,
        1
    );
    // The current holder can extend and settle.
    let extended = store
        .extend(
            second[0].lease,
            vec![second[0].key],
            later + chrono::Duration::seconds(60),
        )
        .await
        .unwrap();
    assert_eq!(extended, 1);
    let done = Settlement {
        lease: second[0].lease,
        attempt: 2,
        ..store_settlement(&second[0], later)
    };
    assert_eq!(store.settle("w2", vec![done]).await.unwrap(), 1);
    assert_eq!(
        scalar("SELECT COUNT(*) FROM events WHERE status = 'processed'").await,
        1
    );
    alive.cancel();
}

/// Outcomes of several workers are written together (the settler), so a
/// late outcome under a lost lease can be settled in the same statement as
/// the outcome of the attempt that took the event over: only the holder's
/// counts, and the history keeps one success.
/// Two events of one claim settled in one write: each keeps its own finish
/// time (`processed_at`, the end of its attempt in the history), not the
/// later of the two.
async fn successes_settled_together_keep_each_its_own_finish(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (store, conn, alive) = store_with_events(&db, &["evt_a", "evt_b"]).await;
    let now = chrono::Utc::now();
    let claimed = store
        .claim("w1", 10, now, Duration::from_secs(30), &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let finishes = [now, now + chrono::Duration::seconds(3)];
    let settlements = claimed
        .iter()
        .zip(finishes)
        .map(|(event, at)| store_settlement(event, at))
        .collect();
    assert_eq!(store.settle("w1", settlements).await.unwrap(), 2);
    for (event, at) in claimed.iter().zip(finishes) {
        let finished = hookd_tests::db::scalar(
            &conn,
            &format!(
                "SELECT h.finished_at FROM attempt_history h \
                 JOIN events e ON e.id = h.event_key WHERE e.event_id = '{}'",
                event.event_id
            ),
        )
        .await;
        assert_eq!(finished, at.timestamp_micros(), "{}", event.event_id);
    }
    alive.cancel();
}

async fn two_attempts_of_one_event_settled_together_leave_one_success(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (store, conn, alive) = store_with_one_event(&db, "evt_twice").await;
    let now = chrono::Utc::now();
    let first = store
        .claim("w1", 10, now, Duration::from_secs(1), &[])
        .await
        .unwrap();
    let later = now + chrono::Duration::seconds(2);
    let lost = store.lost_leases(later, 10).await.unwrap();
    let requeued = LostSettlement {
        lost: lost[0].clone(),
        found_at: later,
        result: AttemptResult::Retry {
            at: later,
            error: "lost".into(),
        },
    };
    assert_eq!(store.settle_lost(vec![requeued]).await.unwrap(), 1);
    let second = store
        .claim("w2", 10, later, Duration::from_secs(30), &[])
        .await
        .unwrap();
    assert_eq!((second.len(), second[0].attempt), (1, 2));

    let late = Settlement {
        attempt: 1,
        ..store_settlement(&first[0], later)
    };
    let holder = Settlement {
        attempt: 2,
        ..store_settlement(&second[0], later)
    };
    assert_eq!(store.settle("w1", vec![late, holder]).await.unwrap(), 1);
    let scalar = |sql: &'static str| hookd_tests::db::scalar(&conn, sql);
    assert_eq!(
        scalar("SELECT COUNT(*) FROM events WHERE status = 'processed'").await,
        1
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded'").await,
        1
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded' AND attempt = 2")
            .await,
        1
    );
    alive.cancel();
}

/// An attempt whose destination was paused never ran: the event goes back
/// with its attempt count as before the claim, no history row, due when the
/// pause ends; a claim that skips its source leaves it alone.
async fn a_deferred_attempt_goes_back_to_the_queue_uncharged(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (store, conn, alive) = store_with_one_event(&db, "evt_paused").await;
    let scalar = |sql: &'static str| hookd_tests::db::scalar(&conn, sql);
    let lease = Duration::from_secs(30);
    let now = chrono::Utc::now();
    let defer = |event: &ClaimedEvent, until| Settlement {
        result: AttemptResult::Deferred { until },
        ..store_settlement(event, now)
    };

    let claimed = store.claim("w1", 10, now, lease, &[]).await.unwrap();
    assert_eq!(claimed[0].attempt, 1);
    let until = now + chrono::Duration::seconds(10);
    assert_eq!(
        store
            .settle("w1", vec![defer(&claimed[0], until)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM events WHERE status = 'pending' AND attempts = 0").await,
        1
    );
    assert_eq!(scalar("SELECT COUNT(*) FROM attempt_history").await, 0);
    assert!(
        store
            .claim("w1", 10, now, lease, &[])
            .await
            .unwrap()
            .is_empty(),
        "due at `until`"
    );
    let after = until + chrono::Duration::seconds(1);
    let paused = ["default".to_owned()];
    assert!(
        store
            .claim("w1", 10, after, lease, &paused)
            .await
            .unwrap()
            .is_empty()
    );

    // A retried event keeps the attempts it really made.
    let again = store.claim("w1", 10, after, lease, &[]).await.unwrap();
    assert_eq!(again[0].attempt, 1, "the deferred claim was not counted");
    let failed = Settlement {
        result: AttemptResult::Retry {
            at: after,
            error: "503".into(),
        },
        ..store_settlement(&again[0], after)
    };
    assert_eq!(store.settle("w1", vec![failed]).await.unwrap(), 1);
    let third = store.claim("w1", 10, after, lease, &[]).await.unwrap();
    assert_eq!(third[0].attempt, 2);
    assert_eq!(
        store
            .settle("w1", vec![defer(&third[0], until)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM events WHERE status = 'retrying' AND attempts = 1").await,
        1
    );
    assert_eq!(scalar("SELECT COUNT(*) FROM attempt_history").await, 1);
    alive.cancel();
}

/// One event stored through intake (workers off), then the store opened by
/// the test, which drives the queue itself (on SQLite the store holds the
/// database exclusively, so the app stops first). Cancelling the token lets
/// the store's liveness lock go.
async fn store_with_one_event(
    db: &TestDb,
    event_id: &str,
) -> (
    adapters::store::SeaOrmStore,
    sea_orm::DatabaseConnection,
    tokio_util::sync::CancellationToken,
) {
    store_with_events(db, &[event_id]).await
}

async fn store_with_events(
    db: &TestDb,
    event_ids: &[&str],
) -> (
    adapters::store::SeaOrmStore,
    sea_orm::DatabaseConnection,
    tokio_util::sync::CancellationToken,
) {
    let app = spawn_app(db, |s| s.processing.workers = 0).await;
    for event_id in event_ids {
        app.post_signed(&body(event_id)).await;
    }
    let settings = app.settings.clone();
    let conn = db.connect().await;
    app.stop().await;
    let store = bootstrap::startup::connect_store(&settings).await.unwrap();
    let alive = tokio_util::sync::CancellationToken::new();
    if let Some(keeper) = store.keep_alive(alive.clone()).await.unwrap() {
        tokio::spawn(keeper);
    }
    (store, conn, alive)
}

fn store_settlement(event: &ClaimedEvent, at: chrono::DateTime<chrono::Utc>) -> Settlement {
    Settlement {
        key: event.key,
        lease: event.lease,
        attempt: event.attempt,
        started_at: at,
        finished_at: at,
        result: AttemptResult::Succeeded,
    }
}

async fn replay_answers_404_for_unknown_and_409_for_unfinished_events(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |s| s.processing.workers = 0).await;
    let accepted: Value = app
        .post_signed(&body("evt_pending"))
        .await
        .json()
        .await
        .unwrap();
    let post = |path: String| {
        app.client
            .post(app.url(&path))
            .bearer_auth(app.token())
            .send()
    };
    let pending = post(format!(
        "/events/{}/replay",
        accepted["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(pending.status(), StatusCode::CONFLICT);
    let json: Value = pending.json().await.unwrap();
    assert_eq!(json["code"], "not_replayable");
    let unknown = post("/events/01890000-0000-7000-8000-000000000000/replay".into())
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Bulk replay counts only finished events.
    let bulk = app
        .client
        .post(app.url("/events/replay"))
        .bearer_auth(app.token())
        .json(&serde_json::json!({"source": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bulk.status(), StatusCode::OK);
    let json: Value = bulk.json().await.unwrap();
    assert_eq!(json["requeued"], 0);
    let bad = app
        .client
        .post(app.url("/events/replay"))
        .bearer_auth(app.token())
        .json(&serde_json::json!({"status": "pending"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

/// PostgreSQL only: every hookd connection is terminated while events are
/// being processed; the workers recover without a restart and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_recover_when_postgres_terminates_their_connections() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    // A claim whose answer is lost with its connection leaves its events
    // leased: a short lease brings them back within the test.
    let app = spawn_app(&db, |s| {
        s.processing.poll_interval_ms = 50;
        s.processing.lease_seconds = 4;
        s.processing.handler_timeout_seconds = 2;
    })
    .await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let terminate = format!(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = '{database}' AND application_name = '{}'",
        adapters::store::APPLICATION_NAME
    );
    let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    // Terminate every hookd connection over and over while events flow.
    let stop = tokio_util::sync::CancellationToken::new();
    let terminator = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut terminated = 0;
            while !stop.is_cancelled() {
                let row = sea_orm::ConnectionTrait::query_one_raw(
                    &admin,
                    sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        terminate.clone(),
                    ),
                )
                .await
                .unwrap()
                .unwrap();
                terminated += row.try_get_by_index::<i64>(0).unwrap();
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            terminated
        })
    };
    for n in 0..500 {
        // A request that raced a terminated connection may get 503: the
        // sender retries it, as a webhook sender would.
        let mut delivered = false;
        for _ in 0..20 {
            let status = app.post_signed(&body(&format!("evt_{n}"))).await.status();
            if status == StatusCode::ACCEPTED || status == StatusCode::OK {
                delivered = true;
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(delivered, "evt_{n} was never accepted");
    }
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        500,
        WAIT,
    )
    .await;
    stop.cancel();
    assert!(
        terminator.await.unwrap() > 0,
        "no connection was terminated"
    );
    app.stop().await;
}

async fn events_unfinished_after_the_grace_period_are_released_at_once(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder {
        hang_on: Some("evt_stuck".into()),
        ..Recorder::default()
    });
    // One slot, taken by evt_stuck: evt_waiting is claimed at intake and waits.
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 1;
            s.processing.batch_size = 1;
            s.processing.shutdown_grace_seconds = 1;
            s.processing.handler_timeout_seconds = 60;
        },
        Some(recorder.clone()),
    )
    .await;
    let warm = warm_up(&app).await;
    app.post_signed(&body("evt_stuck")).await;
    // Its handler runs (an event claimed at intake is `processing` before).
    wait_until(|| recorder.calls().len() as i64 > warm).await;
    app.post_signed(&body("evt_waiting")).await;
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM events WHERE event_id = 'evt_waiting' \
             AND status = 'processing' AND claimed_at = received_at"
        )
        .await,
        1,
        "evt_waiting was not claimed at intake"
    );
    let db = db.connect().await;
    app.stop().await;

    // Released: due now (not after the 5-minute lease), attempt counted.
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT status, attempts, next_attempt_at, lease_token IS NULL AS free, last_error \
             FROM events WHERE event_id = 'evt_stuck'",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let status: String = row.try_get("", "status").unwrap();
    let due: i64 = row.try_get("", "next_attempt_at").unwrap();
    let free: bool = row.try_get("", "free").unwrap();
    let error: String = row.try_get("", "last_error").unwrap();
    assert_eq!(status, "retrying");
    assert!(free, "the lease was not released");
    assert!(due <= chrono::Utc::now().timestamp_micros());
    assert!(error.contains("shut down"), "{error}");

    // Claimed at intake but never started: back in the queue, uncharged.
    let given_back = "SELECT COUNT(*) FROM events WHERE event_id = 'evt_waiting' \
                      AND status = 'pending' AND attempts = 0 AND lease_token IS NULL";
    assert_eq!(hookd_tests::db::scalar(&db, given_back).await, 1);
    assert_eq!(recorder.count_per_event().get("evt_waiting"), None);
    let history = "SELECT COUNT(*) FROM attempt_history JOIN events ON events.id = event_key \
                   WHERE event_id = 'evt_waiting'";
    assert_eq!(hookd_tests::db::scalar(&db, history).await, 0);
}

/// PostgreSQL only: an event stored by one replica wakes the idle workers of
/// another through LISTEN/NOTIFY, long before their (here one-minute) poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_new_event_wakes_idle_workers_through_notify() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let intake = spawn_app(&db, |s| s.processing.workers = 0).await;
    let recorder = Arc::new(Recorder::default());
    let worker = spawn_app_with(
        &db,
        |s| s.processing.poll_interval_ms = 60_000,
        Some(recorder.clone()),
    )
    .await;
    // The worker replica LISTENs (its first claim, at start, found nothing).
    worker
        .wait_for(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            1,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(
        intake.post_signed(&body("evt_notified")).await.status(),
        StatusCode::ACCEPTED
    );
    // Well under the poll interval: only the notification can explain it.
    worker
        .wait_for(
            "SELECT COUNT(*) FROM events WHERE status = 'processed'",
            1,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(recorder.calls().len(), 1);
    worker.stop().await;
    intake.stop().await;
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Events written claimed at intake carry the intake's time as their claim
/// time; a claim from the database is always later.
const CLAIMED_AT_INTAKE: &str = "SELECT COUNT(*) FROM events WHERE claimed_at = received_at";

/// New events are handed off only once a worker's claim has found the queue
/// drained: sends warm-up events (handled at once) until one is claimed at
/// intake. Returns how many were sent.
async fn warm_up(app: &hookd_tests::TestApp) -> i64 {
    for n in 1..=20 {
        app.post_signed(&body(&format!("warm_{n}"))).await;
        app.wait_for(
            "SELECT COUNT(*) FROM events WHERE status = 'processed'",
            n,
            WAIT,
        )
        .await;
        if app.scalar(CLAIMED_AT_INTAKE).await > 0 {
            return n;
        }
    }
    panic!("no warm-up event was claimed at intake");
}

async fn new_events_are_claimed_at_intake_while_the_workers_have_room(backend: Backend) {
    for claim_at_intake in [true, false] {
        let Some(db) = TestDb::create(backend).await else {
            return;
        };
        let recorder = Arc::new(Recorder::default());
        let app = spawn_app_with(
            &db,
            |s| s.processing.claim_at_intake = claim_at_intake,
            Some(recorder.clone()),
        )
        .await;
        let warm = if claim_at_intake {
            warm_up(&app).await
        } else {
            0
        };
        for n in 0..20 {
            let response = app.post_signed(&body(&format!("evt_{n}"))).await;
            assert_eq!(response.status(), StatusCode::ACCEPTED);
        }
        app.wait_for(
            "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 1",
            20 + warm,
            WAIT,
        )
        .await;
        let expected = if claim_at_intake { 20 } else { 0 };
        assert_eq!(
            app.scalar(&format!("{CLAIMED_AT_INTAKE} AND event_id LIKE 'evt_%'"))
                .await,
            expected
        );
        // Each handled once, its one attempt recorded under the worker that ran it.
        assert!(recorder.count_per_event().values().all(|n| *n == 1));
        assert_eq!(
            app.scalar(
                "SELECT COUNT(*) FROM attempt_history \
                 WHERE attempt = 1 AND outcome = 'succeeded' AND worker NOT LIKE '%/intake'"
            )
            .await,
            20 + warm
        );
        app.stop().await;
    }
}

/// What waits in memory stays small: a body over 64 KiB is stored
/// `pending` and claimed from the database, while one of 64 KiB is claimed
/// at intake.
async fn bodies_over_64_kib_wait_in_the_queue_instead_of_memory(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let recorder = Arc::new(Recorder::default());
    let app = spawn_app_with(&db, |_| {}, Some(recorder.clone())).await;
    let warm = warm_up(&app).await;
    let large = format!(
        r#"{{"event_id":"evt_large","padding":"{}"}}"#,
        "x".repeat(65 << 10)
    );
    let at_limit = format!(
        r#"{{"event_id":"evt_at_limit","padding":"{}"}}"#,
        "x".repeat((64 << 10) - 40)
    );
    assert_eq!(at_limit.len(), 64 << 10);
    // One after the other: an event stored `pending` makes the next queue
    // behind it until a claim has taken it.
    for (n, payload) in [&large, &at_limit].into_iter().enumerate() {
        let response = app.post_signed(payload).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        app.wait_for(
            "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 1",
            warm + 1 + i64::try_from(n).unwrap(),
            WAIT,
        )
        .await;
    }
    assert_eq!(
        app.scalar(&format!("{CLAIMED_AT_INTAKE} AND event_id = 'evt_large'"))
            .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "{CLAIMED_AT_INTAKE} AND event_id = 'evt_at_limit'"
        ))
        .await,
        1
    );
    assert!(recorder.count_per_event().values().all(|n| *n == 1));
    app.stop().await;
}

/// The database runs an intake batch that claims its event at intake, and
/// the reply never comes: the sender gets 503 (hookd cannot know that the
/// batch committed), then the connection is lost. The claim is undone by
/// the next claim of a worker, so the event is handled at once, not after
/// its lease (it used to wait for the lease, here two minutes, and then be
/// recovered as lost).
#[tokio::test]
async fn an_event_whose_intake_reply_was_lost_is_handled_without_waiting_for_its_lease() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let (proxy, url) = hookd_tests::proxy::TcpProxy::for_database(&db.url).await;
    let recorder = Arc::new(Recorder::default());
    let app = spawn_app_with(
        &db,
        |s| {
            s.database.url = secrecy::SecretString::from(url);
            s.database.acquire_timeout_seconds = 1;
            s.processing.lease_seconds = 120;
        },
        Some(recorder.clone()),
    )
    .await;
    warm_up(&app).await;

    // The event id is a parameter of the batch insert.
    proxy.mute_after(b"evt_lost");
    let response = app.post_signed(&body("evt_lost")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    proxy.unmute();
    proxy.stop();
    proxy.resume().await;
    // Yet it was stored (seen on a connection of the test's own).
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE event_id = 'evt_lost'")
            .await,
        1
    );

    // Well inside the two-minute lease.
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE event_id = 'evt_lost' \
         AND status = 'processed' AND attempts = 1",
        1,
        WAIT,
    )
    .await;
    assert_eq!(recorder.count_per_event()["evt_lost"], 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'lost'")
            .await,
        0
    );
    // The sender's retry finds it stored.
    let retry = app.post_signed(&body("evt_lost")).await;
    assert_eq!(retry.status(), StatusCode::OK);
    app.stop().await;
}

async fn a_burst_beyond_the_workers_room_waits_in_the_queue_and_is_handled_once(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let recorder = Arc::new(Recorder {
        gate: Some(gate.clone()),
        ..Recorder::default()
    });
    // Two slots: at most two events run and two more wait, claimed.
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 1;
            s.processing.batch_size = 2;
        },
        Some(recorder.clone()),
    )
    .await;
    for n in 0..30 {
        let response = app.post_signed(&body(&format!("evt_{n}"))).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let pending = app
        .scalar("SELECT COUNT(*) FROM events WHERE status = 'pending'")
        .await;
    assert!(pending >= 26, "only {pending} of 30 waited in the queue");

    gate.add_permits(1);
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 1",
        30,
        WAIT,
    )
    .await;
    let counts = recorder.count_per_event();
    assert_eq!(counts.len(), 30);
    assert!(
        counts.values().all(|n| *n == 1),
        "an event was handled twice"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_history").await,
        30,
        "one attempt each"
    );
    app.stop().await;
}

async fn events_claimed_at_intake_are_handed_out_when_the_database_claim_fails(backend: Backend) {
    use application::ports::EventStore as _;
    use domain::{BodyDigest, EventId, EventKey, NewEvent, SourceName};
    use sea_orm::ConnectionTrait as _;

    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (store, conn, alive) = store_with_one_event(&db, "evt_old").await;
    let lease = Duration::from_secs(30);
    store.hand_off_new_events(8, lease, "test/intake");
    // The first claim takes the stored event and finds the queue drained.
    let now = chrono::Utc::now();
    let first = store.claim("w1", 10, now, lease, &[]).await.unwrap();
    assert_eq!(first.len(), 1);

    // A new event is claimed at intake...
    let payload = bytes::Bytes::from(body("evt_new"));
    let event = NewEvent {
        key: EventKey::generate(),
        source: SourceName::parse("default").unwrap(),
        event_id: EventId::parse("evt_new").unwrap(),
        event_type: None,
        body_digest: BodyDigest::of(&payload),
        body: payload,
        content_type: None,
        received_at: now,
        secret_label: None,
        request_id: None,
        dedupe_by_body: false,
    };
    store.insert_if_absent(event).await.unwrap();
    // ... and the next claim, due to look in the database too (a second
    // later), finds the database failing: a column its claim writes is gone.
    conn.execute_unprepared("ALTER TABLE events RENAME COLUMN leased_by TO leased_by_gone")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let claimed = store
        .claim("w1", 10, now, lease, &[])
        .await
        .expect("the event claimed at intake is handed out all the same");
    let ids: Vec<_> = claimed.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["evt_new"]);
    alive.cancel();
}
