//! A local HTTP server standing in for the user's service behind a
//! `forward` handler: it verifies hookd's Standard Webhooks signature on
//! every delivery, records it, and answers as the test tells it to.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::Utc;
use domain::{SigningSecret, signature::standard_webhooks};

/// The `forward_secret` tests configure (from the Standard Webhooks spec).
pub const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the target received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: String,
    pub body: Bytes,
    pub content_type: Option<String>,
    /// Whether the Standard Webhooks signature verified.
    pub verified: bool,
    pub at: Instant,
}

impl Delivery {
    /// The sender's `event_id` in the forwarded body.
    pub fn event_id(&self) -> String {
        let json: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        json["event_id"].as_str().unwrap_or_default().to_owned()
    }
}

/// How the target answers a delivery: status, `Retry-After`, and a delay.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub delay: Duration,
}

impl Answer {
    pub const OK: Self = Self {
        status: StatusCode::OK,
        retry_after: None,
        delay: Duration::ZERO,
    };
}

type Script = dyn Fn(&Delivery, usize) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    script: Arc<Script>,
    concurrency: Arc<Concurrency>,
}

/// Requests being answered now, and the most ever at once.
#[derive(Debug, Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

pub struct Target {
    pub addr: SocketAddr,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    concurrency: Arc<Concurrency>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Starts a target; `script(delivery, earlier_deliveries_of_this_id)` decides each answer.
    pub async fn start(
        script: impl Fn(&Delivery, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let concurrency = Arc::new(Concurrency::default());
        let shared = Shared {
            deliveries: deliveries.clone(),
            script: Arc::new(script),
            concurrency: concurrency.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/in", post(receive)).with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            deliveries,
            concurrency,
        }
    }

    /// The most requests the target was answering at once.
    pub fn peak_concurrency(&self) -> usize {
        self.concurrency.peak.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}/in", self.addr)
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries arrived (or panics after `timeout`).
    pub async fn wait_for_deliveries(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.deliveries().len() < n {
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {n} deliveries, got {}",
                self.deliveries().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let now = shared.concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
    shared.concurrency.peak.fetch_max(now, Ordering::SeqCst);
    let response = answer(&shared, &headers, body).await;
    shared.concurrency.now.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn answer(shared: &Shared, headers: &HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let secret = SigningSecret::new(FORWARD_SECRET, "forward");
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let verified = standard_webhooks::verify(
        std::slice::from_ref(&secret),
        &pairs,
        &body,
        Utc::now(),
        Duration::from_secs(300),
    )
    .is_ok();
    let delivery = Delivery {
        webhook_id: header("webhook-id").unwrap_or_default(),
        body,
        content_type: header("content-type"),
        verified,
        at: Instant::now(),
    };
    let answer = {
        let mut deliveries = shared.deliveries.lock().unwrap();
        let earlier = deliveries
            .iter()
            .filter(|d| d.webhook_id == delivery.webhook_id)
            .count();
        deliveries.push(delivery.clone());
        (shared.script)(&delivery, earlier)
    };
    tokio::time::sleep(answer.delay).await;
    let mut response = answer.status.into_response();
    if let Some(seconds) = answer.retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().unwrap());
    }
    response
}
