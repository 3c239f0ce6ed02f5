//! Token scopes (403 without the route's scope, also for a token with no
//! scope claim), the `sources` restriction, and the asymmetric algorithms.

use application::ports::Scope;
use bootstrap::settings::{JwtAlgorithm, SourceSettings};
use chrono::Utc;
use hookd_tests::signing::sign_with;
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The second source's secret (the development default only goes for `default`).
const OTHER_SECRET: &str = "other-source-secret-of-32-bytes!";

fn signature(path: &str, body: &str) -> String {
    let secret = if path == "/webhook" {
        hookd_tests::SECRET
    } else {
        OTHER_SECRET
    };
    sign_with(secret.as_bytes(), body.as_bytes())
}

on_both_backends!(
    each_route_needs_its_scope,
    a_source_restricted_token_sees_only_its_sources,
);

const ROUTES: [(&str, &str, Scope); 7] = [
    ("GET", "/events", Scope::EventsRead),
    (
        "GET",
        "/events/00000000-0000-7000-8000-000000000000",
        Scope::EventsRead,
    ),
    (
        "POST",
        "/events/00000000-0000-7000-8000-000000000000/replay",
        Scope::EventsReplay,
    ),
    ("POST", "/events/replay", Scope::EventsReplay),
    ("GET", "/rejections", Scope::RejectionsRead),
    ("GET", "/sources", Scope::StatsRead),
    ("GET", "/stats", Scope::StatsRead),
];

async fn call(app: &TestApp, method: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let method: Method = method.parse().unwrap();
    let mut request = app
        .client
        .request(method.clone(), app.url(path))
        .bearer_auth(token);
    if method == Method::POST {
        request = request.json(&json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn each_route_needs_its_scope(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |_| {}).await;
    for (method, path, scope) in ROUTES {
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        let (status, body) = call(&app, method, path, &app.token_with(&others, None)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} without {scope}"
        );
        assert_eq!(body["code"], "insufficient_scope", "{method} {path}");
        let (status, body) = call(&app, method, path, &app.token_with(&[scope], None)).await;
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "{method} {path} with {scope}: {status} {body}"
        );
    }
    // A valid token that carries no scope claim at all is refused.
    use secrecy::ExposeSecret as _;
    let unscoped = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "x", "exp": Utc::now().timestamp() + 600}),
        &EncodingKey::from_secret(
            app.settings
                .jwt_secret()
                .unwrap()
                .expose_secret()
                .as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    let (status, body) = call(&app, "GET", "/events", &unscoped).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!("insufficient_scope"))
    );
    app.stop().await;
}

async fn a_source_restricted_token_sees_only_its_sources(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |settings| {
        settings.sources.insert(
            "other".to_owned(),
            SourceSettings::with_secret(OTHER_SECRET),
        );
    })
    .await;
    let post = |path: &'static str, id: &'static str| {
        let body = format!(r#"{{"event_id":"{id}"}}"#);
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .header("x-signature", signature(path, &body))
            .body(body)
            .send()
    };
    let hidden: Value = post("/webhook", "evt_default")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    post("/webhooks/other", "evt_other").await.unwrap();
    let token = app.token_with(&Scope::ALL, Some(&["other"]));

    let (status, page) = call(&app, "GET", "/events", &token).await;
    assert_eq!(status, StatusCode::OK);
    let sources: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["other"]);
    for path in ["/events?source=default", "/rejections?source=default"] {
        let (status, body) = call(&app, "GET", path, &token).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::FORBIDDEN, &json!("source_not_allowed")),
            "{path}"
        );
    }
    let id = hidden["id"].as_str().unwrap();
    for (method, path) in [
        ("GET", format!("/events/{id}")),
        ("POST", format!("/events/{id}/replay")),
    ] {
        assert_eq!(
            call(&app, method, &path, &token).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (_, listed) = call(&app, "GET", "/sources", &token).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other"]);
    app.stop().await;
}

/// Each asymmetric algorithm verifies tokens signed by its private key and
/// refuses an HS256 token, also one keyed with the public key's PEM bytes
/// (no algorithm confusion).
#[tokio::test]
async fn asymmetric_algorithms_verify_with_the_public_key_file() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    for (algorithm, jwt, name) in [
        (JwtAlgorithm::EdDsa, Algorithm::EdDSA, "ed25519"),
        (JwtAlgorithm::Es256, Algorithm::ES256, "es256"),
        (JwtAlgorithm::Rs256, Algorithm::RS256, "rs256"),
    ] {
        let db = TestDb::create(Backend::Sqlite).await.unwrap();
        let app = spawn_app(&db, |settings| {
            settings.auth.algorithm = algorithm;
            settings.auth.jwt_secret = None;
            settings.auth.public_key_file = Some(format!("{fixtures}/{name}-public.pem").into());
        })
        .await;
        let private = std::fs::read(format!("{fixtures}/{name}-private.pem")).unwrap();
        let key = match jwt {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&private),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&private),
            _ => EncodingKey::from_rsa_pem(&private),
        }
        .unwrap();
        let claims =
            json!({"sub": "x", "exp": Utc::now().timestamp() + 600, "scope": "events:read"});
        let token = jsonwebtoken::encode(&Header::new(jwt), &claims, &key).unwrap();
        assert_eq!(
            call(&app, "GET", "/events", &token).await.0,
            StatusCode::OK,
            "{name}"
        );
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"any-secret-at-all").unwrap(),
        )
        .unwrap();
        assert_eq!(
            call(&app, "GET", "/events", &hs256).await.0,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        // Algorithm confusion: HS256 keyed with the public key's PEM bytes,
        // which every client can read, must not pass as the configured algorithm.
        let public = std::fs::read(format!("{fixtures}/{name}-public.pem")).unwrap();
        let confused = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&public).unwrap(),
        )
        .unwrap();
        assert_eq!(
            call(&app, "GET", "/events", &confused).await.0,
            StatusCode::UNAUTHORIZED,
            "{name}: HS256 with the public key as secret"
        );
        app.stop().await;
    }
}

/// A token naming an audience is refused when hookd has none configured
/// (it was issued for another service on the same key); with an audience
/// configured, an array `aud` containing it is accepted.
#[tokio::test]
async fn audience_is_checked_whether_configured_or_not() {
    use secrecy::ExposeSecret as _;
    let token = |app: &TestApp, aud: Value| {
        let secret = app
            .settings
            .jwt_secret()
            .unwrap()
            .expose_secret()
            .to_owned();
        let claims = json!({
            "sub": "x", "exp": Utc::now().timestamp() + 600, "scope": "events:read", "aud": aud
        });
        let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    };
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| settings.auth.audience = None).await;
    let other = token(&app, json!("another-service"));
    let (status, body) = call(&app, "GET", "/events", &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;

    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| {
        settings.auth.audience = Some("hookd-dashboard".into());
    })
    .await;
    let both = token(&app, json!(["another-service", "hookd-dashboard"]));
    let (status, body) = call(&app, "GET", "/events", &both).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let foreign = token(&app, json!(["another-service"]));
    assert_eq!(
        call(&app, "GET", "/events", &foreign).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}
