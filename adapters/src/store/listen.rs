//! Cross-process wakeups on PostgreSQL: new events are announced with a
//! `NOTIFY`, and each replica's listener wakes one of its idle workers. The
//! poll interval stays as the fallback.

use std::{sync::Arc, time::Duration};

use sea_orm::sqlx::{
    self,
    postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions},
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The channel new-event notifications are sent on.
pub(crate) const CHANNEL: &str = "hookd_new_events";

/// Most announcements per second and process (one per this interval).
const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(10);

/// Announces committed batches of new events to the replicas: one `NOTIFY`
/// of its own, after the commits, for every batch stored meanwhile.
///
/// Not a `NOTIFY` inside each batch's insert: PostgreSQL takes a
/// database-wide lock for a transaction that notifies and holds it through
/// the commit's WAL flush, so the batch writers' commits would queue behind
/// each other one flush at a time (it was the first wait of PostgreSQL
/// intake under load).
#[derive(Debug, Clone)]
pub(crate) struct Announcer {
    pending: Arc<Notify>,
}

impl Announcer {
    /// Starts the announcing task; it ends when `stop` is cancelled.
    pub(crate) fn start(pool: PgPool, stop: CancellationToken) -> (Self, impl Future<Output = ()>) {
        let pending = Arc::new(Notify::new());
        let task = announce(pool, pending.clone(), stop);
        (Self { pending }, task)
    }

    /// New events were committed: tell the replicas soon.
    pub(crate) fn announce(&self) {
        self.pending.notify_one();
    }
}

async fn announce(pool: PgPool, pending: Arc<Notify>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = pending.notified() => {}
            () = stop.cancelled() => return,
        }
        if let Err(err) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await
        {
            // Replicas find the events by polling meanwhile.
            tracing::debug!(error = %err, "could not announce new events");
        }
        // Batches committed meanwhile are announced by the next one.
        tokio::time::sleep(ANNOUNCE_INTERVAL).await;
    }
}

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
