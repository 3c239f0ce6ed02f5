//! Whether the instance that holds a lease is still alive, so that a dead
//! instance's work is taken over within seconds instead of after the lease.
//!
//! - **PostgreSQL**: each instance holds a session-level advisory lock on a
//!   random key of its own, on a connection of its own (as good_job and Que
//!   do). PostgreSQL drops the lock the moment that connection dies, so a
//!   lease whose `lease_owner` key is no longer among the held advisory locks
//!   belongs to a dead instance. While this instance does not hold its lock
//!   (the connection broke), it claims nothing: the others may be taking its
//!   leases over.
//! - **SQLite**: the process holds an exclusive lock on `<database>.lock` for
//!   its lifetime, so it is the only one using the file and every lease that
//!   is not its own is stale.
//!
//! The lease itself stays as the last resort for what no liveness signal
//! sees: a process that hangs while its connection stays up.

use std::{
    fs::File,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use sea_orm::sqlx::{
    self, Connection as _,
    postgres::{PgConnectOptions, PgConnection},
};
use tokio_util::sync::CancellationToken;

/// How often the liveness connection is checked.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// This instance's key in `lease_owner`, and whether it currently proves
/// that it is alive.
#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    key: i64,
    alive: Arc<AtomicBool>,
    /// SQLite: the exclusive lock on the database's lock file, held while
    /// the store lives.
    _file_lock: Option<Arc<File>>,
}

impl Liveness {
    /// SQLite (or an in-memory database): alive for as long as the process.
    /// Waits up to `wait` for a previous holder that is exiting.
    ///
    /// # Errors
    /// When another process holds the database's lock file.
    pub(crate) async fn exclusive_file(
        database: Option<&Path>,
        wait: Duration,
    ) -> anyhow::Result<Self> {
        let file_lock = match database {
            Some(path) => {
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    match lock_exclusively(path) {
                        Ok(file) => break Some(Arc::new(file)),
                        Err(err) if tokio::time::Instant::now() >= deadline => return Err(err),
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
            None => None,
        };
        Ok(Self {
            key: random_key(),
            alive: Arc::new(AtomicBool::new(true)),
            _file_lock: file_lock,
        })
    }

    /// PostgreSQL: not alive until [`Liveness::keep`] has taken the lock.
    pub(crate) fn advisory_lock() -> Self {
        Self {
            key: random_key(),
            alive: Arc::new(AtomicBool::new(false)),
            _file_lock: None,
        }
    }

    pub(crate) fn key(&self) -> i64 {
        self.key
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// PostgreSQL: takes this instance's advisory lock and keeps it until
    /// `stop`, reconnecting (and re-locking) when the connection breaks.
    /// Returns after the first attempt to lock so that the caller can start
    /// claiming; the keeping goes on in the returned task.
    pub(crate) async fn keep(
        &self,
        url: &str,
        stop: CancellationToken,
    ) -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
        let options = url
            .parse::<PgConnectOptions>()
            .context("database.url")?
            .application_name(super::APPLICATION_NAME);
        let first = self.lock(&options).await;
        if let Err(err) = &first {
            tracing::warn!(error = %err, "cannot take the liveness lock yet; will retry (claiming nothing meanwhile)");
        }
        let liveness = self.clone();
        Ok(async move {
            let mut connection = first.ok();
            loop {
                match connection.as_mut() {
                    Some(held) => {
                        if let Err(err) = sqlx::query("SELECT 1").execute(&mut *held).await {
                            liveness.alive.store(false, Ordering::Release);
                            tracing::warn!(error = %err, "liveness connection lost: claiming nothing until it is back");
                            connection = None;
                        }
                    }
                    None => match liveness.lock(&options).await {
                        Ok(held) => {
                            tracing::info!("liveness lock taken again");
                            connection = Some(held);
                        }
                        Err(err) => {
                            tracing::debug!(error = %err, "liveness lock: still no connection")
                        }
                    },
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(CHECK_INTERVAL) => {}
                }
            }
            liveness.alive.store(false, Ordering::Release);
            if let Some(held) = connection {
                // Closing the session releases the lock.
                let _ = held.close().await;
            }
            tracing::info!("liveness lock released: stopped");
        })
    }

    async fn lock(&self, options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
        let mut connection =
            tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(options))
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(self.key)
            .execute(&mut connection)
            .await?;
        self.alive.store(true, Ordering::Release);
        Ok(connection)
    }
}

/// `lease_owner` keys of the instances alive now: the held advisory locks of
/// this database, as one `bigint` each (`classid` is the key's high half).
pub(crate) const LIVE_OWNERS: &str = "SELECT (l.classid::bigint << 32) | l.objid::bigint \
     FROM pg_locks l \
     WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted \
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

fn random_key() -> i64 {
    // Zero is avoided only to make "no owner" easy to spot by eye.
    loop {
        let key = rand::random::<i64>();
        if key != 0 {
            return key;
        }
    }
}

fn lock_exclusively(database: &Path) -> anyhow::Result<File> {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another hookd process is using {} (it holds {}); SQLite serves one process — \
             use PostgreSQL for several replicas",
            database.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("locking {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_of_the_same_sqlite_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hookd.db");
        let wait = Duration::from_millis(100);
        let first = Liveness::exclusive_file(Some(&db), wait).await.unwrap();
        let second = Liveness::exclusive_file(Some(&db), wait).await.unwrap_err();
        assert!(format!("{second:#}").contains("another hookd process"));
        drop(first);
        assert!(Liveness::exclusive_file(Some(&db), wait).await.is_ok());
    }
}
