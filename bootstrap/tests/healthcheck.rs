//! `hookd healthcheck` (the container health check) through the real binary:
//! against a running server, a closed port, a server that never answers and
//! a non-200 answer.
#![allow(clippy::unwrap_used)]

use std::{
    net::TcpListener,
    process::Command,
    time::{Duration, Instant},
};

use hookd_tests::{Backend, TestDb, spawn_app};

/// Runs `hookd healthcheck ARGS` with only `env` set: (success, stdout, stderr, elapsed).
async fn healthcheck(args: &[&str], env: &[(&str, String)]) -> (bool, String, String, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
    command.arg("healthcheck").args(args).env_clear();
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        started.elapsed(),
    )
}

/// A loopback port that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_against_the_configured_port_of_a_running_server_and_fails_on_other_statuses() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |_| {}).await;

    // No --url: the port comes from server.bind, as in the image.
    let bind = (
        "HOOKD__SERVER__BIND",
        format!("0.0.0.0:{}", app.addr.port()),
    );
    let (ok, stdout, stderr, _) = healthcheck(&[], &[bind]).await;
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "ok");

    let missing = app.url("/no-such-page");
    let (ok, _, stderr, _) = healthcheck(&["--url", &missing], &[]).await;
    assert!(!ok);
    assert!(stderr.contains("404"), "{stderr}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_on_a_closed_port() {
    let port = closed_port();
    let bind = ("HOOKD__SERVER__BIND", format!("127.0.0.1:{port}"));
    let (ok, stdout, stderr, _) = healthcheck(&[], &[bind]).await;
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!("GET http://127.0.0.1:{port}/healthz")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_timeout_when_the_server_never_answers() {
    // Connections are accepted by the kernel (backlog) but never answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", silent.local_addr().unwrap());
    let (ok, _, stderr, elapsed) = healthcheck(&["--url", &url, "--timeout", "500ms"], &[]).await;
    assert!(!ok);
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    drop(silent);
}
