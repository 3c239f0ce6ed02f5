//! hookd as real processes: replicas sharing PostgreSQL, `kill -9`, SIGTERM.
//!
//! These live in `bootstrap` rather than `tests/` because Cargo only tells a
//! package's own tests where its binary is (`CARGO_BIN_EXE_hookd`).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use hookd_tests::{
    Backend, TestDb, sign,
    target::{Answer, FORWARD_SECRET, Target},
};
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;

const WAIT: Duration = Duration::from_secs(60);

/// A `hookd serve` child process.
struct Hookd {
    child: Child,
    base: String,
}

impl Hookd {
    /// Starts the binary on a free loopback port with `HOOKD__…` settings.
    async fn start(db: &TestDb, env: &[(&str, String)]) -> Self {
        adapters::tls::ensure_crypto_provider();
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOOKD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("HOOKD__DATABASE__URL", &db.url)
            .env("HOOKD__PROCESSING__POLL_INTERVAL_MS", "100")
            .env("HOOKD__LOG__LEVEL", "warn")
            // Else development would generate one in the working directory.
            .env(
                "HOOKD__AUTH__JWT_SECRET",
                hex::encode(rand::random::<[u8; 32]>()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let hookd = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        hookd.wait_until_ready().await;
        hookd
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(response) = reqwest::get(format!("{}/readyz", self.base)).await
                && response.status() == StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "hookd did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, body: &str) -> StatusCode {
        reqwest::Client::new()
            .post(format!("{}/webhook", self.base))
            .header("content-type", "application/json")
            .header("x-signature", sign(body))
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .status()
    }

    /// The `:pid:` part of this process's worker names (`host:pid:nonce/n`).
    fn pid_marker(&self) -> String {
        format!(":{}:", self.child.id())
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().code()
    }
}

impl Drop for Hookd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_to(target: &Target) -> Vec<(&'static str, String)> {
    vec![
        (
            "HOOKD__SOURCES__DEFAULT__SECRET",
            hookd_tests::SECRET.to_owned(),
        ),
        (
            "HOOKD__SOURCES__DEFAULT__HANDLER__KIND",
            "forward".to_owned(),
        ),
        ("HOOKD__SOURCES__DEFAULT__HANDLER__URL", target.url()),
        (
            "HOOKD__SOURCES__DEFAULT__HANDLER__FORWARD_SECRET",
            FORWARD_SECRET.to_owned(),
        ),
    ]
}

async fn wait_for(db: &DatabaseConnection, sql: &str, expected: i64) {
    hookd_tests::db::wait_for(db, sql, expected, WAIT).await;
}

fn body(event_id: &str) -> String {
    format!(r#"{{"event_id":"{event_id}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_postgres_deliver_each_event_once() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let target = Target::start(|_, _| Answer::OK).await;
    let env = forward_to(&target);
    // The first applies migrations; the others find them applied.
    let first = Hookd::start(&db, &env).await;
    let replicas = [
        first,
        Hookd::start(&db, &env).await,
        Hookd::start(&db, &env).await,
    ];

    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..6 {
        let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
        senders.spawn(async move {
            let client = reqwest::Client::new();
            for n in (sender..3000).step_by(6) {
                let body = body(&format!("evt_{n}"));
                let status = client
                    .post(format!("{}/webhook", bases[n % 3]))
                    .header("content-type", "application/json")
                    .header("x-signature", sign(&body))
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::ACCEPTED);
            }
        });
    }
    senders.join_all().await;
    let conn = db.connect().await;
    wait_for(
        &conn,
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        3000,
    )
    .await;

    let deliveries = target.deliveries();
    assert!(deliveries.iter().all(|d| d.verified));
    let mut ids: Vec<_> = deliveries.iter().map(|d| d.event_id()).collect();
    ids.sort();
    let total = ids.len();
    ids.dedup();
    assert_eq!(
        (ids.len(), total),
        (3000, 3000),
        "an event was delivered twice or never"
    );
    // All three replicas did work.
    let workers = hookd_tests::db::scalar(
        &conn,
        "SELECT COUNT(DISTINCT split_part(worker, '/', 1)) FROM attempt_history",
    )
    .await;
    assert_eq!(workers, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_accepted_before_kill_9_is_processed_after_a_restart() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        // No workers, so the event is surely stored but not processed when killed.
        let hookd = Hookd::start(&db, &[("HOOKD__PROCESSING__WORKERS", "0".into())]).await;
        assert_eq!(hookd.post(&body("evt_killed")).await, StatusCode::ACCEPTED);
        hookd.kill_9();

        let _restarted = Hookd::start(&db, &[]).await;
        let conn = db.connect().await;
        wait_for(
            &conn,
            "SELECT COUNT(*) FROM events WHERE status = 'processed'",
            1,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_worker_was_killed_is_taken_again_after_its_lease() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        // The first delivery hangs (the worker is killed meanwhile); later ones succeed.
        let target = Target::start(|_, earlier| Answer {
            delay: if earlier == 0 {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            },
            ..Answer::OK
        })
        .await;
        let mut env = forward_to(&target);
        env.push(("HOOKD__PROCESSING__LEASE_SECONDS", "3".into()));
        env.push(("HOOKD__PROCESSING__HANDLER_TIMEOUT_SECONDS", "2".into()));
        let first = Hookd::start(&db, &env).await;
        assert_eq!(first.post(&body("evt_orphan")).await, StatusCode::ACCEPTED);
        target.wait_for_deliveries(1, WAIT).await;
        first.kill_9();

        let _second = Hookd::start(&db, &env).await;
        let conn = db.connect().await;
        wait_for(
            &conn,
            "SELECT COUNT(*) FROM events WHERE status = 'processed' AND attempts = 2",
            1,
        )
        .await;
        let deliveries = target.deliveries();
        assert_eq!(deliveries.len(), 2);
        assert_eq!(deliveries[0].webhook_id, deliveries[1].webhook_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_event_in_flight_claims_nothing_more_and_exits_0() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let target = Target::start(|delivery, _| Answer {
            delay: if delivery.event_id() == "evt_slow" {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
            ..Answer::OK
        })
        .await;
        let mut env = forward_to(&target);
        env.push(("HOOKD__PROCESSING__WORKERS", "1".into()));
        env.push(("HOOKD__PROCESSING__BATCH_SIZE", "1".into()));
        let hookd = Hookd::start(&db, &env).await;
        assert_eq!(hookd.post(&body("evt_slow")).await, StatusCode::ACCEPTED);
        target.wait_for_deliveries(1, WAIT).await;
        for n in 0..5 {
            assert_eq!(
                hookd.post(&body(&format!("evt_queued_{n}"))).await,
                StatusCode::ACCEPTED
            );
        }
        assert_eq!(hookd.terminate(), Some(0));

        let conn = db.connect().await;
        assert_eq!(
            hookd_tests::db::scalar(
                &conn,
                "SELECT COUNT(*) FROM events WHERE status = 'processed'"
            )
            .await,
            1
        );
        assert_eq!(
            hookd_tests::db::scalar(
                &conn,
                "SELECT COUNT(*) FROM events WHERE status = 'pending'"
            )
            .await,
            5
        );
        assert_eq!(
            target.deliveries().len(),
            1,
            "an event was claimed after SIGTERM"
        );

        let _next = Hookd::start(&db, &env).await;
        wait_for(
            &conn,
            "SELECT COUNT(*) FROM events WHERE status = 'processed'",
            6,
        )
        .await;
    }
}

/// Issue 8.1–8.3: an event whose delivery takes its process down (here: the
/// process is killed during every attempt). The attempt ceiling holds for
/// crashes too, every lost attempt is in the history, and a restarted
/// instance takes the event over at once — not after the 300 s lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_kills_its_process_every_time_is_dead_after_max_attempts() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        // Every delivery hangs: the process is killed while it waits.
        let target = Target::start(|_, _| Answer {
            delay: Duration::from_secs(3600),
            ..Answer::OK
        })
        .await;
        let mut env = forward_to(&target);
        env.push(("HOOKD__PROCESSING__MAX_ATTEMPTS", "2".into()));
        env.push(("HOOKD__PROCESSING__BACKOFF_BASE_MS", "100".into()));
        let first = Hookd::start(&db, &env).await;
        assert_eq!(first.post(&body("evt_poison")).await, StatusCode::ACCEPTED);
        target.wait_for_deliveries(1, WAIT).await;
        first.kill_9();

        let second = Hookd::start(&db, &env).await;
        // Taken over promptly (the lease is 300 s), as attempt 2.
        target.wait_for_deliveries(2, Duration::from_secs(20)).await;
        second.kill_9();

        let _third = Hookd::start(&db, &env).await;
        let conn = db.connect().await;
        wait_for(
            &conn,
            "SELECT COUNT(*) FROM events WHERE status = 'dead' AND attempts = 2 \
             AND last_error LIKE '%attempts exhausted by lost leases%'",
            1,
        )
        .await;
        wait_for(
            &conn,
            "SELECT COUNT(*) FROM attempt_history WHERE outcome = 'lost'",
            2,
        )
        .await;
        // Not delivered a third time.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(target.deliveries().len(), 2);
    }
}

/// Issue 8.3 with replicas: a surviving replica takes over a killed one's
/// event within seconds (the liveness lock is gone), but never a live one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_takes_over_a_killed_replicas_event_but_never_a_live_ones() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let target = Target::start(|delivery, earlier| Answer {
        delay: match delivery.event_id().as_str() {
            // Slow but alive: must not be taken over while it runs.
            "evt_slow" => Duration::from_secs(4),
            // Hangs the first time: its replica is killed meanwhile.
            "evt_orphan" if earlier == 0 => Duration::from_secs(3600),
            _ => Duration::ZERO,
        },
        ..Answer::OK
    })
    .await;
    let mut env = forward_to(&target);
    env.push(("HOOKD__PROCESSING__HANDLER_TIMEOUT_SECONDS", "60".into()));
    let a = Hookd::start(&db, &env).await;
    let b = Hookd::start(&db, &env).await;

