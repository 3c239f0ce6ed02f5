//! Probes, and what clients see when the database is away.

use std::time::Duration;

use hookd_tests::{Backend, TestDb, spawn_app, test_settings};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

on_both_backends!(liveness_and_readiness_answer_200);

async fn liveness_and_readiness_answer_200(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    app.stop().await;
}

/// A PostgreSQL server that is not there: nothing listens on this port.
fn unreachable_database_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("postgres://postgres@127.0.0.1:{port}/hookd")
}

#[tokio::test]
async fn an_unreachable_database_gives_503_with_retry_after_never_202() {
    let sqlite = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut settings = test_settings(&sqlite);
    settings.database.url = SecretString::from(unreachable_database_url());
    // Without migrations to apply, hookd starts and waits for its database.
    settings.database.auto_migrate = false;
    settings.database.acquire_timeout_seconds = 1;
    let app = bootstrap::build(&settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    let payload = r#"{"event_id":"evt_1"}"#;
    let started = std::time::Instant::now();
    let response = client
        .post(format!("{base}/webhook"))
        .header("x-signature", hookd_tests::sign(payload))
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unavailable");

    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// PostgreSQL goes away under a running hookd and comes back: 503 with
/// `Retry-After` (never 202) while it is away, and 202 again afterwards,
/// without a restart.
#[tokio::test]
async fn hookd_recovers_when_the_database_comes_back() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let (proxy, url) = hookd_tests::proxy::TcpProxy::for_database(&db.url).await;
    let app = hookd_tests::spawn_app(&db, |settings| {
        settings.database.url = SecretString::from(url);
        settings.database.acquire_timeout_seconds = 1;
    })
    .await;
    assert_eq!(
        app.post_signed(r#"{"event_id":"before"}"#).await.status(),
        StatusCode::ACCEPTED
    );

    proxy.stop();
    let response = app.post_signed(r#"{"event_id":"during"}"#).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    proxy.resume().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        if ready.status() == StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.post_signed(r#"{"event_id":"after"}"#).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(app.event_count().await, 2);
    app.stop().await;
}
