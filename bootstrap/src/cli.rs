//! The command line: `serve` (default), `migrate`, `sign`, `token`.

use std::{io::Read as _, path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use domain::{SigningSecret, signature::hmac_hex};
use secrecy::ExposeSecret;

use crate::{
    settings::Settings,
    startup::{self, jwt_settings},
    telemetry,
};

#[derive(Debug, Parser)]
#[command(name = "hookd", version, about = "A secure webhook receiver")]
pub struct Cli {
    /// TOML configuration file (layered over the defaults, under HOOKD__… env).
    #[arg(long, env = "HOOKD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the `X-Signature` value for a payload (from FILE, or stdin).
    Sign {
        /// The secret; defaults to the configured source's.
        #[arg(long)]
        secret: Option<String>,
        /// The source whose secret to use.
        #[arg(long, default_value = "default")]
        source: String,
        /// The payload file; `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
    /// Print a JWT for the dashboard API, signed with the configured secret.
    Token {
        /// Who the token is for (its `sub`).
        #[arg(long)]
        sub: String,
        /// How long it is valid, e.g. `1h`, `30m`, `7d`.
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
    },
}

/// # Errors
/// Whatever the command fails with; `main` prints it and exits non-zero.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            telemetry::init(&settings);
            let store = startup::connect_store(&settings).await?;
            startup::migrate(&store).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Sign {
            secret,
            source,
            file,
        } => {
            let secret = match secret {
                Some(secret) => secret,
                None => settings
                    .sources
                    .get(&source)
                    .and_then(|s| s.secret.as_ref())
                    .map(|s| s.expose_secret().to_owned())
                    .with_context(|| format!("no secret configured for source {source:?}"))?,
            };
            let body = read_payload(file)?;
            println!(
                "{}",
                hmac_hex::sign(&SigningSecret::new(secret, "cli"), &body)
            );
            Ok(())
        }
        Command::Token { sub, ttl } => {
            let ttl: Duration = ttl.into();
            let token = adapters::auth::issue_token(
                &jwt_settings(&settings),
                &sub,
                ttl,
                chrono::Utc::now(),
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

fn read_payload(file: Option<PathBuf>) -> anyhow::Result<Vec<u8>> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("reading stdin")?;
            Ok(body)
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(&settings);
    for key in settings.development_secrets_in_use() {
        tracing::warn!(%key, "using the built-in DEVELOPMENT secret: anyone can forge requests; configure your own before exposing hookd");
    }
    let app = startup::build(&settings).await?;
    tracing::info!(addr = %app.local_addr(), "hookd listening");
    let shutdown = app.shutdown_token();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(%signal, "shutting down");
        shutdown.cancel();
    });
    app.run_until_stopped().await?;
    tracing::info!("hookd stopped");
    Ok(())
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for signals; stop hookd with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
