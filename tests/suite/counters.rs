//! The maintained counters behind `GET /stats`, `GET /sources` and the
//! gauges stay exact — equal to counting the events table — through intake,
//! duplicates and conflicts, processing, retries, dead events, replay and
//! retention.

use std::{sync::Arc, time::Duration};

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;
use bootstrap::settings::SourceSettings;
use hookd_tests::{Backend, TestApp, TestDb, signing::sign_with, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::Value;

use super::retention::{age, with_retention};

const WAIT: Duration = Duration::from_secs(30);
const OTHER_SECRET: &str = "other-source-secret-of-32-bytes!";
const UNFINISHED: &str =
    "SELECT COUNT(*) FROM events WHERE status IN ('pending', 'retrying', 'processing')";

on_both_backends!(counters_stay_exact_through_the_life_of_events);

/// `ok…` succeeds, `retry…` fails its first attempt, `dead…` fails for good.
struct ByName;

#[async_trait]
impl EventHandler for ByName {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        if event.event_id.starts_with("dead") {
            Err(HandlerError::Permanent("refused".to_owned()))
        } else if event.event_id.starts_with("retry") && event.attempt == 1 {
            Err(HandlerError::retryable("later"))
        } else {
            Ok(())
        }
    }
}

fn configure(settings: &mut bootstrap::Settings) {
    settings.sources.insert(
        "other".to_owned(),
        SourceSettings::with_secret(OTHER_SECRET),
    );
    settings.processing.backoff_base_ms = 10;
}

async fn rows(app: &TestApp, sql: &str) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let mut rows: Vec<String> = rows
        .iter()
        .map(|row| {
            let source: String = row.try_get_by_index(0).unwrap();
            let label: String = row.try_get_by_index(1).unwrap();
            let status: String = row.try_get_by_index(2).unwrap();
            let conflict: i64 = row.try_get_by_index(3).unwrap();
            let events: i64 = row.try_get_by_index(4).unwrap();
            format!("{source}/{label}/{status}/{conflict}: {events}")
        })
        .collect();
    rows.sort();
    rows
}

/// The counters against a count of the table, and `GET /stats` against both.
async fn assert_exact(app: &TestApp, moment: &str) {
    let truth = rows(
        app,
        "SELECT source, COALESCE(secret_label, ''), status, \
         CAST(CASE WHEN conflict THEN 1 ELSE 0 END AS BIGINT), CAST(COUNT(*) AS BIGINT) \
         FROM events GROUP BY source, COALESCE(secret_label, ''), status, conflict",
    )
    .await;
    let counted = rows(
        app,
        "SELECT source, secret_label, status, \
         CAST(CASE WHEN conflict THEN 1 ELSE 0 END AS BIGINT), CAST(SUM(events) AS BIGINT) \
         FROM event_counters GROUP BY source, secret_label, status, conflict \
         HAVING SUM(events) <> 0",
    )
    .await;
    assert_eq!(counted, truth, "{moment}");
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    for state in ["pending", "retrying", "processing", "processed", "dead"] {
        let expected = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM events WHERE status = '{state}'"
            ))
            .await;
        let shown = stats["by_status"][state].as_i64().unwrap_or(0);
        assert_eq!(shown, expected, "{moment}: {state} in {stats}");
    }
    let dead = app
        .scalar("SELECT COUNT(*) FROM events WHERE status = 'dead'")
        .await;
    assert_eq!(stats["dead"].as_i64(), Some(dead), "{moment}");
}

async fn post(app: &TestApp, path: &str, body: &str) -> StatusCode {
    let secret = if path == "/webhook" {
        hookd_tests::SECRET
    } else {
        OTHER_SECRET
    };
    app.client
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("x-signature", sign_with(secret.as_bytes(), body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

async fn replay(app: &TestApp, event_id: &str) {
    let (_, page) = app.get_json(&format!("/events?event_id={event_id}")).await;
    let key = page["items"][0]["id"].as_str().unwrap().to_owned();
    let response = app.replay(&key).await;
    assert!(response.status().is_success(), "{}", response.status());
}

async fn counters_stay_exact_through_the_life_of_events(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    // Intake only: everything pending, with a duplicate and a conflict.
    let intake = spawn_app(&db, |settings| {
        configure(settings);
        settings.processing.workers = 0;
    })
    .await;
    for id in ["ok_1", "ok_2", "ok_3", "retry_1", "dead_1", "dead_2"] {
        let body = format!(r#"{{"event_id":"{id}"}}"#);
        assert_eq!(post(&intake, "/webhook", &body).await, StatusCode::ACCEPTED);
    }
    assert_eq!(
        post(&intake, "/webhooks/other", r#"{"event_id":"ok_x"}"#).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&intake, "/webhook", r#"{"event_id":"ok_1"}"#).await,
        StatusCode::OK
    );
    assert_eq!(
        post(&intake, "/webhook", r#"{"event_id":"ok_2","changed":1}"#).await,
        StatusCode::OK
    );
    assert_exact(&intake, "after intake").await;
    let (_, stats) = intake.get_json("/stats").await;
    let arrivals: u64 = stats["per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|minute| minute["events"].as_u64().unwrap())
        .sum();
    assert_eq!(arrivals, 7);
    let (_, sources) = intake.get_json("/sources").await;
    let default: &Value = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|source| source["name"] == "default")
        .unwrap();
    assert_eq!(default["conflicts"], 1, "{sources}");
    intake.stop().await;

    // Processing: successes, a retry, dead events; then replays.
    let app = spawn_app_with(&db, configure, Some(Arc::new(ByName))).await;
    app.wait_for(UNFINISHED, 0, WAIT).await;
    assert_exact(&app, "after processing").await;
    replay(&app, "dead_1").await;
    replay(&app, "ok_3").await;
    app.wait_for(UNFINISHED, 0, WAIT).await;
    assert_exact(&app, "after replays").await;
    let two_hours = Duration::from_secs(7200);
    age(&app.db, "ok_1", "processed", two_hours, two_hours, 0).await;
    age(&app.db, "dead_2", "dead", two_hours, two_hours, 0).await;
    app.stop().await;

    // Retention.
    let app = spawn_app(&db, |settings| {
        configure(settings);
        with_retention(settings);
    })
    .await;
    app.wait_for("SELECT COUNT(*) FROM events", 5, WAIT).await;
    assert_exact(&app, "after retention").await;
    app.stop().await;
}
