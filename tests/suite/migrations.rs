//! Upgrading (and downgrading) a database that holds data: what a migration
//! promises about the rows already there.

use std::time::Duration;

use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use migration::MigratorTrait as _;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, DatabaseConnection};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

on_both_backends!(successes_written_before_and_after_success_on_event_stay_in_the_history);

async fn history(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let (status, event) = app.get_json(&format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    event["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["worker"].as_str().unwrap().to_owned(),
                a["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn last_migration(conn: &DatabaseConnection, up: bool) {
    if up {
        migration::Migrator::up(conn, None).await.unwrap();
    } else {
        migration::Migrator::down(conn, Some(1)).await.unwrap();
    }
}

/// `success_on_event` moves no data up: a success the previous release wrote
/// into `event_attempts` shows once in the history, and a replay keeps it.
/// Down, the successes written on events move into `event_attempts`.
async fn successes_written_before_and_after_success_on_event_stay_in_the_history(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let intake = spawn_app(&db, |s| s.processing.workers = 0).await;
    let accepted: Value = intake
        .post_signed(r#"{"event_id":"evt_old"}"#)
        .await
        .json()
        .await
        .unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    intake.stop().await;

    // The previous schema, and the event processed as the previous release did.
    let conn = db.connect().await;
    last_migration(&conn, false).await;
    for sql in [
        "UPDATE events SET status = 'processed', attempts = 1, claimed_at = received_at, \
         processed_at = received_at + 1000",
        "INSERT INTO event_attempts (event_key, attempt, worker, started_at, finished_at, \
         outcome, error) SELECT id, 1, 'old-release/0', received_at, received_at + 1000, \
         'succeeded', NULL FROM events",
    ] {
        conn.execute_unprepared(sql).await.unwrap();
    }
    last_migration(&conn, true).await;

    let app = spawn_app(&db, |_| {}).await;
    let old = ("old-release/0".to_owned(), "succeeded".to_owned());
    assert_eq!(history(&app, &id).await, std::slice::from_ref(&old));
    let replayed = app.replay(&id).await;
    assert_eq!(replayed.status(), StatusCode::ACCEPTED);
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed' AND succeeded_by IS NOT NULL",
        1,
        WAIT,
    )
    .await;
    let both = history(&app, &id).await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], old);
    assert_eq!(both[1].1, "succeeded");
    app.stop().await;

    // Down: the success written on the event becomes a row, nothing is lost.
    last_migration(&conn, false).await;
    assert_eq!(
        hookd_tests::db::scalar(
            &conn,
            "SELECT COUNT(*) FROM event_attempts WHERE outcome = 'succeeded'"
        )
        .await,
        2
    );
    last_migration(&conn, true).await;
    let app = spawn_app(&db, |_| {}).await;
    assert_eq!(history(&app, &id).await, both);
    app.stop().await;
}
