//! Hostile bytes (issue 9.6): characters PostgreSQL cannot store must give a
//! clear 4xx, never a 500, and must not erase rejection records.

use std::time::Duration;

use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    a_nul_in_the_event_type_is_refused_with_422_not_500,
    a_nul_in_the_source_path_is_recorded_escaped_with_its_neighbours,
);

const WAIT: Duration = Duration::from_secs(20);

async fn a_nul_in_the_event_type_is_refused_with_422_not_500(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |s| s.processing.workers = 0).await;
    for body in [
        r#"{"event_id":"evt_nul","type":"invoice\u0000paid"}"#,
        r#"{"event_id":"evt_esc","type":"\u001b[31mred"}"#,
    ] {
        let response = app.post_signed(body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "invalid_event_type");
    }
    // A NUL in the id is refused as before.
    let response = app.post_signed(r#"{"event_id":"evt\u0000x"}"#).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.event_count().await, 0);
    // Intake still works.
    let ok = app
        .post_signed(r#"{"event_id":"evt_ok","type":"invoice.paid"}"#)
        .await;
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    app.stop().await;
}

async fn a_nul_in_the_source_path_is_recorded_escaped_with_its_neighbours(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    // Concurrent, so that they may share a batch of the quarantine writer.
    let mut sends = tokio::task::JoinSet::new();
    for path in [
        "/webhooks/str%00ipe",
        "/webhooks/nope",
        "/webhooks/%1B%5B31m",
    ] {
        let request = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(r#"{"event_id":"x"}"#);
        sends.spawn(async move { request.send().await.unwrap().status() });
    }
    for status in sends.join_all().await {
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    app.wait_for(
        "SELECT COUNT(*) FROM rejections WHERE reason = 'unknown_source'",
        3,
        WAIT,
    )
    .await;
    let (status, page) = app.get_json("/rejections?reason=unknown_source").await;
    assert_eq!(status, StatusCode::OK);
    let mut sources: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["source"].as_str().unwrap().to_owned())
        .collect();
    sources.sort();
    assert_eq!(sources, ["\\u{1b}[31m", "nope", "str\\u{0}ipe"]);
    app.stop().await;
}
