//! `[retention]`: old processed and dead events are deleted with their
//! attempt history, and nothing else is; an id may arrive again afterwards.
//!
//! Events are received through the API, then aged in SQL (key, arrival and
//! finish times) by an instance without retention; a second instance with
//! retention then sweeps them.

use std::time::Duration;

use chrono::Utc;
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);
const HOUR: Duration = Duration::from_secs(3600);

on_both_backends!(
    old_finished_events_are_deleted_with_their_history_and_nothing_else,
    an_id_arrives_again_as_new_after_its_event_was_deleted,
);

/// Runs `sql` written with `$n` placeholders (in order) on either backend.
async fn execute(db: &DatabaseConnection, sql: &str, values: Vec<Value>) {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Sqlite {
        let mut sql = sql.to_owned();
        for n in (1..=values.len()).rev() {
            sql = sql.replace(&format!("${n}"), "?");
        }
        sql
    } else {
        sql.to_owned()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

/// Makes `event_id` look received `received` ago (its key too) and put in
/// `status` `finished` ago, with `attempts` history rows.
pub(crate) async fn age(
    db: &DatabaseConnection,
    event_id: &str,
    status: &str,
    received: Duration,
    finished: Duration,
    attempts: i32,
) -> Uuid {
    let now = Utc::now();
    let received_at = now - chrono::Duration::from_std(received).unwrap();
    let finished_at = (now - chrono::Duration::from_std(finished).unwrap()).timestamp_micros();
    let key = Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(received_at.timestamp()).unwrap(),
        received_at.timestamp_subsec_nanos(),
    ));
    let processed_at = (status == "processed").then_some(finished_at);
    // The history follows the key (the foreign key does not cascade updates).
    execute(
        db,
        "DELETE FROM event_attempts WHERE event_key IN \
         (SELECT id FROM events WHERE event_id = $1)",
        vec![event_id.into()],
    )
    .await;
    execute(
        db,
        "UPDATE events SET id = $1, received_at = $2, status = $3, processed_at = $4, \
         claimed_at = $5, attempts = $6 WHERE event_id = $7",
        vec![
            key.into(),
            received_at.timestamp_micros().into(),
            status.into(),
            processed_at.into(),
            finished_at.into(),
            attempts.into(),
            event_id.into(),
        ],
    )
    .await;
    for attempt in 1..=attempts {
        execute(
            db,
            "INSERT INTO event_attempts (event_key, attempt, worker, started_at, finished_at, \
             outcome, error) VALUES ($1, $2, 'test', $3, $4, 'retrying', 'x')",
            vec![
                key.into(),
                attempt.into(),
                finished_at.into(),
                finished_at.into(),
            ],
        )
        .await;
    }
    key
}

async fn post(app: &TestApp, event_id: &str, extra: &str) -> StatusCode {
    app.post_signed(&format!(r#"{{"event_id":"{event_id}"{extra}}}"#))
        .await
        .status()
}

async fn remaining(app: &TestApp) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT event_id FROM events ORDER BY event_id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "event_id").unwrap())
        .collect()
}

pub(crate) fn with_retention(settings: &mut bootstrap::Settings) {
    settings.processing.workers = 0;
    settings.retention.processed = Some(HOUR);
    settings.retention.dead = Some(HOUR);
    settings.retention.sweep_interval = Duration::from_secs(1);
}

async fn old_finished_events_are_deleted_with_their_history_and_nothing_else(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let setup = spawn_app(&db, |settings| settings.processing.workers = 0).await;
    let ids = [
        "old_processed",
        "old_dead",
        "old_pending",
        "old_retrying",
        "old_processing",
        "lately_processed",
        "lately_dead",
        "new_processed",
    ];
    for id in ids {
        assert_eq!(post(&setup, id, "").await, StatusCode::ACCEPTED);
    }
    // A refused request: the quarantine has its own retention.
    assert_eq!(
        setup
            .post_webhook(r#"{"event_id":"forged"}"#, Some("sha256=00"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    setup
        .wait_for("SELECT COUNT(*) FROM rejections", 1, WAIT)
        .await;
    let two_hours = 2 * HOUR;
    let ten_minutes = Duration::from_secs(600);
    let db_conn = &setup.db;
    age(
        db_conn,
        "old_processed",
        "processed",
        two_hours,
        two_hours,
        2,
    )
    .await;
    age(db_conn, "old_dead", "dead", two_hours, two_hours, 3).await;
    age(db_conn, "old_pending", "pending", two_hours, two_hours, 0).await;
    age(db_conn, "old_retrying", "retrying", two_hours, two_hours, 1).await;
    age(
        db_conn,
        "old_processing",
        "processing",
        two_hours,
        two_hours,
        1,
    )
    .await;
    // Received long ago but finished recently: kept (age is from the finish).
    age(
        db_conn,
        "lately_processed",
        "processed",
        two_hours,
        ten_minutes,
        1,
    )
    .await;
    age(db_conn, "lately_dead", "dead", two_hours, ten_minutes, 1).await;
    age(
        db_conn,
        "new_processed",
        "processed",
        Duration::ZERO,
        Duration::ZERO,
        1,
    )
    .await;
    execute(
        db_conn,
        "UPDATE rejections SET received_at = $1",
        vec![
            (Utc::now() - chrono::Duration::hours(2))
                .timestamp_micros()
                .into(),
        ],
    )
    .await;
    assert_eq!(
        setup.scalar("SELECT COUNT(*) FROM event_attempts").await,
        10
    );
    setup.stop().await;

    let app = spawn_app(&db, with_retention).await;
    app.wait_for("SELECT COUNT(*) FROM events", 6, WAIT).await;
    assert_eq!(
        remaining(&app).await,
        [
            "lately_dead",
            "lately_processed",
            "new_processed",
            "old_pending",
            "old_processing",
            "old_retrying",
        ]
    );
    // Only the deleted events' history went: 10 - 2 - 3.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM event_attempts").await, 5);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM event_attempts WHERE event_key NOT IN (SELECT id FROM events)"
        )
        .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM rejections").await, 1);
    let (status, metrics) = metrics_text(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("hookd_retention_deleted_total{status=\"processed\"}"),
        "{metrics}"
    );
    app.stop().await;
}

async fn metrics_text(app: &TestApp) -> (StatusCode, String) {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(app.token())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn an_id_arrives_again_as_new_after_its_event_was_deleted(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let setup = spawn_app(&db, |settings| settings.processing.workers = 0).await;
    assert_eq!(post(&setup, "again", "").await, StatusCode::ACCEPTED);
    // The same id with another body: flagged as a conflict on the stored event.
    let conflict = post(&setup, "again", r#","other":true"#).await;
    assert_ne!(conflict, StatusCode::ACCEPTED);
    let two_hours = 2 * HOUR;
    age(&setup.db, "again", "processed", two_hours, two_hours, 1).await;
    // As if its source deduplicated bodies too (`events_body_replay`).
    execute(&setup.db, "UPDATE events SET dedupe_body = TRUE", vec![]).await;
    setup.stop().await;

    let app = spawn_app(&db, with_retention).await;
    app.wait_for("SELECT COUNT(*) FROM events", 0, WAIT).await;
    // Forgotten: the id (and the body) are new again.
    assert_eq!(post(&app, "again", "").await, StatusCode::ACCEPTED);
    assert_eq!(post(&app, "again", "").await, StatusCode::OK);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE status = 'pending' AND NOT conflict")
            .await,
        1
    );
    let (status, event) = app.get_json("/events?event_id=again").await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}
