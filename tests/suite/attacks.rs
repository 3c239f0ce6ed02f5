//! Issue 9, tried as an attacker would: signature-candidate floods, body
//! memory before authentication, refusals at the HTTP edge recorded,
//! request ids, and Slack's `url_verification` handshake.

use std::time::Duration;

use chrono::Utc;
use hookd_tests::{Backend, TestApp, TestDb, raw::RawConnection, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sources::{WAIT, configure, post, signed_headers};

on_both_backends!(
    a_flood_of_signature_candidates_is_refused_without_verifying,
    refusals_at_the_http_edge_are_quarantined_with_their_reason,
    slack_url_verification_is_answered_and_not_stored,
);

async fn rejections_with_reason(app: &TestApp, reason: &str, expected: i64) {
    app.wait_for(
        &format!("SELECT COUNT(*) FROM rejections WHERE reason = '{reason}'"),
        expected,
        WAIT,
    )
    .await;
}

/// `webhook-signature` with the valid entry last, behind `decoys` wrong ones.
fn with_decoys(headers: &mut [(String, String)], decoys: usize) {
    for (name, value) in headers.iter_mut() {
        if name == "webhook-signature" {
            let decoy = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ";
            *value = format!("{}{value}", decoy.repeat(decoys));
        }
    }
}

async fn a_flood_of_signature_candidates_is_refused_without_verifying(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    let body = r#"{"type":"user.created"}"#;

    // 1,500 candidates, one of them right: refused before any is checked.
    let mut flood = signed_headers(&app, "sw", None, body, Some("msg_flood"), Utc::now());
    with_decoys(&mut flood, 1_499);
    let (status, refusal) = post(&app, "sw", &flood, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refusal}");
    assert_eq!(refusal["code"], "invalid_signature");
    rejections_with_reason(&app, "malformed", 1).await;

    // Nine (one over the default of 8) are still too many...
    let mut nine = signed_headers(&app, "sw", None, body, Some("msg_nine"), Utc::now());
    with_decoys(&mut nine, 8);
    assert_eq!(
        post(&app, "sw", &nine, body).await.0,
        StatusCode::UNAUTHORIZED
    );
    // ...eight, as a sender rotating keys might list, are fine.
    let mut eight = signed_headers(&app, "sw", None, body, Some("msg_eight"), Utc::now());
    with_decoys(&mut eight, 7);
    let (status, receipt) = post(&app, "sw", &eight, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{receipt}");

    // Stripe lists its signatures in one header too.
    let stripe_body = r#"{"id":"evt_flood","type":"t"}"#;
    let mut stripe = signed_headers(&app, "stripe", None, stripe_body, None, Utc::now());
    stripe[0]
        .1
        .push_str(&format!(",v1={}", "00".repeat(32)).repeat(20));
    assert_eq!(
        post(&app, "stripe", &stripe, stripe_body).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.event_count().await, 1);
    app.stop().await;
}

/// 413, 415, 408 and a shed 503 leave a rejection record with their reason.
async fn refusals_at_the_http_edge_are_quarantined_with_their_reason(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |settings| {
        settings.server.max_body_bytes = 100;
        settings.server.request_timeout_seconds = 1;
        settings.server.max_concurrent_requests = 2;
    })
    .await;

    let large = format!(r#"{{"event_id":"evt_large","pad":"{}"}}"#, "x".repeat(200));
    assert_eq!(
        app.post_signed(&large).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    rejections_with_reason(&app, "payload_too_large", 1).await;

    let form = app
        .client
        .post(app.url("/webhook"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    rejections_with_reason(&app, "unsupported_media_type", 1).await;

    // A body that never completes: 408 after the request timeout...
    let mut stalled = RawConnection::open(app.addr).await;
    stalled
        .write(b"POST /webhooks/default HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\n{")
        .await;
    let (status, _) = stalled.read_response(Duration::from_secs(15)).await;
    assert_eq!(status, 408);
    rejections_with_reason(&app, "request_timeout", 1).await;

    assert_eq!(app.event_count().await, 0);
    app.stop().await;

    // While two requests hold both slots of another instance, a third is shed.
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |settings| settings.server.max_concurrent_requests = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut connection = RawConnection::open(app.addr).await;
        connection
            .write(b"POST /webhook HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\n{")
            .await;
        held.push(connection);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let payload = format!(r#"{{"event_id":"evt_shed_{attempt}"}}"#);
        let status = app.post_signed(&payload).await.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never shed: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Free the slots, or the listing below would be shed too.
    drop(held);
    rejections_with_reason(&app, "overloaded", 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let page = loop {
        let (status, page) = app.get_json("/rejections?reason=overloaded").await;
        if status == StatusCode::OK {
            break page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}: {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(page["items"][0]["source"], "default");
    let names = page["items"][0]["header_names"].to_string();
    assert!(names.contains("x-signature"), "{names}");
    app.stop().await;
}

async fn slack_url_verification_is_answered_and_not_stored(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    // Slack's documented handshake body.
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let headers = signed_headers(&app, "slack", None, body, None, Utc::now());
    let (status, answer) = post(&app, "slack", &headers, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    assert_eq!(app.event_count().await, 0);

    // The handshake is answered only when Slack signed it.
    let forged = signed_headers(
        &app,
        "slack",
        Some("not-slacks-secret"),
        body,
        None,
        Utc::now(),
    );
    let (status, refusal) = post(&app, "slack", &forged, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refusal}");
    assert!(refusal.get("challenge").is_none());
    app.stop().await;
}

/// A request whose body is `declared` bytes long, of which only a first
/// byte is sent: it holds its share of the body budget until closed.
async fn stalled_upload(app: &TestApp, declared: usize) -> RawConnection {
    let mut connection = RawConnection::open(app.addr).await;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\
         X-Signature: 00\r\nContent-Length: {declared}\r\n\r\n{{"
    );
    connection.write(head.as_bytes()).await;
    connection
}

/// Body bytes held before authentication are bounded: an upload that does
/// not fit the budget is shed at once (declared or growing), and the budget
/// comes back when uploads end.
#[tokio::test]
async fn bodies_past_the_inflight_budget_are_shed_at_once() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.server.max_body_bytes = 60_000;
        settings.server.max_inflight_body_bytes = 100_000;
    })
    .await;
    // Two concurrent uploads of 50,000 bytes take the whole budget.
    let first = stalled_upload(&app, 50_000).await;
    let second = stalled_upload(&app, 50_000).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut attempt = 0;
    let shed = loop {
        attempt += 1;
        let response = app
            .post_signed(&format!(r#"{{"event_id":"evt_small_{attempt}"}}"#))
            .await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        // Until both uploads have reserved their bytes, small ones still fit.
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert!(tokio::time::Instant::now() < deadline, "never shed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["code"], "overloaded");

    // A chunked upload is cut off as soon as it grows past the budget.
    let mut chunked = RawConnection::open(app.addr).await;
    chunked
        .write(
            b"POST /webhook HTTP/1.1\r\nHost: h\r\nX-Signature: 00\r\n\
              Transfer-Encoding: chunked\r\n\r\n400\r\n",
        )
        .await;
    chunked.write(&[b'x'; 0x400]).await;
    chunked.write(b"\r\n").await;
    let (status, body) = chunked.read_response(Duration::from_secs(10)).await;
    assert_eq!(status, 503, "{body}");

    // When the uploads end, their bytes are given back.
    drop(first);
    drop(second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let payload = format!(r#"{{"event_id":"evt_big","pad":"{}"}}"#, "y".repeat(50_000));
    loop {
        let status = app.post_signed(&payload).await.status();
        if status == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(tokio::time::Instant::now() < deadline, "budget never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rejections_with_reason(&app, "overloaded", 2).await;
    app.stop().await;
}

/// The caller's `x-request-id` is kept only when short and plain; anything
/// else (spaces, quotes, `key=value` look-alikes, too long) is replaced.
#[tokio::test]
async fn unsafe_request_ids_are_replaced() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |_| {}).await;
    let id_of = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let payload = r#"{"event_id":"evt_rid"}"#;
    let kept = app
        .signed_request(payload)
        .header("x-request-id", "trace-1.2_3:4")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&kept), "trace-1.2_3:4");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE request_id = 'trace-1.2_3:4'")
            .await,
        1
    );
    for hostile in [
        "x caller=admin source=\"stripe\"".to_owned(),
        "tab\tseparated".to_owned(),
        "a".repeat(129),
    ] {
        let response = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", &hostile)
            .send()
            .await
            .unwrap();
        let id = id_of(&response);
        assert_ne!(id, hostile);
        assert!(id.len() <= 128, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)),
            "{id}"
        );
    }
    // Sent signed with an unsafe id, the event stores the generated one.
    let response = app
        .signed_request(r#"{"event_id":"evt_rid2"}"#)
        .header("x-request-id", "x caller=admin")
        .send()
        .await
        .unwrap();
    let generated = id_of(&response);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE request_id = '{generated}'"
        ))
        .await,
        1
    );
    app.stop().await;
}