    assert_eq!(a.post(&body("evt_slow")).await, StatusCode::ACCEPTED);
    let conn = db.connect().await;
    wait_for(
        &conn,
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1,
    )
    .await;
    assert_eq!(
        target.deliveries().len(),
        1,
        "a live replica's event was taken over"
    );

    // Whoever claims evt_orphan is killed; the other delivers it again soon.
    assert_eq!(b.post(&body("evt_orphan")).await, StatusCode::ACCEPTED);
    target.wait_for_deliveries(2, WAIT).await;
    let holder: String = {
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &conn,
            sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT leased_by FROM events WHERE event_id = 'evt_orphan'",
            ),
        )
        .await
        .unwrap()
        .unwrap();
        row.try_get_by_index(0).unwrap()
    };
    let (victim, survivor) = if holder.contains(&a.pid_marker()) {
        (a, b)
    } else {
        (b, a)
    };
    victim.kill_9();
    // The lease is 300 s; the takeover comes from the liveness lock.
    target.wait_for_deliveries(3, Duration::from_secs(15)).await;
    wait_for(
        &conn,
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        2,
    )
    .await;
    wait_for(
        &conn,
        "SELECT COUNT(*) FROM attempt_history WHERE outcome = 'lost'",
        1,
    )
    .await;
    drop(survivor);
}

