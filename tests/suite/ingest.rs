//! `POST /webhook`: verify, deduplicate, store.

use std::collections::HashMap;

use hookd_tests::{Backend, TestDb, sign, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

const PAYLOAD: &str = r#"{"event_id":"evt_123","type":"invoice.paid"}"#;

on_both_backends!(
    the_readme_flow_accepts_then_reports_a_duplicate,
    the_body_is_stored_byte_for_byte_without_the_signature,
    bad_signatures_are_refused_and_nothing_is_stored,
    invalid_payloads_are_refused_and_nothing_is_stored,
    fifty_concurrent_copies_give_one_accept_and_one_row,
    sixty_four_concurrent_writers_all_get_202,
    an_unknown_source_is_not_found,
);

async fn the_readme_flow_accepts_then_reports_a_duplicate(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;

    let first = app.post_signed(PAYLOAD).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "accepted");
    assert_eq!(first["event_id"], "evt_123");

    let second = app.post_signed(PAYLOAD).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["status"], "duplicate");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(app.event_count().await, 1);
    app.stop().await;
}

async fn the_body_is_stored_byte_for_byte_without_the_signature(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    // Odd spacing, unicode and a trailing newline must all survive.
    let body = "{ \"event_id\" : \"evt_ü\",\n  \"type\":\"a.b\", \"n\": 1.50 }\n";
    let signature = sign(body);
    assert_eq!(
        app.post_webhook(body, Some(&signature)).await.status(),
        StatusCode::ACCEPTED
    );

    let row = sea_orm::ConnectionTrait::query_one_raw(
        &app.db,
        sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT payload, payload_sha256, content_type, event_type FROM events",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let payload: Vec<u8> = row.try_get("", "payload").unwrap();
    let digest: Vec<u8> = row.try_get("", "payload_sha256").unwrap();
    let content_type: Option<String> = row.try_get("", "content_type").unwrap();
    let event_type: Option<String> = row.try_get("", "event_type").unwrap();
    assert_eq!(payload, body.as_bytes());
    assert_eq!(
        hex::encode(digest),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body))
    );
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(event_type.as_deref(), Some("a.b"));

    // No column holds the signature.
    let found = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE CAST(payload AS TEXT) LIKE '%{signature}%' \
             OR content_type LIKE '%{signature}%' OR COALESCE(last_error, '') LIKE '%{signature}%'"
        ))
        .await;
    assert_eq!(found, 0);
    app.stop().await;
}

async fn bad_signatures_are_refused_and_nothing_is_stored(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let good = sign(PAYLOAD);
    let mut wrong = good.clone().into_bytes();
    wrong[10] = if wrong[10] == b'0' { b'1' } else { b'0' };
    let cases: HashMap<&str, Option<String>> = HashMap::from([
        ("missing", None),
        ("empty", Some(String::new())),
        ("non-hex", Some("z".repeat(64))),
        ("odd length", Some(good[..63].to_owned())),
        ("truncated", Some(good[..32].to_owned())),
        ("too long", Some(format!("{good}00"))),
        ("wrong", Some(String::from_utf8(wrong).unwrap())),
        (
            "other secret",
            Some(hookd_tests::signing::sign_with(
                b"not-the-secret",
                PAYLOAD.as_bytes(),
            )),
        ),
    ]);
    for (case, signature) in cases {
        let response = app.post_webhook(PAYLOAD, signature.as_deref()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_signature", "{case}");
    }
    // Signed over other bytes than those sent (re-serialised JSON).
    let respaced = r#"{"event_id": "evt_123", "type": "invoice.paid"}"#;
    let response = app.post_webhook(respaced, Some(&good)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.event_count().await, 0);

    // Upper-case hex is the same signature.
    let response = app.post_webhook(PAYLOAD, Some(&good.to_uppercase())).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.stop().await;
}

async fn invalid_payloads_are_refused_and_nothing_is_stored(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let long_id = format!(r#"{{"event_id":"{}"}}"#, "a".repeat(256));
    let cases = [
        ("not json", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            r#"{"event_id":"evt_1""#,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        ("", StatusCode::BAD_REQUEST, "malformed_json"),
        ("[1,2,3]", StatusCode::UNPROCESSABLE_ENTITY, "not_an_object"),
        (
            "\"evt_1\"",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_an_object",
        ),
        (
            r#"{"type":"invoice.paid"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_event_id",
        ),
        (
            r#"{"event_id":42}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_event_id",
        ),
        (
            r#"{"event_id":""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_id",
        ),
        (
            r#"{"event_id":"evt\n1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_id",
        ),
        (
            long_id.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_id",
        ),
        (
            r#"{"event_id":"a","event_id":"b"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate_key",
        ),
    ];
    for (body, status, code) in cases {
        let response = app.post_signed(body).await;
        assert_eq!(response.status(), status, "{body:?}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["code"], code, "{body:?}");
        assert!(json["detail"].is_string(), "{body:?}");
    }
    assert_eq!(app.event_count().await, 0);
    app.stop().await;
}

async fn fifty_concurrent_copies_give_one_accept_and_one_row(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let request = app.signed_request(PAYLOAD);
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = requests.join_all().await;
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let duplicates = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!((accepted, duplicates), (1, 49), "{statuses:?}");
    assert_eq!(app.event_count().await, 1);
    app.stop().await;
}

async fn sixty_four_concurrent_writers_all_get_202(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let mut requests = tokio::task::JoinSet::new();
    for writer in 0..64 {
        let batch: Vec<_> = (0..10)
            .map(|n| app.signed_request(&format!(r#"{{"event_id":"w{writer}_{n}"}}"#)))
            .collect();
        requests.spawn(async move {
            let mut statuses = Vec::new();
            for request in batch {
                let response = request.send().await.unwrap();
                statuses.push((response.status(), response.text().await.unwrap()));
            }
            statuses
        });
    }
    for (status, body) in requests.join_all().await.into_iter().flatten() {
        // Never "database is locked", never a 5xx.
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(app.event_count().await, 640);
    app.stop().await;
}

async fn an_unknown_source_is_not_found(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let response = app
        .client
        .post(app.url("/webhooks/nope"))
        .header("x-signature", sign(PAYLOAD))
        .body(PAYLOAD)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["code"], "unknown_source");
    assert_eq!(app.event_count().await, 0);
    app.stop().await;
}
