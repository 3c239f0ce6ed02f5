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
        "SELECT COUNT(DISTINCT split_part(worker, '/', 1)) FROM event_attempts",
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
