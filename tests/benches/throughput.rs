//! Throughput and latency of hookd, end to end over HTTP, on SQLite and
//! (when `TEST_DATABASE_URL` is set) PostgreSQL.
//!
//! `cargo bench -p hookd-tests --bench throughput` (optionally with
//! `-- --events 20000 --connections 64`). It runs hookd in this process (built
//! by the same `build()` as `main`) and the load generator beside it, so both
//! share the machine's cores: the figures are a floor for hookd alone.
//!
//! Three measurements per backend:
//! 1. ingest: signed requests → `202`, with workers off (what a sender sees);
//! 2. processing: draining that backlog with 4 workers and the log handler;
//! 3. latency: `202` → `processed` at a steady moderate rate, p50/p99 (from
//!    `received_at` and `processed_at` in the database).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::{Duration, Instant};

use hookd_tests::{Backend, TestApp, TestDb, sign, spawn_app};

struct Options {
    events: usize,
    connections: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        events: value("--events", 20_000),
        connections: value("--connections", 64),
    }
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "hookd throughput: {} events, {} connections, {} cores",
            options.events,
            options.connections,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let Some(db) = TestDb::create(backend).await else {
                println!("{backend:?}: skipped (TEST_DATABASE_URL not set)");
                continue;
            };
            run(backend, &db, &options).await;
        }
    });
}

async fn run(backend: Backend, db: &TestDb, options: &Options) {
    // 1. Ingest only.
    let app = spawn_app(db, |s| {
        s.processing.workers = 0;
        s.database.max_connections = 32;
    })
    .await;
    let bodies: Vec<(String, String)> = (0..options.events)
        .map(|n| {
            let body = format!(
                r#"{{"event_id":"bench_{n}","type":"bench.event","data":{{"n":{n},"pad":"{}"}}}}"#,
                "x".repeat(200)
            );
            let signature = sign(&body);
            (body, signature)
        })
        .collect();
    let started = Instant::now();
    let accepted = send_all(&app, bodies, options.connections).await;
    let ingest = started.elapsed();
    assert_eq!(accepted, options.events, "not every request was accepted");
    println!(
        "{backend:?}: ingest     {:>8.0} webhooks/s  ({} in {:.2?}, 202 = committed)",
        rate(options.events, ingest),
        options.events,
        ingest
    );
    app.stop().await;

    // 2. Drain the backlog with 4 workers.
    let started = Instant::now();
    let app = spawn_app(db, |s| {
        s.processing.workers = 4;
        s.processing.poll_interval_ms = 10;
    })
    .await;
    wait_until_drained(&app).await;
    let drain = started.elapsed();
    println!(
        "{backend:?}: processing {:>8.0} events/s    (4 workers, log handler, {:.2?})",
        rate(options.events, drain),
        drain
    );

    // 3. Latency at a steady rate: one request at a time per connection, 4 connections.
    let bodies: Vec<(String, String)> = (0..2_000)
        .map(|n| {
            let body = format!(r#"{{"event_id":"latency_{n}"}}"#);
            let signature = sign(&body);
            (body, signature)
        })
        .collect();
    send_all(&app, bodies, 4).await;
    wait_until_drained(&app).await;
    let mut latencies = latencies_ms(&app).await;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{backend:?}: latency    p50 {:.1} ms, p99 {:.1} ms  (202 → processed, {} events)",
        pct(0.50),
        pct(0.99),
        latencies.len()
    );
    app.stop().await;
}

/// Sends every body over `connections` keep-alive HTTP/1.1 connections
/// (one request in flight on each) and counts the `202`s.
async fn send_all(app: &TestApp, bodies: Vec<(String, String)>, connections: usize) -> usize {
    let mut lanes: Vec<Vec<(String, String)>> = vec![Vec::new(); connections];
    for (i, item) in bodies.into_iter().enumerate() {
        lanes[i % connections].push(item);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let addr = app.addr;
        tasks.spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut accepted = 0;
            for (body, signature) in lane {
                let request = hyper::Request::post("/webhook")
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .header("x-signature", signature)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                if response.status() == hyper::StatusCode::ACCEPTED {
                    accepted += 1;
                }
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
            }
            accepted
        });
    }
    tasks.join_all().await.into_iter().sum()
}

/// Waits until no event is left to process. The query reads the small
/// partial index of unfinished events, so polling does not skew the figures.
async fn wait_until_drained(app: &TestApp) {
    let sql = "SELECT COUNT(*) FROM events WHERE status IN ('pending', 'retrying', 'processing')";
    let deadline = Instant::now() + Duration::from_secs(600);
    while app.scalar(sql).await > 0 {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the queue to drain"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn latencies_ms(app: &TestApp) -> Vec<f64> {
    use sea_orm::ConnectionTrait;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT processed_at - received_at FROM events WHERE event_id LIKE 'latency_%'",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<i64>(0).unwrap() as f64 / 1000.0)
        .collect()
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}
