//! `POST /webhooks/{source}` for every scheme in one running hookd: accept,
//! replay, staleness, rotation, conflicts, and the quarantine behind them.

use std::time::Duration;

use bootstrap::settings::{LabelledSecret, SecretEntry, Settings, SourceSettings};
use chrono::{DateTime, Utc};
use domain::{SigningSecret, signature::standard_webhooks::public_key_of};
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

on_both_backends!(
    every_scheme_accepts_its_signature_and_reports_replays,
    during_a_rotation_both_secrets_work_until_not_after,
    an_id_replayed_with_another_body_flags_the_stored_event,
    a_captured_body_resent_under_a_fresh_unsigned_id_is_a_replay,
);

pub(crate) const WAIT: Duration = Duration::from_secs(20);
const HMAC_SECRET: &str = "internal-secret-of-at-least-24-bytes";
const OLD: &str = "the-old-secret-of-at-least-24-bytes";
const NEW: &str = "the-new-secret-of-at-least-24-bytes";
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// An ed25519 signing key; the receiver is configured with its `whpk_` key.
const SW_SIGNING_KEY: &str = "whsk_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn plain(value: &str) -> SecretEntry {
    SecretEntry::Plain(SecretString::from(value))
}

fn labelled(value: &str, label: &str, not_after: Option<DateTime<Utc>>) -> SecretEntry {
    SecretEntry::Labelled(LabelledSecret {
        value: SecretString::from(value),
        label: Some(label.to_owned()),
        not_after,
    })
}

fn source(scheme: &str, secrets: Vec<SecretEntry>) -> SourceSettings {
    SourceSettings {
        scheme: Some(scheme.to_owned()),
        secrets: Some(secrets),
        ..SourceSettings::default()
    }
}

/// One source per scheme, plus two rotations: one running, one finished.
pub(crate) fn configure(settings: &mut Settings) {
    let public_key =
        public_key_of(&SigningSecret::new(SW_SIGNING_KEY, "k")).expect("a valid signing key");
    let day = chrono::Duration::days(1);
    let sources = [
        (
            "internal",
            SourceSettings {
                signature_header: Some("X-Internal-Signature".to_owned()),
                signature_prefix: Some("sha256=".to_owned()),
                event_id_pointer: Some("/data/id".to_owned()),
                ..source("hmac-hex", vec![plain(HMAC_SECRET)])
            },
        ),
        ("sw", source("standard-webhooks", vec![plain(SW_SECRET)])),
        (
            "sw-ed",
            source("standard-webhooks", vec![plain(&public_key)]),
        ),
        ("stripe", source("stripe", vec![plain("whsec_stripe_test")])),
        ("github", source("github", vec![plain("gh-secret")])),
        ("shopify", source("shopify", vec![plain("shpss_secret")])),
        (
            "slack",
            source("slack", vec![plain("slack-signing-secret")]),
        ),
        (
            "rotating",
            source(
                "hmac-hex",
                vec![
                    labelled(OLD, "old", Some(Utc::now() + day)),
                    labelled(NEW, "new", None),
                ],
            ),
        ),
        (
            "rotated",
            source(
                "hmac-hex",
                vec![
                    labelled(OLD, "old", Some(Utc::now() - day)),
                    labelled(NEW, "new", None),
                ],
            ),
        ),
    ];
    for (name, source) in sources {
        settings.sources.insert(name.to_owned(), source);
    }
}

