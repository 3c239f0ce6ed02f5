//! The test harness: a fresh database per test (SQLite file or PostgreSQL
//! database with a random name), the real hookd built by the same `build()`
//! as `main`, listening on `127.0.0.1:0`, and helpers to talk to it.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod db;
pub mod proxy;
pub mod raw;
pub mod signing;
pub mod target;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use application::ports::{EventHandler, Scope};
use bootstrap::{Overrides, Settings};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use db::{Backend, TestDb};
pub use signing::{SECRET, sign};

/// A running hookd.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// A separate connection for looking at what was stored.
    pub db: DatabaseConnection,
    shutdown: CancellationToken,
    server: JoinHandle<anyhow::Result<()>>,
}

/// Settings for a test: loopback port 0, the test database, fast polling.
pub fn test_settings(db: &TestDb) -> Settings {
    settings_for_url(&db.url)
}

/// [`test_settings`] for a database given by URL (the scale benchmark's).
pub fn settings_for_url(url: &str) -> Settings {
    // Every reqwest client needs it; tests build clients of their own.
    adapters::tls::ensure_crypto_provider();
    let mut settings = Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.database.url = SecretString::from(url.to_owned());
    settings.processing.poll_interval_ms = 100;
    // What development would generate at start, without touching ./data.
    settings.auth.jwt_secret = Some(SecretString::from(hex::encode(rand::random::<[u8; 32]>())));
    settings
}

/// Starts hookd on `db` with `configure` applied to the test settings.
pub async fn spawn_app(db: &TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(db, configure, None).await
}

/// [`spawn_app`] with a handler of the test's own.
pub async fn spawn_app_with(
    db: &TestDb,
    configure: impl FnOnce(&mut Settings),
    handler: Option<Arc<dyn EventHandler>>,
) -> TestApp {
    spawn_app_on(&db.url, configure, handler).await
}

/// [`spawn_app_with`] on a database given by URL, which outlives the app.
pub async fn spawn_app_on(
    url: &str,
    configure: impl FnOnce(&mut Settings),
    handler: Option<Arc<dyn EventHandler>>,
) -> TestApp {
    let mut settings = settings_for_url(url);
    configure(&mut settings);
    settings.validate().unwrap();
    let overrides = Overrides {
        handler,
        ..Overrides::default()
    };
    let app = bootstrap::build_with(&settings, overrides).await.unwrap();
    let addr = app.local_addr();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        client: reqwest::Client::new(),
        settings,
        db: sea_orm::Database::connect(url).await.unwrap(),
        shutdown,
        server,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /webhook` with `X-Signature` when given.
    pub async fn post_webhook(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/webhook"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-signature", signature);
        }
        request.send().await.unwrap()
    }

    /// A correctly signed `POST /webhook`, ready to send from any task.
    pub fn signed_request(&self, body: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.url("/webhook"))
            .header("content-type", "application/json")
            .header("x-signature", sign(body))
            .body(body.to_owned())
    }

    /// `POST /webhook` correctly signed with the default source's secret.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        self.signed_request(body).send().await.unwrap()
    }

    /// `POST /events/{id}/replay` with a token of every scope.
    pub async fn replay(&self, id: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/events/{id}/replay")))
            .bearer_auth(self.token())
            .send()
            .await
            .unwrap()
    }

    /// A dashboard token with every scope, as `hookd token` issues by default.
    pub fn token(&self) -> String {
        self.token_with(&Scope::ALL, None)
    }

    /// A dashboard token with these scopes, restricted to `sources` if given.
    pub fn token_with(&self, scopes: &[Scope], sources: Option<&[&str]>) -> String {
        let sources: Option<Vec<String>> =
            sources.map(|names| names.iter().map(|&name| name.to_owned()).collect());
        adapters::auth::issue_token(
            &bootstrap::startup::jwt_settings(&self.settings).unwrap(),
            &adapters::auth::TokenRequest {
                subject: "tests",
                ttl: Duration::from_secs(600),
                scopes,
                sources: sources.as_deref(),
            },
            chrono::Utc::now(),
        )
        .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.get_json_as(path, &self.token()).await
    }

    /// [`TestApp::get_json`] with another token (e.g. one limited to some sources).
    pub async fn get_json_as(
        &self,
        path: &str,
        token: &str,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Runs a query returning one integer, e.g. a `COUNT(*)`.
    pub async fn scalar(&self, sql: &str) -> i64 {
        db::scalar(&self.db, sql).await
    }

    pub async fn event_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM events").await
    }

    /// Waits (up to `timeout`) until `sql` returns `expected`.
    pub async fn wait_for(&self, sql: &str, expected: i64, timeout: Duration) {
        db::wait_for(&self.db, sql, expected, timeout).await;
    }

    /// Stops the server and workers and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}
