//! `GET /metrics`: Prometheus text behind an optional token, with intake,
//! processing, HTTP and queue metrics. The recorder is process-wide, so this
//! test uses a source no other test has and reads only its labels.

use std::time::Duration;

use bootstrap::settings::SourceSettings;
use hookd_tests::{Backend, TestApp, TestDb, signing::sign_with, spawn_app};
use reqwest::StatusCode;
use secrecy::SecretString;

const SECRET: &str = "metered-source-secret-of-32-bytes";
const TOKEN: &str = "scrape-token";

async fn post(app: &TestApp, body: &str, signature: &str) -> StatusCode {
    app.client
        .post(app.url("/webhooks/metered"))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_intake_processing_and_requests() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.metrics.token = Some(SecretString::from(TOKEN));
        settings
            .sources
            .insert("metered".to_owned(), SourceSettings::with_secret(SECRET));
    })
    .await;
    let unauthorized = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);

    let body = r#"{"event_id":"evt_metered"}"#;
    let signature = sign_with(SECRET.as_bytes(), body.as_bytes());
    assert_eq!(post(&app, body, &signature).await, StatusCode::ACCEPTED);
    assert_eq!(post(&app, body, &signature).await, StatusCode::OK);
    assert_eq!(post(&app, body, "00").await, StatusCode::UNAUTHORIZED);

    let source = r#"source="metered""#;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = scrape(&app).await;
        let processed = sample(
            &text,
            "hookd_attempts_total",
            &[source, r#"outcome="succeeded""#],
        );
        if processed == Some(1.0) {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let received = "hookd_webhooks_received_total";
    assert_eq!(
        sample(&text, received, &[source, r#"outcome="accepted""#]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, received, &[source, r#"outcome="duplicate""#]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "hookd_webhooks_rejected_total",
            &[source, r#"reason="invalid_signature""#]
        ),
        Some(1.0)
    );
    // Both verified requests used the source's only secret (label "0").
    assert_eq!(
        sample(
            &text,
            "hookd_signature_secret_used_total",
            &[source, r#"label="0""#]
        ),
        Some(2.0)
    );
    let requests = "hookd_http_request_duration_seconds_count";
    let route = r#"route="/webhooks/{source}""#;
    assert!(sample(&text, requests, &[route, r#"status="202""#]).is_some_and(|n| n >= 1.0));
    assert!(text.contains("hookd_processing_duration_seconds_bucket"));
    for gauge in [
        "hookd_queue_depth",
        "hookd_dead_events",
        "hookd_oldest_pending_age_seconds",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(gauge)),
            "{gauge}:\n{text}"
        );
    }
    app.stop().await;
}
