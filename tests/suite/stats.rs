//! `GET /events` filters and `GET /stats`.

use bootstrap::settings::SourceSettings;
use hookd_tests::signing::sign_with;
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

/// The second source's secret (the development default only goes for `default`).
const OTHER_SECRET: &str = "other-source-secret-of-32-bytes!";

fn signature(path: &str, body: &str) -> String {
    let secret = if path == "/webhook" {
        hookd_tests::SECRET
    } else {
        OTHER_SECRET
    };
    sign_with(secret.as_bytes(), body.as_bytes())
}

on_both_backends!(
    events_are_filtered_by_type_id_and_time,
    stats_count_by_status_and_source,
);

async fn post(app: &TestApp, path: &str, event_id: &str, event_type: &str) {
    let body = format!(r#"{{"event_id":"{event_id}","type":"{event_type}"}}"#);
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("x-signature", signature(path, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

/// Idle workers, so every event stays pending.
async fn app_with_two_sources(db: &TestDb) -> TestApp {
    let app = spawn_app(db, |settings| {
        settings.processing.workers = 0;
        settings.sources.insert(
            "other".to_owned(),
            SourceSettings::with_secret(OTHER_SECRET),
        );
    })
    .await;
    for n in 0..3 {
        post(&app, "/webhook", &format!("evt_{n}"), "invoice.paid").await;
    }
    post(&app, "/webhooks/other", "evt_x", "refund").await;
    app
}

fn ids(page: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn events_are_filtered_by_type_id_and_time(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = app_with_two_sources(&db).await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cases = [
        ("type=refund".to_owned(), vec!["evt_x"]),
        ("event_id=evt_1".to_owned(), vec!["evt_1"]),
        ("source=default&type=refund".to_owned(), vec![]),
        (format!("received_after={later}"), vec![]),
        (
            format!("received_after={earlier}&received_before={later}&status=pending"),
            vec!["evt_0", "evt_1", "evt_2", "evt_x"],
        ),
    ];
    for (query, expected) in cases {
        let (status, page) = app.get_json(&format!("/events?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(ids(&page), expected, "{query}");
    }
    let (status, body) = app.get_json("/events?received_after=yesterday").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &"invalid_query".into())
    );
    app.stop().await;
}

async fn stats_count_by_status_and_source(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = app_with_two_sources(&db).await;
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["by_status"]["pending"], 4);
    assert_eq!(stats["by_source"]["default"], 3);
    assert_eq!(stats["by_source"]["other"], 1);
    assert_eq!(stats["queue_depth"], 4);
    assert_eq!(stats["dead"], 0);
    assert!(stats["oldest_pending_age_seconds"].as_f64().unwrap() >= 0.0);
    let minutes = stats["per_minute"].as_array().unwrap();
    assert_eq!(minutes.len(), 60);
    let total: u64 = minutes.iter().map(|m| m["events"].as_u64().unwrap()).sum();
    assert_eq!(total, 4);

    // A token restricted to one source counts only that source.
    let token = app.token_with(&application::ports::Scope::ALL, Some(&["other"]));
    let (_, restricted) = app.get_json_as("/stats", &token).await;
    assert_eq!(restricted["queue_depth"], 1);
    assert!(restricted["by_source"].get("default").is_none());

    // The age is the most overdue waiting event's, for every source and for
    // the restricted view (nothing processes here: no workers).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, stats) = app.get_json("/stats").await;
    let age = stats["oldest_pending_age_seconds"].as_f64().unwrap();
    assert!((1.0..60.0).contains(&age), "{stats}");
    let (_, restricted) = app.get_json_as("/stats", &token).await;
    let age = restricted["oldest_pending_age_seconds"].as_f64().unwrap();
    assert!((1.0..60.0).contains(&age), "{restricted}");
    app.stop().await;
}