/// Issue 8.5: a client that stalls in the middle of its headers held up the
/// HTTP drain for `header_read_timeout_seconds` before the workers' grace
/// even started. Shutdown is bounded by `shutdown_grace_seconds` as a whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stalled_client_exits_0_within_the_grace_period() {
    let Some(db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let hookd = Hookd::start(
        &db,
        &[
            ("HOOKD__PROCESSING__SHUTDOWN_GRACE_SECONDS", "3".into()),
            ("HOOKD__SERVER__HEADER_READ_TIMEOUT_SECONDS", "60".into()),
            ("HOOKD__SERVER__REQUEST_TIMEOUT_SECONDS", "60".into()),
        ],
    )
    .await;
    let address = hookd.base.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stalled,
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"event_id\":",
    )
    .await
    .unwrap();
    // The request is being read when the signal comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let code = tokio::task::spawn_blocking(move || hookd.terminate())
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(code, Some(0));
    assert!(
        took < Duration::from_millis(4500),
        "shutdown took {took:?} with a 3 s grace period"
    );
    drop(stalled);
}

/// Found by the chaos suite: two replicas starting together on an empty
/// PostgreSQL database both ran the migrations, and one died on a duplicate
/// key in `pg_type`. Migrations now run under an advisory lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_database_both_start() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let (a, b) = tokio::join!(Hookd::start(&db, &[]), Hookd::start(&db, &[]));
    assert_eq!(a.post(&body("evt_a")).await, StatusCode::ACCEPTED);
    assert_eq!(b.post(&body("evt_b")).await, StatusCode::ACCEPTED);
}
