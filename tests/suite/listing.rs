//! `GET /events` filtered by source without a status: the store reads one
//! range of `events_page_by_source` per status (and per source for a token
//! restricted to a few) and merges them. Every event once, newest first,
//! the cursor carrying on, and the other filters still applying.

use bootstrap::settings::SourceSettings;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hookd_tests::signing::sign_with;
use hookd_tests::{Backend, TestApp, TestDb, spawn_app};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as SqlValue};
use serde_json::Value;

on_both_backends!(
    a_source_page_merges_every_status_newest_first,
    filters_combine_with_the_merged_ranges,
);

/// Secret of the two sources beside `default`.
const OTHER_SECRET: &str = "other-source-secret-of-32-bytes!";
const SOURCES: [&str; 3] = ["default", "other", "third"];
const STATUSES: [&str; 5] = ["pending", "processing", "processed", "retrying", "dead"];
const TYPES: [&str; 2] = ["invoice.paid", "push"];
const EVENTS: usize = 45;

/// One stored event as the test made it.
#[derive(Debug, Clone)]
struct Made {
    key: String,
    source: &'static str,
    event_id: String,
    event_type: &'static str,
    status: &'static str,
    received_at: DateTime<Utc>,
}

struct Fixture {
    app: TestApp,
    made: Vec<Made>,
    /// `received_at` of the first event; each next one a minute later.
    start: DateTime<Utc>,
}

/// 45 events over three sources, each source's events in every status,
/// the statuses interleaved in key order; event `n` received `n` minutes
/// after `start`. Idle workers, so nothing changes them afterwards.
async fn fixture(db: &TestDb) -> Fixture {
    let app = spawn_app(db, |settings| {
        settings.processing.workers = 0;
        for name in &SOURCES[1..] {
            settings.sources.insert(
                (*name).to_owned(),
                SourceSettings::with_secret(OTHER_SECRET),
            );
        }
    })
    .await;
    let now = Utc::now();
    let start = DateTime::from_timestamp(now.timestamp() - now.timestamp() % 60, 0).unwrap()
        - Duration::hours(2);
    let mut made = Vec::new();
    for n in 0..EVENTS {
        let source = SOURCES[n % 3];
        let event = Made {
            key: String::new(),
            source,
            event_id: format!("evt_{n:02}"),
            event_type: TYPES[(n / 2) % 2],
            status: STATUSES[(n * 3) % 5],
            received_at: start + Duration::minutes(i64::try_from(n).unwrap()),
        };
        let key = post(&app, &event).await;
        execute(
            &app,
            "UPDATE events SET status = $1, received_at = $2 WHERE id = $3",
            vec![
                event.status.into(),
                event.received_at.timestamp_micros().into(),
                uuid::Uuid::parse_str(&key).unwrap().into(),
            ],
        )
        .await;
        made.push(Made { key, ..event });
    }
    // Newest first is key order; the keys' text sorts as their bytes.
    made.sort_by(|a, b| b.key.cmp(&a.key));
    Fixture { app, made, start }
}

