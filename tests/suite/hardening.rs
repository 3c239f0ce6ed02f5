//! HTTP hardening: body limits (declared and chunked), 415, slowloris,
//! request timeout, load shedding, and one error shape everywhere.

use std::time::Duration;

use hookd_tests::{Backend, TestApp, TestDb, raw::RawConnection, sign, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    bodies_past_the_source_limit_get_413_and_are_never_stored,
    a_json_source_refuses_a_declared_non_json_type_with_415,
);

/// A signed `{"event_id": …}` object padded to exactly `size` bytes.
fn padded_payload(event_id: &str, size: usize) -> String {
    let head = format!(r#"{{"event_id":"{event_id}","pad":""#);
    let padding = size - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(padding))
}

fn chunked_request(body: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /webhook HTTP/1.1\r\nHost: hookd\r\nContent-Type: application/json\r\n\
         X-Signature: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        sign(body)
    )
    .into_bytes();
    for chunk in body.as_bytes().chunks(64) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

async fn bodies_past_the_source_limit_get_413_and_are_never_stored(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    // The default limit is small; the source `default` is allowed more.
    let app = spawn_app(&db, |settings| {
        settings.server.max_body_bytes = 100;
        settings.sources.get_mut("default").unwrap().max_body_bytes = Some(400);
    })
    .await;

    let fits = padded_payload("evt_fits", 300);
    assert_eq!(app.post_signed(&fits).await.status(), StatusCode::ACCEPTED);

    let declared = padded_payload("evt_declared", 401);
    let response = app.post_signed(&declared).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");

    let chunked = padded_payload("evt_chunked", 1000);
    let mut connection = RawConnection::open(app.addr).await;
    connection.write(&chunked_request(&chunked)).await;
    let (status, body) = connection.read_response(Duration::from_secs(10)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");

    // The same chunked request under the limit is accepted.
    let small = padded_payload("evt_small_chunks", 200);
    let mut connection = RawConnection::open(app.addr).await;
    connection.write(&chunked_request(&small)).await;
    let (status, body) = connection.read_response(Duration::from_secs(10)).await;
    assert_eq!(status, 202, "{body}");

    assert_eq!(app.event_count().await, 2);
    app.stop().await;
}

async fn a_json_source_refuses_a_declared_non_json_type_with_415(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let payload = r#"{"event_id":"evt_form"}"#;
    let send = |content_type: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/webhook"))
            .header("x-signature", sign(payload))
            .body(payload);
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        request.send()
    };
    let response = send(Some("application/x-www-form-urlencoded"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_media_type");
    assert_eq!(app.event_count().await, 0);

    // No Content-Type at all is not held against the sender.
    assert_eq!(send(None).await.unwrap().status(), StatusCode::ACCEPTED);
    app.stop().await;
}

#[tokio::test]
async fn a_connection_dribbling_its_headers_is_closed() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.server.header_read_timeout_seconds = 1;
    })
    .await;
    let mut connection = RawConnection::open(app.addr).await;
    assert!(connection.write(b"POST /webhook HTTP/1.1\r\nHost: h").await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut closed = false;
    while tokio::time::Instant::now() < deadline {
        // One byte at a time, never finishing the headers.
        if !connection.write(b"o").await {
            closed = true;
            break;
        }
        let mut byte = [0_u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(250), async {
            tokio::io::AsyncReadExt::read(&mut connection.0, &mut byte).await
        })
        .await;
        if matches!(read, Ok(Ok(0) | Err(_))) {
            closed = true;
            break;
        }
        if matches!(read, Ok(Ok(_))) {
            // A response (hyper may send 408) is followed by the close.
            connection.read_all(Duration::from_secs(5)).await;
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "the server kept a slowloris connection open for 15 s"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_whose_body_stalls_gets_408() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.server.request_timeout_seconds = 1;
    })
    .await;
    let mut connection = RawConnection::open(app.addr).await;
    connection
        .write(b"POST /webhook HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n{\"event_id\"")
        .await;
    let (status, body) = connection.read_response(Duration::from_secs(15)).await;
    assert_eq!(status, 408, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "request_timeout");
    app.stop().await;
}

async fn status_of(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_are_shed_with_503() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.server.max_concurrent_requests = 1;
    })
    .await;
    // Holds the only slot: its body never finishes.
    let mut held = RawConnection::open(app.addr).await;
    held.write(b"POST /webhook HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n{")
        .await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let shed = loop {
        let response = status_of(&app, "/events").await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(tokio::time::Instant::now() < deadline, "never shed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["code"], "overloaded");
    // Probes are not shed.
    assert_eq!(status_of(&app, "/healthz").await.status(), StatusCode::OK);

    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status_of(&app, "/events").await.status() != StatusCode::UNAUTHORIZED {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
}
