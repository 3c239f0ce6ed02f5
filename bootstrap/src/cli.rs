//! The command line: `serve` (default), `migrate`, `sign`, `send`, `token`,
//! `secret`, `healthcheck`, and the operator commands.

mod healthcheck;
mod operate;
mod sign;

use std::{io::Read as _, path::PathBuf, time::Duration};

use adapters::auth::{TokenRequest, issue_token};
use anyhow::Context as _;
use application::ports::Scope;
use clap::{Parser, Subcommand};

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
    /// Print the `X-Signature` value for a payload (from FILE, or stdin), or
    /// with `--scheme` every header that scheme's sender would attach.
    Sign {
        /// The secret; defaults to the configured source's first unexpired one.
        #[arg(long)]
        secret: Option<String>,
        /// The source whose secret (and, without --scheme, scheme) to use.
        #[arg(long, default_value = "default")]
        source: String,
        /// hmac-hex, standard-webhooks, stripe, github, shopify or slack: print headers.
        #[arg(long)]
        scheme: Option<String>,
        /// The event id, for schemes that carry it in a header (default: derived from the body).
        #[arg(long)]
        id: Option<String>,
        /// The payload file; `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
    /// Sign a payload with a source's first unexpired secret and POST it.
    Send {
        /// Where to post, e.g. http://localhost:8000/webhooks/stripe.
        url: String,
        /// The configured source to sign for.
        #[arg(long, default_value = "default")]
        source: String,
        /// The event id, for schemes that carry it in a header (default: derived from the body).
        #[arg(long)]
        id: Option<String>,
        /// The payload file; `-` reads stdin.
        file: PathBuf,
    },
    /// Events of a running instance: list, show, replay.
    Events {
        #[command(flatten)]
        remote: operate::Remote,
        #[command(subcommand)]
        command: operate::EventsCommand,
    },
    /// Counts of a running instance (GET /stats).
    Stats {
        #[command(flatten)]
        remote: operate::Remote,
    },
    /// Exit 0 when the local instance answers GET /healthz with 200 (for
    /// container health checks: the image needs no curl).
    Healthcheck(healthcheck::Healthcheck),
    /// Print a strong random value (32 random bytes, hex) for a secret.
    Secret {
        /// As a Standard Webhooks secret: `whsec_` + base64 of 32 random bytes.
        #[arg(long)]
        whsec: bool,
    },
    /// Print a JWT for the dashboard API, signed with the configured secret
    /// (in development, the generated one kept beside the database).
    Token {
        /// Who the token is for (its `sub`).
        #[arg(long)]
        sub: String,
        /// How long it is valid, e.g. `1h`, `30m`, `7d`.
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
        /// A scope to grant (repeatable): events:read, events:replay,
        /// rejections:read, stats:read. Default: all of them.
        #[arg(long = "scope", value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Restrict the token to this source (repeatable). Default: every source.
        #[arg(long = "source")]
        sources: Vec<String>,
    },
}

/// # Errors
/// Whatever the command fails with; `main` prints it and exits non-zero.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    adapters::tls::ensure_crypto_provider();
    // The operator commands talk to a running instance: no local configuration.
    match cli.command {
        Some(Command::Events { remote, command }) => {
            println!("{}", operate::events(&remote, command).await?);
            return Ok(());
        }
        Some(Command::Stats { remote }) => {
            println!("{}", operate::stats(&remote).await?);
            return Ok(());
        }
        Some(Command::Healthcheck(args)) => {
            return healthcheck::run(&args, cli.config.as_deref()).await;
        }
        // Needs no configuration either.
        Some(Command::Secret { whsec }) => {
            println!("{}", secret_value(whsec));
            return Ok(());
        }
        _ => {}
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Events { .. }
        | Command::Stats { .. }
        | Command::Secret { .. }
        | Command::Healthcheck(_) => Ok(()),
        Command::Serve => {
            telemetry::init(&settings);
            if let Some(path) = crate::dev_secret::ensure_jwt_secret(&mut settings)? {
                tracing::info!(path = ?path, "development JWT secret (mode 0600); `hookd token` reads it");
            }
            serve(settings).await
        }
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
            scheme,
            id,
            file,
        } => {
            let body = read_payload(file)?;
            let request = sign::SignRequest {
                secret: secret.as_deref(),
                source: &source,
                scheme: scheme.as_deref(),
                id: id.as_deref(),
            };
            println!("{}", sign::sign(&settings, &request, &body)?);
            Ok(())
        }
        Command::Send {
            url,
            source,
            id,
            file,
        } => {
            let body = read_payload(Some(file))?;
            let (status, answer) =
                sign::send(&settings, &url, &source, id.as_deref(), body).await?;
            println!("{status}");
            println!("{answer}");
            anyhow::ensure!(
                !status.is_client_error() && !status.is_server_error(),
                "hookd answered {status}"
            );
            Ok(())
        }
        Command::Token {
            sub,
            ttl,
            scopes,
            sources,
        } => {
            let scopes = if scopes.is_empty() {
                Scope::ALL.to_vec()
            } else {
                scopes
            };
            crate::dev_secret::ensure_jwt_secret(&mut settings)?;
            let request = TokenRequest {
                subject: &sub,
                ttl: Duration::from(ttl),
                scopes: &scopes,
                sources: (!sources.is_empty()).then_some(&sources[..]),
            };
            let token = issue_token(&jwt_settings(&settings)?, &request, chrono::Utc::now())?;
            println!("{token}");
            Ok(())
        }
    }
}

fn parse_scope(raw: &str) -> Result<Scope, String> {
    Scope::parse(raw).ok_or_else(|| {
        let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
        format!("unknown scope; one of {}", known.join(", "))
    })
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

/// 32 random bytes: hex, or a Standard Webhooks `whsec_` secret.
fn secret_value(whsec: bool) -> String {
    if whsec {
        use base64::Engine as _;
        let bytes: [u8; crate::dev_secret::SECRET_BYTES] = rand::random();
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    } else {
        crate::dev_secret::random_secret()
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
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
