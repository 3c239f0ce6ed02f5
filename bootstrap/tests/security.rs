//! Secure defaults and log hygiene, through the real binary: the generated
//! development JWT secret (found again by `hookd token`), private files,
//! and untrusted strings that cannot forge log fields.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(60);

/// `hookd` run in `dir` with no configuration but a free loopback port.
fn hookd(dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("HOOKD__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("HOOKD__PROCESSING__WORKERS", "0");
    command
}

/// Kills the child when a test ends, also by a failed assertion, so no
/// orphan keeps the port or the test's output pipe.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

async fn wait_until_ready(base: &str, child: &mut Child) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/readyz")).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "hookd exited");
        assert!(Instant::now() < deadline, "hookd did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token(dir: &Path, port: u16, sub: &str) -> String {
    let output = hookd(dir, port)
        .args(["token", "--sub", sub])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// With no configuration, development generates its JWT secret on first
/// start and keeps it beside the database, readable by its owner only (the
/// database too); `hookd token` in the same place signs with it, and a
/// token signed with the old built-in constant is refused.
#[cfg(unix)]
#[tokio::test]
async fn development_generates_a_private_jwt_secret_that_hookd_token_finds() {
    adapters::tls::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Running(
        hookd(dir.path(), port)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_until_ready(&base, &mut child.0).await;

    let secret_file = dir.path().join("data/hookd.db.jwt-secret");
    assert_eq!(mode(&secret_file), 0o600);
    assert_eq!(mode(&dir.path().join("data/hookd.db")), 0o600);
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert_eq!(secret.trim().len(), 64);

    let client = reqwest::Client::new();
    let events = |token: String| {
        client
            .get(format!("{base}/events"))
            .bearer_auth(token)
            .send()
    };
    let minted = token(dir.path(), port, "alice");
    assert_eq!(events(minted).await.unwrap().status(), StatusCode::OK);

    // What anyone could mint before: the constant that was in the source.
    let old_constant = "hookd-development-jwt-secret-do-not-use-in-production";
    let claims = serde_json::json!({
        "sub": "mallory", "exp": chrono::Utc::now().timestamp() + 600,
        "scope": "events:read"
    });
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(old_constant.as_bytes()).unwrap(),
    )
    .unwrap();
    let refused = events(forged).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // A restart keeps the secret, so earlier tokens stay valid.
    let before_restart = token(dir.path(), port, "alice");
    drop(child);
    let mut child = Running(
        hookd(dir.path(), port)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_until_ready(&base, &mut child.0).await;
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    assert_eq!(
        events(before_restart).await.unwrap().status(),
        StatusCode::OK
    );
}

/// A caller's `x-request-id` and a token's `sub` are untrusted: neither can
/// add a field to a log line (`caller=admin`), in the human-readable format
/// where that would work.
#[tokio::test]
async fn untrusted_strings_cannot_forge_log_fields() {
    adapters::tls::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_file = dir.path().join("hookd.log");
    let mut child = Running(
        hookd(dir.path(), port)
            .arg("serve")
            .env("HOOKD__LOG__FORMAT", "pretty")
            .env("HOOKD__LOG__LEVEL", "info,adapters=debug")
            .stdout(std::fs::File::create(&log_file).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_until_ready(&base, &mut child.0).await;

    let client = reqwest::Client::new();
    let sub = "ops caller=admin";
    let response = client
        .get(format!("{base}/events"))
        .bearer_auth(token(dir.path(), port, sub))
        .header("x-request-id", "x caller=admin source=\"stripe\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(
        response.headers()["x-request-id"],
        "x caller=admin source=\"stripe\""
    );

    // The debug line of the listing carries the caller; wait until it is written.
    let deadline = Instant::now() + WAIT;
    let logs = loop {
        let logs = std::fs::read_to_string(&log_file).unwrap();
        if logs.contains("listing events") {
            break logs;
        }
        assert!(Instant::now() < deadline, "no log line: {logs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(child);
    assert!(!logs.contains("caller=admin source="), "{logs}");
    assert!(!logs.contains("=ops caller=admin"), "{logs}");
    assert!(logs.contains(r#""ops caller=admin""#), "{logs}");
}
