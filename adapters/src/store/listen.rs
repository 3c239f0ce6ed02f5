//! Cross-process wakeups on PostgreSQL: every batch of new events sends a
//! `NOTIFY` (delivered at commit), and each replica's listener wakes one of
//! its idle workers. The poll interval stays as the fallback.

use std::{sync::Arc, time::Duration};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The channel new-event notifications are sent on.
pub(crate) const CHANNEL: &str = "hookd_new_events";

/// Listens until `shutdown`, reconnecting after failures.
pub(crate) async fn listen(url: String, new_work: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        match subscribe(&url).await {
            Ok(mut listener) => loop {
                tokio::select! {
                    () = shutdown.cancelled() => {
                        tracing::info!("notification listener stopped: shutdown requested");
                        return;
                    }
                    received = listener.recv() => match received {
                        Ok(_) => new_work.notify_one(),
                        Err(err) => {
                            tracing::warn!(error = %err, "notification listener lost its connection; reconnecting");
                            break;
                        }
                    },
                }
            },
            Err(err) => tracing::warn!(error = %err, "cannot LISTEN for new events; retrying"),
        }
        // Events stored meanwhile are found by the workers' poll.
        tokio::select! {
            () = shutdown.cancelled() => {
                tracing::info!("notification listener stopped: shutdown requested");
                return;
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn subscribe(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options = url
        .parse::<PgConnectOptions>()?
        .application_name(super::APPLICATION_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
