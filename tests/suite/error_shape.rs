//! Every error body, whoever produced it (our handlers, axum's extractors,
//! the router's fallbacks), is exactly `{"code","detail"}` in JSON.

use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// (case, method, path, bearer token, JSON body, expected status)
type Case<'a> = (
    &'a str,
    Method,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    StatusCode,
);

#[tokio::test]
async fn every_error_has_the_code_and_detail_shape() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| settings.server.max_body_bytes = 64).await;
    let token = app.token();
    let too_large = "{}".repeat(64);
    let cases: Vec<Case<'_>> = vec![
        (
            "unknown route",
            Method::GET,
            "/nope",
            None,
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            Method::DELETE,
            "/events",
            None,
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "wrong method on intake",
            Method::GET,
            "/webhook",
            None,
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "no token",
            Method::GET,
            "/events",
            None,
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bad query",
            Method::GET,
            "/events?limit=many",
            Some(&token),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad cursor",
            Method::GET,
            "/events?cursor=zz",
            Some(&token),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad status",
            Method::GET,
            "/events?status=nope",
            Some(&token),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown event",
            Method::GET,
            "/events/nope",
            Some(&token),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "bad JSON",
            Method::POST,
            "/events/replay",
            Some(&token),
            Some("{"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown field",
            Method::POST,
            "/events/replay",
            Some(&token),
            Some(r#"{"x":1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "body too large",
            Method::POST,
            "/events/replay",
            Some(&token),
            Some(&too_large),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "unknown source",
            Method::POST,
            "/webhooks/nope",
            None,
            Some("{}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "unsigned webhook",
            Method::POST,
            "/webhook",
            None,
            Some("{}"),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (case, method, path, bearer, body, expected) in cases {
        let mut request = app.client.request(method, app.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{case}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{case}"
        );
        let body: Value = response.json().await.unwrap();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "detail"], "{case}: {body}");
        assert!(
            body["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{case}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_kept_or_generated_and_echoed() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |_| {}).await;
    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "caller-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "caller-42");
    let mut generated = Vec::new();
    for _ in 0..2 {
        // Errors carry it too.
        let response = app.client.get(app.url("/nope")).send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty());
        generated.push(id);
    }
    assert_ne!(generated[0], generated[1]);
    app.stop().await;
}

/// Every route of `adapters::http::ROUTES` (which the OpenAPI test checks
/// against the document) is served by the router: neither the fallback's 404
/// nor a 405 comes back, and `/openapi.json` is served.
#[tokio::test]
async fn every_listed_route_is_served() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |_| {}).await;
    for (method, template) in adapters::http::ROUTES {
        let path = template
            .replace("{source}", "default")
            .replace("{id}", "00000000-0000-7000-8000-000000000000");
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("no such route"), "{method} {path}: {body}");
    }
    let document: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/stats"]["get"].is_object());
    app.stop().await;
}
