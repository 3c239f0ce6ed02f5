//! The scale benchmark (issue 11): the same figures on an empty database
//! and on one holding millions of events, and the table's size under steady
//! load with retention. Driven by `scripts/scale-bench/` (see its README),
//! which creates and fills the databases.
//!
//! `cargo bench -p hookd-tests --bench scale -- --url URL --label NAME
//! [--events 20000] [--connections 64]`: on the database at URL (migrated,
//! possibly filled), hookd in this process:
//! 1. ingest: `--events` signed requests → `202` (workers off);
//! 2. claim/settle: draining them with 4 workers and the log handler;
//! 3. reads, median of 30: `GET /events` first page, filtered pages
//!    (source + status; source alone; a token restricted to two sources),
//!    `GET /stats`; and the mean gauge refresh
//!    (`hookd_gauge_refresh_seconds`, every 5 s while the reads run).
//!
//! `… -- --url URL --migrate` creates the schema and exits.
//!
//! `… -- --url URL --steady RATE --minutes M`: `RATE` webhooks/s for `M`
//! minutes with 4 workers and `retention.processed = "1m"`, printing the
//! events table's row count and the database's size every minute.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::{Duration, Instant};

use hookd_tests::{TestApp, sign, spawn_app_on};
use sea_orm::DbBackend;

fn flag<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn main() {
    let url: String = flag("--url").expect("--url is required");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if std::env::args().any(|a| a == "--migrate") {
            // Creates the schema (the fill scripts need it) and exits.
            spawn_app_on(&url, |s| s.processing.workers = 0, None)
                .await
                .stop()
                .await;
        } else if let Some(rate) = flag::<u64>("--steady") {
            steady(&url, rate, flag("--minutes").unwrap_or(10)).await;
        } else {
            let label: String = flag("--label").unwrap_or_else(|| "run".to_owned());
            compare(
                &url,
                &label,
                flag("--events").unwrap_or(20_000),
                flag("--connections").unwrap_or(64),
            )
            .await;
        }
    });
}

async fn compare(url: &str, label: &str, events: usize, connections: usize) {
    let app = spawn_app_on(
        url,
        |s| {
            s.processing.workers = 0;
            s.database.max_connections = 32;
        },
        None,
    )
    .await;
    let rows = app.scalar("SELECT COUNT(*) FROM events").await;
    println!("{label}: {rows} events in the table before the run");
    // A prefix of its own per run: the ids are new even on a filled table.
    let run = uuid::Uuid::now_v7().simple().to_string();
    let bodies: Vec<String> = (0..events)
        .map(|n| {
            format!(
                r#"{{"event_id":"scale_{run}_{n}","type":"bench.event","data":{{"n":{n},"pad":"{}"}}}}"#,
                "x".repeat(200)
            )
        })
        .collect();
    let started = Instant::now();
    let accepted = send_all(&app, bodies, connections).await;
    let ingest = started.elapsed();
    // Refusals (a 503 when the database is too slow) are reported, not hidden.
    println!(
        "{label}: ingest        {:>9.0} webhooks/s ({accepted} of {events} accepted in {ingest:.2?})",
        accepted as f64 / ingest.as_secs_f64()
    );
    app.stop().await;

    let started = Instant::now();
    let app = spawn_app_on(
        url,
        |s| {
            s.processing.workers = 4;
            s.processing.poll_interval_ms = 10;
        },
        None,
    )
    .await;
    wait_for_zero(
        &app,
        "SELECT COUNT(*) FROM events WHERE status IN ('pending', 'retrying', 'processing') \
         AND source = 'default'",
    )
    .await;
    let drain = started.elapsed();
    println!(
        "{label}: claim/settle  {:>9.0} events/s   (4 workers, {drain:.2?})",
        accepted as f64 / drain.as_secs_f64()
    );

    let started = Instant::now();
    let every = app.token();
    // A token restricted to two of the fill's smaller sources.
    let two = app.token_with(
        &application::ports::Scope::ALL,
        Some(&["slack", "internal"]),
    );
    for (name, token, path) in [
        ("first page", &every, "/events"),
        (
            "source+status",
            &every,
            "/events?source=default&status=processed",
        ),
        ("rare status", &every, "/events?source=stripe&status=dead"),
        ("source only", &every, "/events?source=github"),
        ("small source only", &every, "/events?source=internal"),
        ("token of 2 sources", &two, "/events"),
        ("stats", &every, "/stats"),
    ] {
        let (median, p90) = timed_gets(&app, token, path, 30).await;
        println!("{label}: GET {path:<42} median {median:>8.2} ms  p90 {p90:>8.2} ms  ({name})");
    }
    // At least three refreshes (every 5 s) since the app started.
    let elapsed = started.elapsed();
    if elapsed < Duration::from_secs(16) {
        tokio::time::sleep(Duration::from_secs(16) - elapsed).await;
    }
    let (count, sum) = gauge_refreshes(&app).await;
    println!(
        "{label}: gauge refresh  mean {:>8.2} ms over {count} refreshes",
        sum / count.max(1.0) * 1000.0
    );
    app.stop().await;
}

