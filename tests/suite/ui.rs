//! The dashboard page under `/ui/`: served from the binary with its security
//! and cache headers, and gone when `[ui] enabled = false`. (What the page
//! does is tested in a real browser: `tests/browser/dashboard.py`.)

use hookd_tests::{Backend, TestDb, spawn_app};
use reqwest::{StatusCode, header};
use serde_json::Value;

fn assert_hardened(response: &reqwest::Response) {
    let headers = response.headers();
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        adapters::http::CONTENT_SECURITY_POLICY,
        "{}",
        response.url()
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn the_page_and_its_hashed_assets_are_served_with_strict_headers() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |_| {}).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for path in ["/", "/ui"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
        assert_eq!(response.headers()[header::LOCATION], "/ui/");
    }

    let mut page = String::new();
    for path in [
        "/ui/",
        "/ui/events",
        "/ui/events/some-id",
        "/ui/rejections",
        "/ui/sources",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_hardened(&response);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        page = response.text().await.unwrap();
    }
    let script = page
        .split('"')
        .find(|part| part.starts_with("/ui/assets/") && part.ends_with("/js/main.js"))
        .expect("the page loads its script from a hashed path");

    let response = client.get(app.url(script)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_hardened(&response);
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(response.text().await.unwrap().contains("import"));

    // Another build's path, or a file that is not embedded: 404 in the API's shape.
    let stale = "/ui/assets/0000000000000000/js/main.js";
    assert_ne!(script, stale);
    for path in [stale, &script.replace("main.js", "nope.js"), "/ui/nope"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
    }

    // The page is not part of the API's document.
    let (_, document) = app.get_json("/openapi.json").await;
    let paths = document["paths"].as_object().unwrap();
    assert!(
        paths
            .keys()
            .all(|path| !path.starts_with("/ui") && path != "/")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_page_can_be_turned_off() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app(&db, |settings| settings.ui.enabled = false).await;
    for path in ["/", "/ui", "/ui/", "/ui/events"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
    // The API is still there.
    let (status, _) = app.get_json("/events").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