async fn post(app: &TestApp, event: &Made) -> String {
    let (path, secret) = match event.source {
        "default" => ("/webhook".to_owned(), hookd_tests::SECRET),
        other => (format!("/webhooks/{other}"), OTHER_SECRET),
    };
    let body = format!(
        r#"{{"event_id":"{}","type":"{}"}}"#,
        event.event_id, event.event_type
    );
    let response = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/json")
        .header("x-signature", sign_with(secret.as_bytes(), body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn execute(app: &TestApp, sql: &str, values: Vec<SqlValue>) {
    let backend = app.db.get_database_backend();
    let sql = if backend == DbBackend::Sqlite {
        (1..=values.len())
            .rev()
            .fold(sql.to_owned(), |sql, n| sql.replace(&format!("${n}"), "?"))
    } else {
        sql.to_owned()
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

/// Every page of `GET /events?{query}` with `limit` per page, as
/// `(key, status)`, checking each page's size and that only the last one
/// has no cursor.
async fn all_pages(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=EVENTS {
        let mut path = format!("/events?{query}&limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let response = app
            .client
            .get(app.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{path}: {} items", items.len());
        seen.extend(items.iter().map(|event| {
            (
                event["id"].as_str().unwrap().to_owned(),
                event["status"].as_str().unwrap().to_owned(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), limit, "{path}: a short page before the end");
                cursor = Some(next.to_owned());
            }
            None => return seen,
        }
    }
    panic!("{query}: more pages than events");
}

fn expected(made: &[Made], keep: impl Fn(&Made) -> bool) -> Vec<(String, String)> {
    made.iter()
        .filter(|event| keep(event))
        .map(|event| (event.key.clone(), event.status.to_owned()))
        .collect()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn a_source_page_merges_every_status_newest_first(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let Fixture { app, made, .. } = fixture(&db).await;
    let token = app.token();
    for source in SOURCES {
        let want = expected(&made, |event| event.source == source);
        assert_eq!(want.len(), EVENTS / 3);
        // Pages smaller than one status's share, one of the whole source.
        for limit in [1, 4, 7, 50] {
            let got = all_pages(&app, &token, &format!("source={source}"), limit).await;
            assert_eq!(got, want, "source={source}, {limit} per page");
        }
    }
    app.stop().await;
}

async fn filters_combine_with_the_merged_ranges(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let Fixture { app, made, start } = fixture(&db).await;
    let after = start + Duration::minutes(10);
    let before = start + Duration::minutes(31);
    let window = format!(
        "received_after={}&received_before={}",
        rfc3339(after),
        rfc3339(before)
    );
    let in_window = move |event: &Made| event.received_at >= after && event.received_at < before;
    let every = app.token();
    // A token restricted to two sources, and one naming a source twice.
    let two = app.token_with(&application::ports::Scope::ALL, Some(&["third", "default"]));
    let twice = app.token_with(
        &application::ports::Scope::ALL,
        Some(&["default", "third", "default"]),
    );
    type Keep = Box<dyn Fn(&Made) -> bool>;
    let cases: Vec<(&str, String, Keep)> = vec![
        (
            &every,
            "source=default&type=push".into(),
            Box::new(|e| e.source == "default" && e.event_type == "push"),
        ),
        (
            &every,
            "source=other&status=dead".into(),
            Box::new(|e| e.source == "other" && e.status == "dead"),
        ),
        (
            &every,
            format!("source=other&{window}"),
            Box::new(move |e| e.source == "other" && in_window(e)),
        ),
        (
            &every,
            "source=third&type=invoice.paid&status=processed".into(),
            Box::new(|e| {
                e.source == "third" && e.event_type == "invoice.paid" && e.status == "processed"
            }),
        ),
        (
            &every,
            "source=third&event_id=evt_05".into(),
            Box::new(|e| e.event_id == "evt_05"),
        ),
        (
            &every,
            "source=default&event_id=evt_05".into(),
            Box::new(|_| false),
        ),
        (&two, String::new(), Box::new(|e| e.source != "other")),
        (
            &two,
            "status=retrying".into(),
            Box::new(|e| e.source != "other" && e.status == "retrying"),
        ),
        (
            &two,
            format!("type=push&{window}"),
            Box::new(move |e| e.source != "other" && e.event_type == "push" && in_window(e)),
        ),
        (
            &two,
            "source=third&type=invoice.paid".into(),
            Box::new(|e| e.source == "third" && e.event_type == "invoice.paid"),
        ),
        (&twice, String::new(), Box::new(|e| e.source != "other")),
    ];
    for (token, query, keep) in cases {
        let want = expected(&made, keep);
        for limit in [2, 50] {
            let got = all_pages(&app, token, &query, limit).await;
            assert_eq!(got, want, "{query}, {limit} per page");
        }
    }
    app.stop().await;
}
