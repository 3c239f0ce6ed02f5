//! The efficiency guard: database statements per ingested batch and per
//! processed event, counted (not timed) through the store's statement
//! observer, on both backends.
//!
//! Counts are deterministic where timings are not, so this runs in every
//! `cargo test` on a busy machine. Each bound is about twice today's figure
//! (printed with `--nocapture`, and recorded in BENCHMARKS.md): background
//! work (the queue gauges, lost-lease recovery, idle claims, start-up checks)
//! adds a little noise, and a harmless extra statement should not fail the
//! build, but a change that makes processing issue 3× the statements (a
//! per-event query in a per-batch path, a settle per event instead of per
//! batch, an extra round trip per claim) does.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use adapters::store::StatementObserver;
use bootstrap::Overrides;
use hookd_tests::{Backend, TestDb, sign, test_settings};
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

on_both_backends!(statements_per_ingested_batch_and_per_processed_event);

const EVENTS: usize = 300;
const WAIT: Duration = Duration::from_secs(60);

/// Statements per batch of one new event (requests sent one at a time, so
/// each is its own group commit). Today 1.0 on both: one
/// `INSERT … SELECT FROM UNNEST` on PostgreSQL, one multi-row
/// `INSERT … RETURNING` on SQLite (whose queue positions are reserved in
/// memory after one `MAX(seq)` at start).
const MAX_PER_BATCH: f64 = 2.0;

/// Statements per processed event with the log handler, 4 workers and
/// batches of 32 (the defaults): twice today's figure.
fn max_per_processed_event(backend: Backend) -> f64 {
    2.0 * expected_now(backend)
}

/// Today's statements per processed event (see the module docs and
/// BENCHMARKS.md): claims and settlements are per batch, so well under one;
/// PostgreSQL settles successes in one statement, SQLite in one per claim
/// and worker (a success writes no history row).
fn expected_now(backend: Backend) -> f64 {
    match backend {
        Backend::Sqlite => 0.15,
        Backend::Postgres => 0.10,
    }
}

/// Start-up and periodic work that is not per event: migrations, the
/// quarantine's retention, the queue gauges (the only `COUNT`s).
fn background(sql: &str) -> bool {
    sql.contains("seaql_migrations") || sql.contains("rejections") || sql.contains("COUNT(")
}

/// Statements seen, keyed by the start of their SQL.
#[derive(Default)]
struct Counter(Mutex<HashMap<String, u64>>);

impl Counter {
    fn observer(self: &Arc<Self>) -> StatementObserver {
        let counter = self.clone();
        StatementObserver(Arc::new(move |sql: &str| {
            let key: String = sql
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(70)
                .collect();
            let key = if background(sql) {
                format!("(background) {key}")
            } else {
                key
            };
            *counter.0.lock().unwrap().entry(key).or_default() += 1;
        }))
    }

    /// Statements since the last call but background ones, and the whole
    /// breakdown, most frequent first.
    fn take(&self) -> (u64, Vec<(String, u64)>) {
        let seen = std::mem::take(&mut *self.0.lock().unwrap());
        let mut breakdown: Vec<_> = seen.into_iter().collect();
        breakdown.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let counted = breakdown
            .iter()
            .filter(|(sql, _)| !sql.starts_with("(background)"))
            .map(|(_, n)| n)
            .sum();
        (counted, breakdown)
    }
}

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn spawn_counted(db: &TestDb, workers: usize, counter: &Arc<Counter>) -> Running {
    let mut settings = test_settings(db);
    settings.processing.workers = workers;
    settings.validate().unwrap();
    let overrides = Overrides {
        statements: Some(counter.observer()),
        ..Overrides::default()
    };
    let app = bootstrap::build_with(&settings, overrides).await.unwrap();
    let running = Running {
        addr: app.local_addr(),
        shutdown: app.shutdown_token(),
        server: tokio::spawn(app.run_until_stopped()),
    };
    // Wait until it answers, so start-up is over before counting.
    let client = reqwest::Client::new();
    let healthz = format!("http://{}/healthz", running.addr);
    let deadline = Instant::now() + WAIT;
    while client.get(&healthz).send().await.is_err() {
        assert!(Instant::now() < deadline, "hookd did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

fn report(backend: Backend, what: &str, total: u64, per: f64, breakdown: &[(String, u64)]) {
    eprintln!(
        "{backend:?}: {what}: {total} statements (background ones aside), {per:.3} per event"
    );
    for (sql, n) in breakdown.iter().take(12) {
        eprintln!("  {n:>6}  {sql}");
    }
}

async fn statements_per_ingested_batch_and_per_processed_event(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let counter = Arc::new(Counter::default());

    // Intake only: one request at a time, so each one is a batch of one.
    let intake = spawn_counted(&db, 0, &counter).await;
    counter.take();
    let client = reqwest::Client::new();
    for n in 0..EVENTS {
        let body = format!(r#"{{"event_id":"evt_{n}","type":"guard.event"}}"#);
        let response = client
            .post(format!("http://{}/webhook", intake.addr))
            .header("content-type", "application/json")
            .header("x-signature", sign(&body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let (total, breakdown) = counter.take();
    let per_batch = total as f64 / EVENTS as f64;
    report(
        backend,
        "ingest (batches of one)",
        total,
        per_batch,
        &breakdown,
    );
    intake.stop().await;
    assert!(
        per_batch <= MAX_PER_BATCH,
        "{per_batch:.2} statements per ingested batch, over the guard's {MAX_PER_BATCH}"
    );

    // Processing the stored backlog: everything from start-up to the last
    // event processed counts.
    counter.take();
    let app = spawn_counted(&db, 4, &counter).await;
    let check = db.connect().await;
    hookd_tests::db::wait_for(
        &check,
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        EVENTS as i64,
        WAIT,
    )
    .await;
    let (total, breakdown) = counter.take();
    app.stop().await;
    let per_event = total as f64 / EVENTS as f64;
    report(
        backend,
        "processing (4 workers, log handler)",
        total,
        per_event,
        &breakdown,
    );
    let limit = max_per_processed_event(backend);
    assert!(
        per_event <= limit,
        "{per_event:.2} statements per processed event, over the guard's {limit:.2} \
         (today about {}): did processing gain a per-event round trip?",
        expected_now(backend)
    );
}
