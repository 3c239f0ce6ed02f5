//! Processing and intake under real faults: a database that refuses
//! connections, crashed workers, slow handlers, unconfigured sources, FIFO
//! under replay. Each test reproduces a bug of issue 8 against the real app.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;
use bootstrap::settings::SourceSettings;
use hookd_tests::{Backend, TestDb, signing::sign_with, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait as _;

const WAIT: Duration = Duration::from_secs(30);
const LEGACY_SECRET: &str = "legacy-secret-of-at-least-32-bytes!";

/// `ALTER DATABASE … ALLOW_CONNECTIONS false` (SQLSTATE 55000 on connect)
/// is "unavailable": 503 with `Retry-After`, never 500; intake resumes by
/// itself once connections are allowed again.
#[tokio::test]
async fn a_database_refusing_connections_gives_503_then_recovers() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let app = spawn_app(&db, |settings| {
        settings.database.acquire_timeout_seconds = 2;
        settings.processing.workers = 0;
    })
    .await;
    assert_eq!(
        app.post_signed(r#"{"event_id":"before"}"#).await.status(),
        StatusCode::ACCEPTED
    );

    let (admin, name) = db.admin().await.unwrap();
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
    for n in 0..3 {
        let response = app
            .post_signed(&format!(r#"{{"event_id":"during_{n}"}}"#))
            .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unavailable");
    }

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = app.post_signed(r#"{"event_id":"after"}"#).await.status();
        if status == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "intake never resumed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

/// A handler that holds its first call until `release` is notified, and
/// counts its calls.
#[derive(Default)]
struct Gate {
    calls: AtomicUsize,
    release: tokio::sync::Notify,
}

#[async_trait]
impl EventHandler for Gate {
    async fn handle(&self, _: &ClaimedEvent) -> Result<(), HandlerError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.release.notified().await;
        }
        Ok(())
    }
}

/// The database goes away while a handler runs and stays away longer than
/// the first few tries at recording its outcome. The outcome is recorded
/// when the database comes back, while the lease still holds: the event is
/// not run a second time after its lease expires. (It used to give up
/// after six tries, about 9 s here, and the finished work was redone a lease later.)
#[tokio::test]
async fn an_outcome_is_recorded_after_an_outage_longer_than_a_few_tries() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let (proxy, url) = hookd_tests::proxy::TcpProxy::for_database(&db.url).await;
    let handler = Arc::new(Gate::default());
    let app = spawn_app_with(
        &db,
        |settings| {
            settings.database.url = secrecy::SecretString::from(url);
            settings.database.acquire_timeout_seconds = 1;
            settings.processing.workers = 1;
            settings.processing.lease_seconds = 90;
        },
        Some(handler.clone()),
    )
    .await;
    assert_eq!(
        app.post_signed(&body("evt_1")).await.status(),
        StatusCode::ACCEPTED
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while handler.calls.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    proxy.stop();
    handler.release.notify_one();
    // Six tries, each waiting a second for a connection, with 3.1 s of
    // pauses between them: about 9 s.
    tokio::time::sleep(Duration::from_secs(15)).await;
    proxy.resume().await;

    // Well inside the 90 s lease: only the delayed outcome can do it.
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 1",
        1,
        WAIT,
    )
    .await;
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded'")
            .await,
        1
    );
    app.stop().await;
}

on_both_backends!(
    a_slow_handler_does_not_hold_back_the_finished_events_of_its_batch,
    events_of_a_source_no_longer_configured_wait_visibly_instead_of_being_dropped,
    a_replayed_fifo_event_waits_for_the_one_in_flight,
    a_rejection_recorded_just_before_shutdown_is_written_before_exit,
);

/// A handler that takes `slow_for` on one event id and records how many of
/// its calls overlap.
struct SlowOne {
    slow_id: String,
    slow_for: Duration,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    calls: Mutex<Vec<String>>,
}

impl SlowOne {
    fn new(slow_id: &str, slow_for: Duration) -> Self {
        Self {
            slow_id: slow_id.to_owned(),
            slow_for,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventHandler for SlowOne {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        self.calls.lock().unwrap().push(event.event_id.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if event.event_id == self.slow_id {
            tokio::time::sleep(self.slow_for).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

fn body(event_id: &str) -> String {
    format!(r#"{{"event_id":"{event_id}"}}"#)
}

/// Issue 8.4: one slow handler kept the 20 finished events of its batch in
/// `processing` until it ended. Each outcome is now recorded as soon as its
/// attempt ends.
async fn a_slow_handler_does_not_hold_back_the_finished_events_of_its_batch(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    // Intake first, then one worker claims all 21 in one batch.
    let app = spawn_app(&db, |s| s.processing.workers = 0).await;
    assert_eq!(
        app.post_signed(&body("evt_slow")).await.status(),
        StatusCode::ACCEPTED
    );
    for n in 0..20 {
        assert_eq!(
            app.post_signed(&body(&format!("evt_fast_{n}")))
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    app.stop().await;

    let handler = Arc::new(SlowOne::new("evt_slow", Duration::from_secs(20)));
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 1;
            s.processing.batch_size = 32;
            s.processing.shutdown_grace_seconds = 1;
        },
        Some(handler.clone()),
    )
    .await;
    // Well before the slow one ends, the others are settled.
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        20,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE status = 'processing'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded'")
            .await,
        20
    );
    app.stop().await;
}

/// Issue 8.6: events of a source that was renamed or removed were marked
/// `processed` by a logging fallback. They now wait, unclaimed, and
/// `GET /stats` shows them.
async fn events_of_a_source_no_longer_configured_wait_visibly_instead_of_being_dropped(
    backend: Backend,
) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |s| {
        s.processing.workers = 0;
        s.sources.insert(
            "legacy".to_owned(),
            SourceSettings::with_secret(LEGACY_SECRET),
        );
    })
    .await;
    let response = app
        .client
        .post(app.url("/webhooks/legacy"))
        .header("content-type", "application/json")
        .header(
            "x-signature",
            sign_with(LEGACY_SECRET.as_bytes(), body("evt_legacy").as_bytes()),
        )
        .body(body("evt_legacy"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.stop().await;

    // Redeployed without `legacy`.
    let handler = Arc::new(SlowOne::new("none", Duration::ZERO));
    let app = spawn_app_with(&db, |s| s.processing.workers = 2, Some(handler.clone())).await;
    assert_eq!(
        app.post_signed(&body("evt_current")).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1,
        WAIT,
    )
    .await;
    // Give the workers a few more polls at it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(handler.calls(), vec!["evt_current".to_owned()]);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM events WHERE source = 'legacy' AND status = 'pending' AND attempts = 0"
        )
        .await,
        1
    );
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["unconfigured_sources"]["legacy"], 1, "{stats}");
    app.stop().await;
}

/// Issue 8.8: replaying an older event of a FIFO source while a newer one
/// was in flight put two of its events in flight. A replayed event now goes
/// to the back of the source's queue and waits its turn.
async fn a_replayed_fifo_event_waits_for_the_one_in_flight(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let handler = Arc::new(SlowOne::new("evt_2", Duration::from_secs(2)));
    let app = spawn_app_with(
        &db,
        |s| {
            s.processing.workers = 4;
            s.processing.poll_interval_ms = 20;
            s.sources.get_mut("default").unwrap().ordering = bootstrap::settings::Ordering::Fifo;
        },
        Some(handler.clone()),
    )
    .await;
    assert_eq!(
        app.post_signed(&body("evt_1")).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.post_signed(&body("evt_2")).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processing'",
        1,
        WAIT,
    )
    .await;
    // evt_1 is older than evt_2, which is in flight.
    let (_, page) = app.get_json("/events?event_id=evt_1").await;
    let key = page["items"][0]["id"].as_str().unwrap().to_owned();
    let replayed = app.replay(&key).await;
    assert_eq!(replayed.status(), StatusCode::ACCEPTED);
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        2,
        WAIT,
    )
    .await;
    assert_eq!(handler.most_in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(handler.calls(), vec!["evt_1", "evt_2", "evt_1"]);
    app.stop().await;
}

/// Issue 8, "Also": the quarantine writer (like the ingest batch writers) is
/// stopped by shutdown once the HTTP server has drained, writes what is
/// queued, and is awaited: no record is lost to a detached task.
async fn a_rejection_recorded_just_before_shutdown_is_written_before_exit(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let forged = app.post_webhook(&body("evt_forged"), Some("00")).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let conn = db.connect().await;
    app.stop().await;
    assert_eq!(
        hookd_tests::db::scalar(&conn, "SELECT COUNT(*) FROM rejections").await,
        1
    );
}
