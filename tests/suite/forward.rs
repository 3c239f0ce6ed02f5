//! The `forward` handler against a real local target that verifies hookd's
//! Standard Webhooks signature.

use std::time::Duration;

use bootstrap::settings::HandlerKind;
use hookd_tests::{
    Backend, TestDb, spawn_app,
    target::{Answer, FORWARD_SECRET, Target},
};
use reqwest::StatusCode;
use secrecy::SecretString;

on_both_backends!(forwarded_events_are_signed_byte_identical_and_retried_as_told);

const WAIT: Duration = Duration::from_secs(30);

async fn forwarded_events_are_signed_byte_identical_and_retried_as_told(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let target = Target::start(|delivery, earlier| match delivery.event_id().as_str() {
        "evt_busy" if earlier == 0 => Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(1),
            ..Answer::OK
        },
        "evt_bad" => Answer {
            status: StatusCode::BAD_REQUEST,
            ..Answer::OK
        },
        _ => Answer::OK,
    })
    .await;
    let url = target.url();
    let app = spawn_app(&db, move |s| {
        let handler = &mut s.sources.get_mut("default").unwrap().handler;
        handler.kind = HandlerKind::Forward;
        handler.url = Some(url);
        handler.forward_secret = Some(SecretString::from(FORWARD_SECRET));
        s.processing.poll_interval_ms = 50;
    })
    .await;

    let ok_body = "{\"event_id\":\"evt_ok\", \"type\":\"t\",\n \"x\": 1.50}";
    assert_eq!(
        app.post_signed(ok_body).await.status(),
        StatusCode::ACCEPTED
    );
    app.post_signed(r#"{"event_id":"evt_busy"}"#).await;
    app.post_signed(r#"{"event_id":"evt_bad"}"#).await;

    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        2,
        WAIT,
    )
    .await;
    app.wait_for("SELECT COUNT(*) FROM events WHERE status = 'dead'", 1, WAIT)
        .await;

    let deliveries = target.deliveries();
    assert!(
        deliveries.iter().all(|d| d.verified),
        "a delivery failed verification"
    );
    let ok = deliveries
        .iter()
        .find(|d| d.event_id() == "evt_ok")
        .unwrap();
    assert_eq!(
        &ok.body[..],
        ok_body.as_bytes(),
        "the body was not forwarded byte-for-byte"
    );
    assert_eq!(ok.content_type.as_deref(), Some("application/json"));
    let stored_id = app
        .scalar("SELECT COUNT(*) FROM events WHERE event_id = 'evt_ok'")
        .await;
    assert_eq!(stored_id, 1);

    // 503 with Retry-After: 1 is retried after about a second.
    let busy: Vec<_> = deliveries
        .iter()
        .filter(|d| d.event_id() == "evt_busy")
        .collect();
    assert_eq!(busy.len(), 2);
    let waited = busy[1].at - busy[0].at;
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?}"
    );
    // 400 is permanent: one delivery, then dead.
    assert_eq!(
        deliveries
            .iter()
            .filter(|d| d.event_id() == "evt_bad")
            .count(),
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE event_id = 'evt_bad' AND status = 'dead' AND attempts = 1").await,
        1
    );
    app.stop().await;
}