/// Median and 90th percentile of `n` sequential GETs, in milliseconds.
async fn timed_gets(app: &TestApp, token: &str, path: &str, n: usize) -> (f64, f64) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.bytes().await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[n / 2], times[(n * 9 / 10).min(n - 1)])
}

/// `hookd_gauge_refresh_seconds`' count and sum from `GET /metrics`.
async fn gauge_refreshes(app: &TestApp) -> (f64, f64) {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("hookd_gauge_refresh_seconds_count"),
        value("hookd_gauge_refresh_seconds_sum"),
    )
}

async fn steady(url: &str, rate: u64, minutes: u64) {
    let app = spawn_app_on(
        url,
        |s| {
            s.processing.workers = 4;
            s.retention.processed = Some(Duration::from_secs(60));
        },
        None,
    )
    .await;
    let connections = 16_u64;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut senders = tokio::task::JoinSet::new();
    for lane in 0..connections {
        let addr = app.addr;
        let stop = stop.clone();
        senders.spawn(async move {
            let mut sender = connect(addr).await;
            let mut ticks =
                tokio::time::interval(Duration::from_micros(1_000_000 * connections / rate));
            let mut n = 0_u64;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                let body = format!(
                    r#"{{"event_id":"steady_{lane}_{n}_{}","data":{{"pad":"{}"}}}}"#,
                    uuid::Uuid::now_v7().simple(),
                    "x".repeat(300)
                );
                n += 1;
                post(&mut sender, addr, body).await;
            }
            n
        });
    }
    println!("minute | events in table | database size (MiB) | deleted so far");
    let started = Instant::now();
    for minute in 0..=minutes {
        let target = Duration::from_secs(60 * minute);
        if let Some(wait) = target.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let rows = app.scalar("SELECT COUNT(*) FROM events").await;
        let size = database_bytes(&app, url).await as f64 / 1_048_576.0;
        let deleted = metric(&app, "hookd_retention_deleted_total{status=\"processed\"}").await;
        println!("{minute:>6} | {rows:>15} | {size:>19.1} | {deleted:>14.0}");
    }
    stop.cancel();
    let sent: u64 = senders.join_all().await.into_iter().sum();
    println!(
        "sent {sent} webhooks in {:.0?} ({:.0}/s)",
        started.elapsed(),
        sent as f64 / started.elapsed().as_secs_f64()
    );
    app.stop().await;
}

/// PostgreSQL: the database's size; SQLite: the file and its WAL.
async fn database_bytes(app: &TestApp, url: &str) -> i64 {
    if app.db.get_database_backend() == DbBackend::Postgres {
        return app
            .scalar("SELECT CAST(pg_database_size(current_database()) AS BIGINT)")
            .await;
    }
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let size = |p: &str| std::fs::metadata(p).map_or(0, |m| m.len());
    i64::try_from(size(&path) + size(&format!("{path}-wal"))).unwrap_or(i64::MAX)
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

async fn connect(addr: std::net::SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn post(sender: &mut Sender, addr: std::net::SocketAddr, body: String) -> bool {
    let request = hyper::Request::post("/webhook")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("x-signature", sign(&body))
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let accepted = response.status() == hyper::StatusCode::ACCEPTED;
    if !accepted {
        eprintln!("refused: {}", response.status());
    }
    http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    accepted
}

/// Sends every body over `connections` keep-alive HTTP/1.1 connections (one
/// request in flight on each) and counts the `202`s.
async fn send_all(app: &TestApp, bodies: Vec<String>, connections: usize) -> usize {
    let mut lanes: Vec<Vec<String>> = vec![Vec::new(); connections];
    for (i, item) in bodies.into_iter().enumerate() {
        lanes[i % connections].push(item);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let addr = app.addr;
        tasks.spawn(async move {
            let mut sender = connect(addr).await;
            let mut accepted = 0;
            for body in lane {
                if post(&mut sender, addr, body).await {
                    accepted += 1;
                }
            }
            accepted
        });
    }
    tasks.join_all().await.into_iter().sum()
}

/// Waits until `sql` counts zero; it reads the partial index of unfinished
/// events, so polling does not skew the figures.
async fn wait_for_zero(app: &TestApp, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while app.scalar(sql).await > 0 {
        assert!(Instant::now() < deadline, "the queue did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
