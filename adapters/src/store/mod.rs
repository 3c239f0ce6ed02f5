//! The SeaORM store: one adapter for PostgreSQL and SQLite that implements
//! the `EventStore`, `EventQueue` and `EventQuery` ports.
//!
//! Writes of new events go through a group-commit batcher ([`ingest`]): many
//! concurrent inserts share one transaction and one fsync. On SQLite every
//! write uses a single writer connection (no "database is locked"), reads use
//! a separate pool; on PostgreSQL both are the same pool.

mod arrays;
mod counters;
mod entity;
mod error;
mod handoff;
mod ingest;
mod listen;
mod listing;
mod liveness;
mod query;
mod queue;
mod recovery;
mod rejections;
mod replay;
mod retention;
mod sequence;
mod settle;
mod stats;
mod time;
mod usage;
mod writers;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

pub use self::ingest::IngestSettings;
pub use self::rejections::RejectionWriter;
use self::{
    handoff::Handoff,
    ingest::{Batcher, QueueOrder},
    liveness::Liveness,
    sequence::Sequence,
    settle::Settler,
    writers::Writers,
};

/// How long a starting process waits for the SQLite database's previous
/// holder to exit (an orchestrator may overlap a restart).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// PostgreSQL's `statement_timeout` for hookd's connections.
const STATEMENT_TIMEOUT: &str = "30s";
/// The client-side bound on one queue operation: a database that stops
/// answering (a black-holed connection sends no error) must not hang a
/// worker; the operation fails as "unavailable" and is tried again.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(35);

/// `application_name` of hookd's PostgreSQL connections.
pub const APPLICATION_NAME: &str = "hookd";

/// Sees the SQL of every statement the store's connections run (the
/// efficiency guard counts statements per event with it); `None` in production.
#[derive(Clone)]
pub struct StatementObserver(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for StatementObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatementObserver")
    }
}

/// Installs `observer` on a connection; before it is cloned, since clones
/// keep the callback they were made with.
fn observe(connection: &mut DatabaseConnection, observer: Option<&StatementObserver>) {
    if let Some(StatementObserver(observer)) = observer {
        let observer = observer.clone();
        connection.set_metric_callback(move |info| observer(&info.statement.sql));
    }
}

/// What the store needs to know to connect.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub url: String,
    /// Connections to PostgreSQL, or readers beside the one SQLite writer.
    pub max_connections: u32,
    /// How long to wait for a connection before answering "unavailable".
    pub acquire_timeout: Duration,
    /// Start without a connection (the database may come up later).
    pub connect_lazy: bool,
    pub ingest: IngestSettings,
    /// Sources whose events are processed one at a time, in arrival order.
    pub fifo_sources: Vec<String>,
    /// The sources whose events this instance processes (the configured
    /// ones): events of any other source wait, visible, in the queue.
    pub claimable_sources: Vec<String>,
    pub observer: Option<StatementObserver>,
}

/// The store. Cheap to clone; clones share connections and the batcher.
#[derive(Clone)]
pub struct SeaOrmStore {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    batcher: Arc<Batcher>,
    /// Group commit for attempt outcomes.
    settler: Arc<Settler>,
    writers: Arc<Writers>,
    acquire_timeout: Duration,
    fifo_sources: Arc<[String]>,
    claimable_sources: Arc<[String]>,
    url: Arc<str>,
    liveness: Liveness,
    /// SQLite: the next queue position (`seq`); PostgreSQL uses a sequence.
    sequence: Arc<Sequence>,
    /// New events claimed at intake, waiting for this process's workers.
    handoff: Arc<Handoff>,
}

impl std::fmt::Debug for SeaOrmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmStore")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl SeaOrmStore {
    /// Connects (or prepares to, when lazy) and starts the write batcher.
    ///
    /// # Errors
    /// When the URL is not a PostgreSQL or SQLite URL, or an eager connection fails.
    pub async fn connect(settings: &StoreSettings) -> anyhow::Result<Self> {
        let (writer, reader, liveness) = if settings.url.starts_with("sqlite:") {
            // Before opening: a second process must not touch the file.
            let liveness =
                Liveness::exclusive_file(sqlite_path(&settings.url).as_deref(), LOCK_WAIT).await?;
            let (writer, reader) = connect_sqlite(settings).await?;
            (writer, reader, liveness)
        } else if settings.url.starts_with("postgres:") || settings.url.starts_with("postgresql:") {
            let mut pool = Database::connect(options(settings, settings.max_connections))
                .await
                .context("connecting to PostgreSQL")?;
            observe(&mut pool, settings.observer.as_ref());
            (pool.clone(), pool, Liveness::advisory_lock())
        } else {
            anyhow::bail!("database.url must start with postgres:// or sqlite:");
        };
        let sequence = Arc::new(Sequence::default());
        let fifo_sources: Arc<[String]> = settings.fifo_sources.clone().into();
        let writers = Arc::new(Writers::default());
        let claimable_sources: Arc<[String]> = settings.claimable_sources.clone().into();
        let handoff = Arc::new(Handoff::default());
        let batcher = Arc::new(Batcher::start(
            writer.clone(),
            settings.ingest,
            QueueOrder {
                sequence: sequence.clone(),
                fifo_sources: fifo_sources.clone(),
                claimable_sources: claimable_sources.clone(),
                handoff: handoff.clone(),
                liveness: liveness.clone(),
            },
            settings.observer.clone(),
            &writers,
        ));
        let settler = Arc::new(Settler::start(writer.clone()));
        Ok(Self {
            writer,
            reader,
            batcher,
            settler,
            writers,
            acquire_timeout: settings.acquire_timeout,
            fifo_sources,
            claimable_sources,
            url: settings.url.as_str().into(),
            liveness,
            sequence,
            handoff,
        })
    }

    /// The connection that migrations and writes use.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.writer
    }

    pub fn backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }
}

