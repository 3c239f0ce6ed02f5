//! Events are processed asynchronously, and survive a restart.

use std::time::Duration;

use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::StatusCode;

on_both_backends!(
    accepted_events_reach_processed,
    an_event_stored_before_a_restart_is_processed_after_it,
);

const WAIT: Duration = Duration::from_secs(20);

async fn accepted_events_reach_processed(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    for n in 0..20 {
        let body = format!(r#"{{"event_id":"evt_{n}","type":"t"}}"#);
        assert_eq!(app.post_signed(&body).await.status(), StatusCode::ACCEPTED);
    }
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed' AND processed_at IS NOT NULL AND attempts = 1",
        20,
        WAIT,
    )
    .await;
    // Every attempt is in the history, once.
    app.wait_for(
        "SELECT COUNT(*) FROM event_attempts WHERE outcome = 'succeeded'",
        20,
        WAIT,
    )
    .await;
    app.stop().await;
}

async fn an_event_stored_before_a_restart_is_processed_after_it(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    // First life: intake only, no workers.
    let intake = spawn_app(&db, |s| s.processing.workers = 0).await;
    let response = intake.post_signed(r#"{"event_id":"evt_restart"}"#).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        intake
            .scalar("SELECT COUNT(*) FROM events WHERE status = 'pending'")
            .await,
        1
    );
    intake.stop().await;

    // Second life: workers pick up what was stored.
    let app = spawn_app(&db, |_| {}).await;
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        1,
        WAIT,
    )
    .await;
    app.stop().await;
}
