//! Events are processed asynchronously, and survive a restart.

use std::time::Duration;

use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::StatusCode;

on_both_backends!(
    accepted_events_reach_processed,
    an_event_stored_before_a_restart_is_processed_after_it,
    the_request_id_of_the_delivery_follows_the_event_into_processing,
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
        "SELECT COUNT(*) FROM attempt_history WHERE outcome = 'succeeded'",
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

/// Captures the request id each handled event carries.
struct RequestIds(tokio::sync::mpsc::UnboundedSender<Option<String>>);

#[async_trait::async_trait]
impl application::ports::EventHandler for RequestIds {
    async fn handle(
        &self,
        event: &application::ports::ClaimedEvent,
    ) -> Result<(), application::ports::HandlerError> {
        let _ = self.0.send(event.request_id.clone());
        Ok(())
    }
}

async fn the_request_id_of_the_delivery_follows_the_event_into_processing(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let (sender, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let app =
        hookd_tests::spawn_app_with(&db, |_| {}, Some(std::sync::Arc::new(RequestIds(sender))))
            .await;
    let body = r#"{"event_id":"evt_traced"}"#;
    let response = app
        .signed_request(body)
        .header("x-request-id", "req-from-the-sender")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "req-from-the-sender"
    );
    let handled = tokio::time::timeout(WAIT, seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handled.as_deref(), Some("req-from-the-sender"));

    // Without one, hookd makes one up, and it reaches processing too.
    let response = app.post_signed(r#"{"event_id":"evt_untraced"}"#).await;
    let generated = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let handled = tokio::time::timeout(WAIT, seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handled, Some(generated));
    app.stop().await;
}