/// The file of a `sqlite:` URL; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    let in_memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

fn options(settings: &StoreSettings, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout)
        .connect_lazy(settings.connect_lazy)
        // Statements are traced by our own spans; sqlx's per-statement logs
        // cost more than the statements on the hot path.
        .sqlx_logging(false)
        // Operators (and tests) can tell hookd's connections in pg_stat_activity.
        .set_application_name(APPLICATION_NAME)
        .map_sqlx_postgres_opts(|opts| {
            opts.options([
                // No statement of hookd's runs long: one that does is stuck
                // (a lock, a dying server) and should fail as "unavailable".
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("idle_in_transaction_session_timeout", "60s"),
                // The server notices a vanished hookd within ~25 s.
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
            ])
        })
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                // FULL: a 202 means the event survives a power cut.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    options
}

async fn connect_sqlite(
    settings: &StoreSettings,
) -> anyhow::Result<(DatabaseConnection, DatabaseConnection)> {
    let in_memory = settings.url.contains(":memory:") || settings.url.contains("mode=memory");
    let mut writer_options = options(settings, 1);
    if in_memory {
        // An in-memory database lives as long as its one connection.
        writer_options
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let mut writer = Database::connect(writer_options)
        .await
        .context("opening the SQLite database")?;
    observe(&mut writer, settings.observer.as_ref());
    if in_memory {
        return Ok((writer.clone(), writer));
    }
    let mut reader = Database::connect(options(settings, settings.max_connections.max(1)))
        .await
        .context("opening the SQLite database for reading")?;
    observe(&mut reader, settings.observer.as_ref());
    Ok((writer, reader))
}

impl SeaOrmStore {
    /// On PostgreSQL, a task to run that wakes `new_work` whenever any
    /// replica stores new events, until `shutdown`; `None` on SQLite (whose
    /// writers are all in this process).
    pub fn new_event_listener(
        &self,
        new_work: Arc<tokio::sync::Notify>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        (self.backend() == DbBackend::Postgres)
            .then(|| listen::listen(self.url.to_string(), new_work, shutdown))
    }

    /// PostgreSQL: takes this instance's liveness lock (see [`liveness`]) and
    /// returns the task that keeps it until `stop`; run it for as long as
    /// workers may hold leases. `None` on SQLite, whose lock is the file's.
    ///
    /// # Errors
    /// When the database URL cannot be parsed.
    pub async fn keep_alive(
        &self,
        stop: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<Option<impl Future<Output = ()> + Send + 'static>> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        Ok(Some(self.liveness.keep(&self.url, stop).await?))
    }

    /// Claims new events at intake for this process's workers (see
    /// [`handoff`]): up to `capacity` (their slots) wait for a claim, leased
    /// for `lease` to `holder` (`leased_by`). Off until called.
    pub fn hand_off_new_events(&self, capacity: usize, lease: Duration, holder: &str) {
        self.handoff.enable(capacity, lease, holder);
    }

    /// Stops handing off, and gives the events that were handed off but not
    /// taken by a worker (and those of intake batches that failed) back to
    /// the queue, uncharged. Call it when the workers have stopped.
    ///
    /// # Errors
    /// When the database cannot record it; the leases then expire and the
    /// events are recovered as lost attempts.
    pub async fn give_back_handed_off(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, application::ports::QueueError> {
        self.give_back(&self.handoff.close(), now).await
    }

    /// Gives handed-off events back to the queue, uncharged and due `now`,
    /// as an attempt whose destination was paused is (a `Deferred` outcome).
    async fn give_back(
        &self,
        events: &[handoff::Untried],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, application::ports::QueueError> {
        use application::ports::{AttemptResult, EventQueue as _, Settlement};
        if events.is_empty() {
            return Ok(0);
        }
        let untried = events
            .iter()
            .map(|event| Settlement {
                key: event.key,
                lease: event.lease,
                // Claims at intake are first attempts.
                attempt: 1,
                started_at: now,
                finished_at: now,
                result: AttemptResult::Deferred { until: now },
            })
            .collect();
        self.settle("intake", untried).await
    }

    /// Stops the background writers (ingest batches, quarantine) once nothing
    /// will submit to them any more — after the HTTP server has drained: each
    /// writes what is queued and exits, and each exit is logged.
    pub async fn stop_writers(&self) {
        self.writers.stop().await;
    }

    async fn ping_database(&self) -> Result<(), error::Failure> {
        self.reader
            .execute_unprepared("SELECT 1")
            .await
            .map(drop)
            .map_err(error::classify)
    }
}
