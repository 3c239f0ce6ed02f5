//! Delivery that respects its target: a concurrency limit per destination,
//! a rate limit, and a circuit breaker that pauses a failing destination
//! (its events wait, uncharged) and resumes it after a successful probe.
//! Against a real local target, on both databases.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bootstrap::settings::{HandlerKind, Settings};
use hookd_tests::{
    Backend, TestDb, spawn_app,
    target::{Answer, FORWARD_SECRET, Target},
};
use reqwest::StatusCode;
use secrecy::SecretString;

on_both_backends!(
    a_slow_target_never_sees_more_than_max_in_flight_requests,
    the_rate_limit_spaces_deliveries,
    a_failing_target_is_paused_probed_and_resumed_without_burning_attempts,
);

const WAIT: Duration = Duration::from_secs(60);

fn forward_to(target: &Target, settings: &mut Settings) {
    let handler = &mut settings.sources.get_mut("default").unwrap().handler;
    handler.kind = HandlerKind::Forward;
    handler.url = Some(target.url());
    handler.forward_secret = Some(SecretString::from(FORWARD_SECRET));
    settings.processing.poll_interval_ms = 50;
}

async fn a_slow_target_never_sees_more_than_max_in_flight_requests(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let target = Target::start(|_, _| Answer {
        delay: Duration::from_millis(50),
        ..Answer::OK
    })
    .await;
    // 4 workers × 32 events could run 128 attempts at once.
    let app = spawn_app(&db, |s| {
        forward_to(&target, s);
        s.sources.get_mut("default").unwrap().handler.max_in_flight = 4;
        s.processing.workers = 4;
        s.processing.batch_size = 32;
    })
    .await;
    for n in 0..120 {
        let response = app
            .post_signed(&format!(r#"{{"event_id":"evt_{n}"}}"#))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        120,
        WAIT,
    )
    .await;
    let peak = target.peak_concurrency();
    assert!(peak <= 4, "the target saw {peak} requests at once");
    assert!(peak >= 2, "deliveries did not overlap at all ({peak})");
    let attempts = app
        .scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome <> 'succeeded'")
        .await;
    assert_eq!(attempts, 0, "waiting for a slot cost attempts");
}

async fn the_rate_limit_spaces_deliveries(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let target = Target::start(|_, _| Answer::OK).await;
    let app = spawn_app(&db, |s| {
        forward_to(&target, s);
        s.sources
            .get_mut("default")
            .unwrap()
            .handler
            .rate_per_second = Some(10.0);
    })
    .await;
    for n in 0..30 {
        app.post_signed(&format!(r#"{{"event_id":"evt_{n}"}}"#))
            .await;
    }
    target.wait_for_deliveries(30, WAIT).await;
    let deliveries = target.deliveries();
    let span = deliveries.last().unwrap().at - deliveries.first().unwrap().at;
    // A burst of 10, then 20 more at 10 per second: at least ~2 s. (A lower
    // bound only: a slow machine cannot make it fail.)
    assert!(
        span >= Duration::from_millis(1_800),
        "30 deliveries at 10/s took only {span:?}"
    );
}

async fn a_failing_target_is_paused_probed_and_resumed_without_burning_attempts(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let down = Arc::new(AtomicBool::new(true));
    let target = Target::start({
        let down = down.clone();
        move |_, _| {
            if down.load(Ordering::SeqCst) {
                Answer {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    ..Answer::OK
                }
            } else {
                Answer::OK
            }
        }
    })
    .await;
    let app = spawn_app(&db, |s| {
        forward_to(&target, s);
        let handler = &mut s.sources.get_mut("default").unwrap().handler;
        handler.max_in_flight = 4;
        handler.breaker_failures = 3;
        handler.breaker_cool_down_seconds = 1;
        handler.breaker_max_cool_down_seconds = 2;
        // Without the breaker, 8 s of outage would kill every event (5
        // attempts take 1.5 s at this backoff).
        s.processing.max_attempts = 5;
        s.processing.backoff_base_ms = 100;
        s.processing.backoff_factor = 2;
        s.processing.backoff_cap_seconds = 1;
    })
    .await;
    for n in 0..40 {
        app.post_signed(&format!(r#"{{"event_id":"evt_{n}"}}"#))
            .await;
    }
    target.wait_for_deliveries(3, WAIT).await;
    let outage = Instant::now();
    let paused = wait_for_state(&app, &["open", "probing"]).await;
    assert!(paused["times_opened"].as_u64().unwrap() >= 1, "{paused}");

    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = target.deliveries().len();
    // Up to 4 in flight when it opened, then one probe per cool-down (1 s,
    // then 2 s): far fewer than the 40 events × 4 attempts it would get.
    let probes_at_most = 4 + 2 + outage.elapsed().as_secs() as usize;
    assert!(
        during <= probes_at_most,
        "{during} requests reached a target that was down"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE status = 'dead'")
            .await,
        0,
        "events died while their destination was paused"
    );

    down.store(false, Ordering::SeqCst);
    app.wait_for(
        "SELECT COUNT(*) FROM events WHERE status = 'processed'",
        40,
        WAIT,
    )
    .await;
    wait_for_state(&app, &["closed"]).await;
    // Every failed attempt the history shows did reach the target.
    let failed = app
        .scalar("SELECT COUNT(*) FROM attempt_history WHERE outcome <> 'succeeded'")
        .await;
    assert!(
        usize::try_from(failed).unwrap() <= during,
        "{failed} failed attempts recorded, {during} requests made"
    );
    let (_, metrics) = app.get_json("/destinations").await;
    assert!(metrics["items"][0]["deferred"].as_u64().unwrap() > 0);
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"hookd_destination_state{source="default"} 0"#),
        "{text}"
    );
}

/// Waits until `GET /destinations` shows the default source in one of `states`.
async fn wait_for_state(app: &hookd_tests::TestApp, states: &[&str]) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = app.get_json("/destinations").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let item = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["source"] == "default")
            .cloned()
            .unwrap();
        if states.iter().any(|s| item["state"] == *s) {
            return item;
        }
        assert!(Instant::now() < deadline, "still {item}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