/// Signs `body` the way `source`'s sender would, with `secret` (default:
/// the source's first), at `at`.
pub(crate) fn signed_headers(
    app: &TestApp,
    source: &str,
    secret: Option<&str>,
    body: &str,
    id: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<(String, String)> {
    let sources = bootstrap::sources::from_settings(&app.settings).unwrap();
    let configured = sources.iter().find(|s| s.name.as_str() == source).unwrap();
    let secret = secret.map_or_else(
        || configured.secrets[0].clone(),
        |value| SigningSecret::new(value, "test"),
    );
    configured
        .scheme
        .sign(&secret, body.as_bytes(), at, id)
        .unwrap()
}

pub(crate) async fn post(
    app: &TestApp,
    source: &str,
    headers: &[(String, String)],
    body: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/webhooks/{source}")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn every_scheme_accepts_its_signature_and_reports_replays(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    let cases = [
        (
            "internal",
            None,
            r#"{"data":{"id":"int_1"},"type":"t"}"#,
            None,
            "int_1",
        ),
        (
            "sw",
            None,
            r#"{"type":"user.created"}"#,
            Some("msg_1"),
            "msg_1",
        ),
        (
            "sw-ed",
            Some(SW_SIGNING_KEY),
            r#"{"type":"a"}"#,
            Some("msg_ed"),
            "msg_ed",
        ),
        (
            "stripe",
            None,
            r#"{"id":"evt_s1","type":"invoice.paid"}"#,
            None,
            "evt_s1",
        ),
        (
            "github",
            None,
            r#"{"action":"opened"}"#,
            Some("gh-guid-1"),
            "gh-guid-1",
        ),
        (
            "shopify",
            None,
            r#"{"id":820982911946154508}"#,
            Some("shop-1"),
            "shop-1",
        ),
        (
            "slack",
            None,
            r#"{"event_id":"Ev1","type":"event_callback"}"#,
            None,
            "Ev1",
        ),
    ];
    for (source, secret, body, id, event_id) in cases {
        let headers = signed_headers(&app, source, secret, body, id, Utc::now());
        let (status, first) = post(&app, source, &headers, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{source}: {first}");
        assert_eq!(first["event_id"], event_id, "{source}");
        let (status, again) = post(&app, source, &headers, body).await;
        assert_eq!(status, StatusCode::OK, "{source}: {again}");
        assert_eq!(again["status"], "duplicate", "{source}");
        assert_eq!(again["id"], first["id"], "{source}");
    }
    assert_eq!(app.event_count().await, 7);
    // Each event carries the label of the secret that verified it.
    let labelled = app
        .scalar("SELECT COUNT(*) FROM events WHERE secret_label = '0'")
        .await;
    assert_eq!(labelled, 7);
    app.stop().await;
}

/// A `POST /webhooks/{source}` for event `id`, signed with `secret`.
async fn send(app: &TestApp, source: &str, secret: &str, id: &str) -> (StatusCode, Value) {
    let body = format!(r#"{{"event_id":"{id}"}}"#);
    let headers = signed_headers(app, source, Some(secret), &body, None, Utc::now());
    post(app, source, &headers, &body).await
}

async fn during_a_rotation_both_secrets_work_until_not_after(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    assert_eq!(
        send(&app, "rotating", OLD, "r1").await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, "rotating", NEW, "r2").await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, "rotated", NEW, "r3").await.0,
        StatusCode::ACCEPTED
    );
    let (status, refusal) = send(&app, "rotated", OLD, "r4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refusal}");

    let by_label =
        "SELECT COUNT(*) FROM events WHERE source = 'rotating' AND secret_label IN ('old', 'new')";
    assert_eq!(app.scalar(by_label).await, 2);
    app.wait_for(
        "SELECT COUNT(*) FROM rejections WHERE source = 'rotated' AND reason = 'expired_secret'",
        1,
        WAIT,
    )
    .await;

    let (status, sources) = app.get_json("/sources").await;
    assert_eq!(status, StatusCode::OK);
    let rotated = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rotated")
        .unwrap();
    assert_eq!(rotated["scheme"], "hmac-hex");
    let secrets = rotated["secrets"].as_array().unwrap();
    assert_eq!(secrets[0]["label"], "old");
    assert_eq!(secrets[0]["expired"], true);
    assert_eq!(secrets[0]["events"], 0);
    assert_eq!(secrets[1]["label"], "new");
    assert_eq!(secrets[1]["events"], 1);
    assert!(
        !sources.to_string().contains(OLD),
        "secrets are never shown"
    );
    app.stop().await;
}

async fn an_id_replayed_with_another_body_flags_the_stored_event(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, configure).await;
    let original = r#"{"event_id":"evt_c","amount":1}"#;
    let changed = r#"{"event_id":"evt_c","amount":1000}"#;
    let first = app.post_signed(original).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let replay = app.post_signed(changed).await;
    assert_eq!(
        replay.status(),
        StatusCode::OK,
        "still 200, never reprocessed"
    );
    assert_eq!(app.event_count().await, 1);

    let (_, event) = app
        .get_json(&format!("/events/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(event["conflict"], true);
    assert_eq!(event["secret_label"], "0");
    assert_eq!(event["payload"]["amount"], 1, "the original body is kept");
    let (_, list) = app.get_json("/events").await;
    assert_eq!(list["items"][0]["conflict"], true);
    let (_, sources) = app.get_json("/sources").await;
    let default = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "default")
        .unwrap();
    assert_eq!(default["conflicts"], 1);
    app.stop().await;
}

/// Issue 9.2: GitHub's and Shopify's event ids come from headers the
/// signature does not cover. A captured body and signature resent with a
/// fresh delivery id was accepted and processed again. The body is now
/// unique per such source: the resend is a replay (200, not stored, the
/// stored event flagged); a source with `dedupe_by_body = false` (and the
/// signed-id schemes) still take the same body under a new id.
async fn a_captured_body_resent_under_a_fresh_unsigned_id_is_a_replay(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let app = spawn_app(&db, |settings| {
        configure(settings);
        let mut opted_out = source("github", vec![plain("gh-secret")]);
        opted_out.dedupe_by_body = Some(false);
        settings
            .sources
            .insert("github-pings".to_owned(), opted_out);
    })
    .await;
    for (source, body) in [
        ("github", r#"{"action":"opened","number":1}"#),
        ("shopify", r#"{"id":820982911946154508}"#),
    ] {
        let first = signed_headers(&app, source, None, body, Some("delivery-1"), Utc::now());
        let (status, accepted) = post(&app, source, &first, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{source}: {accepted}");
        // The attacker keeps the body and signature, and sets a new id.
        let resent: Vec<_> = first
            .iter()
            .map(|(name, value)| {
                let value = if value == "delivery-1" {
                    "delivery-2".to_owned()
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect();
        assert_ne!(resent, first, "{source}: the id header was replaced");
        let (status, replay) = post(&app, source, &resent, body).await;
        assert_eq!(status, StatusCode::OK, "{source}: {replay}");
        assert_eq!(replay["status"], "duplicate", "{source}");
        assert_eq!(replay["id"], accepted["id"], "{source}");
        let (_, event) = app
            .get_json(&format!("/events/{}", accepted["id"].as_str().unwrap()))
            .await;
        assert_eq!(event["conflict"], true, "{source}");
    }
    assert_eq!(app.event_count().await, 2);

    // Opted out: the same body under two ids is two events.
    let body = r#"{"zen":"Keep it logically awesome."}"#;
    for id in ["ping-1", "ping-2"] {
        let headers = signed_headers(&app, "github-pings", None, body, Some(id), Utc::now());
        let (status, answer) = post(&app, "github-pings", &headers, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{id}: {answer}");
    }
    assert_eq!(app.event_count().await, 4);
    app.stop().await;
}
