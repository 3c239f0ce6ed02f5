//! The quarantine: refused requests are recorded (names, not values) and
//! listed by `GET /rejections`.

use chrono::Utc;
use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::StatusCode;

use crate::sources::{WAIT, configure, post, signed_headers};

on_both_backends!(
    stale_and_future_requests_are_refused_and_quarantined,
    an_unknown_source_is_not_found_and_quarantined,
);

async fn stale_and_future_requests_are_refused_and_quarantined(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    let body = r#"{"id":"evt_old","type":"invoice.paid"}"#;
    let hour = chrono::Duration::hours(1);
    let stale = signed_headers(&app, "stripe", None, body, None, Utc::now() - hour);
    let (status, refusal) = post(&app, "stripe", &stale, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refusal}");
    assert_eq!(refusal["code"], "invalid_signature");
    let future = signed_headers(&app, "sw", None, body, Some("msg_f"), Utc::now() + hour);
    let (status, _) = post(&app, "sw", &future, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.event_count().await, 0);

    app.wait_for(
        "SELECT COUNT(*) FROM rejections WHERE source = 'stripe' AND reason = 'stale'",
        1,
        WAIT,
    )
    .await;
    app.wait_for(
        "SELECT COUNT(*) FROM rejections WHERE source = 'sw' AND reason = 'future'",
        1,
        WAIT,
    )
    .await;
    let (status, page) = app.get_json("/rejections?source=stripe").await;
    assert_eq!(status, StatusCode::OK);
    let item = &page["items"][0];
    assert_eq!(item["reason"], "stale");
    assert_eq!(item["body_size"], body.len());
    assert_eq!(
        item["body_sha256"],
        domain::BodyDigest::of(body.as_bytes()).to_hex()
    );
    assert!(
        item["remote_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let names: Vec<&str> = item["header_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"stripe-signature"), "{names:?}");
    // Names only: the signature value is nowhere in the record.
    let signature = &stale
        .iter()
        .find(|(n, _)| n == "Stripe-Signature")
        .unwrap()
        .1;
    assert!(!page.to_string().contains(signature.as_str()));
    let (status, _) = app.get_json("/rejections?reason=stale&limit=1").await;
    assert_eq!(status, StatusCode::OK);
    let unauthenticated = app.client.get(app.url("/rejections")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn an_unknown_source_is_not_found_and_quarantined(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    let (status, body) = post(&app, "nope", &[], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_source");
    app.wait_for(
        "SELECT COUNT(*) FROM rejections WHERE source = 'nope' AND reason = 'unknown_source'",
        1,
        WAIT,
    )
    .await;
    app.stop().await;
}
