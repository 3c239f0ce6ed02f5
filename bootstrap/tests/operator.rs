//! The operator commands (`hookd events …`, `hookd stats`) against a running
//! instance, through the real binary.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use application::ports::Scope;
use hookd_tests::{Backend, TestDb, spawn_app};
use serde_json::Value;

/// Runs `hookd ARGS` with `HOOKD_URL` and `HOOKD_TOKEN`: (success, stdout, stderr).
async fn hookd(url: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
    command
        .args(args)
        .env_clear()
        .env("HOOKD_URL", url)
        .env("HOOKD_TOKEN", token);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_show_replay_and_count_events() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| settings.processing.workers = 0).await;
    let receipt: Value = app
        .post_signed(r#"{"event_id":"evt_cli","type":"t"}"#)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    let url = app.url("");
    let token = app.token();

    let (ok, table, error) = hookd(&url, &token, &["events", "list", "--status", "pending"]).await;
    assert!(ok, "{error}");
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(table.contains("evt_cli") && table.contains(id), "{table}");

    let (ok, json, error) = hookd(&url, &token, &["events", "list", "--json"]).await;
    assert!(ok, "{error}");
    let page: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(page["items"][0]["event_id"], "evt_cli");

    let (ok, detail, _) = hookd(&url, &token, &["events", "show", id]).await;
    assert!(ok && detail.contains("payload_sha256"), "{detail}");

    let (ok, stats, _) = hookd(&url, &token, &["stats"]).await;
    assert!(ok && stats.contains("queue depth         1"), "{stats}");

    // A pending event is not replayable: the API's error is shown, exit non-zero.
    let (ok, _, error) = hookd(&url, &token, &["events", "replay", id]).await;
    assert!(!ok && error.contains("not_replayable"), "{error}");
    let (ok, out, _) = hookd(&url, &token, &["events", "replay", "--status", "dead"]).await;
    assert!(ok && out.contains("re-queued 0"), "{out}");

    let reader = app.token_with(&[Scope::EventsRead], None);
    let (ok, _, error) = hookd(&url, &reader, &["stats"]).await;
    assert!(!ok && error.contains("insufficient_scope"), "{error}");
    app.stop().await;
}
