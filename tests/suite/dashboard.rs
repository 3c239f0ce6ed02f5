//! `GET /events` and `GET /events/{id}`: JWT auth and keyset pagination.

use std::collections::HashSet;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    tokens_are_checked_strictly,
    issuer_and_audience_are_required_when_configured,
    pages_have_no_duplicates_or_gaps_while_events_arrive,
    one_event_is_shown_with_its_payload,
);

async fn get_with(
    app: &TestApp,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = app.client.get(app.url("/events"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap())
}

fn secret(app: &TestApp) -> Vec<u8> {
    use secrecy::ExposeSecret as _;
    app.settings
        .jwt_secret()
        .unwrap()
        .expose_secret()
        .as_bytes()
        .to_vec()
}

fn signed(app: &TestApp, alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(&secret(app)).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    Utc::now().timestamp()
}

async fn assert_refused(app: &TestApp, case: &str, authorization: Option<&str>) {
    let (status, challenge, body) = get_with(app, authorization).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    assert_eq!(challenge.as_deref(), Some("Bearer"), "{case}");
    assert_eq!(body["code"], "unauthorized", "{case}");
}

async fn tokens_are_checked_strictly(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let bearer = |token: String| format!("Bearer {token}");

    assert_refused(&app, "no header", None).await;
    assert_refused(&app, "basic", Some("Basic dXNlcjpwYXNz")).await;
    assert_refused(&app, "empty bearer", Some("Bearer ")).await;
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "x", "exp": now() + 600}),
        &EncodingKey::from_secret(b"another-secret-entirely").unwrap(),
    )
    .unwrap();
    assert_refused(&app, "bad signature", Some(&bearer(forged))).await;
    let expired = signed(
        &app,
        Algorithm::HS256,
        &json!({"sub": "x", "exp": now() - 120}),
    );
    assert_refused(&app, "expired beyond leeway", Some(&bearer(expired))).await;
    let early = signed(
        &app,
        Algorithm::HS256,
        &json!({"sub": "x", "exp": now() + 600, "nbf": now() + 300}),
    );
    assert_refused(&app, "nbf in the future", Some(&bearer(early))).await;
    let no_exp = signed(&app, Algorithm::HS256, &json!({"sub": "x"}));
    assert_refused(&app, "no exp", Some(&bearer(no_exp))).await;
    let string_exp = signed(
        &app,
        Algorithm::HS256,
        &json!({"sub": "x", "exp": (now() + 600).to_string()}),
    );
    assert_refused(&app, "exp as a string", Some(&bearer(string_exp))).await;
    let hs384 = signed(
        &app,
        Algorithm::HS384,
        &json!({"sub": "x", "exp": now() + 600}),
    );
    assert_refused(&app, "HS384 when HS256 is configured", Some(&bearer(hs384))).await;
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(json!({"sub": "x", "exp": now() + 600}).to_string())
    );
    assert_refused(&app, "alg none", Some(&bearer(unsigned))).await;
    assert_refused(&app, "garbage", Some("Bearer not.a.token")).await;

    let within_leeway = signed(
        &app,
        Algorithm::HS256,
        &json!({"sub": "x", "exp": now() - 30, "scope": "events:read"}),
    );
    let (status, _, _) = get_with(&app, Some(&bearer(within_leeway))).await;
    assert_eq!(status, StatusCode::OK, "expired within the leeway");
    let (status, _, _) = get_with(&app, Some(&bearer(app.token()))).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

async fn issuer_and_audience_are_required_when_configured(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |s| {
        s.auth.issuer = Some("hookd-tests".into());
        s.auth.audience = Some("dashboard".into());
    })
    .await;
    let exp = now() + 600;
    let cases = [
        (
            "wrong iss",
            json!({"sub": "x", "exp": exp, "iss": "evil", "aud": "dashboard"}),
        ),
        (
            "wrong aud",
            json!({"sub": "x", "exp": exp, "iss": "hookd-tests", "aud": "other"}),
        ),
        (
            "no iss",
            json!({"sub": "x", "exp": exp, "aud": "dashboard"}),
        ),
        (
            "no aud",
            json!({"sub": "x", "exp": exp, "iss": "hookd-tests"}),
        ),
    ];
    for (case, claims) in cases {
        let token = signed(&app, Algorithm::HS256, &claims);
        assert_refused(&app, case, Some(&format!("Bearer {token}"))).await;
    }
    let good = signed(
        &app,
        Algorithm::HS256,
        &json!({"sub": "x", "exp": exp, "iss": "hookd-tests", "aud": "dashboard", "scopes": ["events:read"]}),
    );
    let (status, _, _) = get_with(&app, Some(&format!("Bearer {good}"))).await;
    assert_eq!(status, StatusCode::OK);
    // `hookd token` issues tokens with the configured iss and aud.
    assert_eq!(app.get_json("/events").await.0, StatusCode::OK);
    app.stop().await;
}

async fn pages_have_no_duplicates_or_gaps_while_events_arrive(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let mut before = HashSet::new();
    for n in 0..120 {
        let response = app
            .post_signed(&format!(r#"{{"event_id":"old_{n}"}}"#))
            .await;
        let body: Value = response.json().await.unwrap();
        before.insert(body["id"].as_str().unwrap().to_owned());
    }
    // Keep events arriving while we page.
    let arrivals = {
        let requests: Vec<_> = (0..60)
            .map(|n| app.signed_request(&format!(r#"{{"event_id":"new_{n}"}}"#)))
            .collect();
        tokio::spawn(async move {
            for request in requests {
                assert!(request.send().await.unwrap().status().is_success());
            }
        })
    };

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/events?limit=25&cursor={cursor}"),
            None => "/events?limit=25".to_owned(),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 25);
        seen.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    arrivals.await.unwrap();

    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an event appeared on two pages");
    assert!(
        before.is_subset(&unique),
        "an event that existed before paging was skipped"
    );
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first, "pages are not newest first");

    let (status, bad) = app.get_json("/events?cursor=%21%21").await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
    let (status, bad) = app.get_json("/events?limit=lots").await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    app.stop().await;
}

async fn one_event_is_shown_with_its_payload(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    let payload = r#"{"event_id":"evt_show","type":"invoice.paid","amount":42}"#;
    let response = app.post_signed(payload).await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let accepted: Value = response.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap();

    let (status, event) = app.get_json(&format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["id"], id);
    assert_eq!(event["source"], "default");
    assert_eq!(event["event_id"], "evt_show");
    assert_eq!(event["type"], "invoice.paid");
    assert_eq!(event["payload"]["amount"], 42);
    assert_eq!(event["content_type"], "application/json");
    assert_eq!(event["request_id"], request_id.as_str());
    for key in [
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "last_error",
        "payload_sha256",
    ] {
        assert!(event.get(key).is_some(), "missing {key}: {event}");
    }

    let (status, missing) = app
        .get_json("/events/01890000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    app.stop().await;
}
