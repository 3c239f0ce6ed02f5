//! Wiring: one `build` that `main` and the tests both use.

use std::{collections::HashMap, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use adapters::{
    auth::JwtVerifier,
    handlers::Metered,
    http::{self, AppState, BodyBudget, HttpSettings, MetricsEndpoint},
    observability::{self, IntakeMetrics},
    retention::{run_event_retention, run_rejection_retention},
    store::{IngestSettings, RejectionWriter, SeaOrmStore, StatementObserver, StoreSettings},
    worker::{run_recovery, run_worker},
};
use anyhow::Context as _;
use application::{
    EventStatistics, ListEvents, ListRejections, Processor, ReceiveWebhook, RecoverLostLeases,
    ReplayEvents, RetentionPolicy, SourceOverview, SweepFinishedEvents,
    ports::{Clock, EventHandler, SystemClock},
    quarantine::Quarantine,
};
use migration::{Migrator, MigratorTrait};
use secrecy::ExposeSecret;
use tokio::{
    net::TcpListener,
    sync::Notify,
    task::{JoinHandle, JoinSet},
};
use tokio_util::sync::CancellationToken;

mod parts;

pub use self::parts::jwt_settings;
use self::parts::{
    configured_handlers, destinations, instance_id, intake_limits, processor_settings,
};
use crate::{
    settings::{Ordering, Settings},
    sources,
};

/// Rejections buffered for the quarantine writer before new ones are dropped.
const QUARANTINE_BUFFER: usize = 1024;
/// How often the queue gauges of `GET /metrics` are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_secs(5);
/// How often lost attempts (dead workers' leases) are looked for.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// How often rejections past their retention are deleted.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// Replaceable parts, for embedding hookd with your own handler (and for tests).
#[derive(Default)]
pub struct Overrides {
    /// Runs instead of the configured handlers, for every source.
    pub handler: Option<Arc<dyn EventHandler>>,
    /// Runs instead of the configured handler of each named source.
    pub handlers: HashMap<String, Arc<dyn EventHandler>>,
    pub clock: Option<Arc<dyn Clock>>,
    /// Sees every statement the store runs (the efficiency guard counts them).
    pub statements: Option<StatementObserver>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("handler", &self.handler.is_some())
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("clock", &self.clock.is_some())
            .field("statements", &self.statements.is_some())
            .finish()
    }
}

/// A built, listening hookd. Nothing is served until [`Application::run_until_stopped`].
pub struct Application {
    local_addr: SocketAddr,
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    workers: JoinSet<()>,
    shutdown: CancellationToken,
    /// Cancelled when the grace period is over: in-flight events are released.
    abort: CancellationToken,
    grace: Duration,
    /// PostgreSQL: keeps this instance's liveness lock; stopped last, after
    /// the workers have settled or released what they held.
    liveness: Option<(JoinHandle<()>, CancellationToken)>,
    /// Its background writers are stopped once the HTTP server has drained.
    store: Arc<SeaOrmStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Connects the store (migrating it unless `database.auto_migrate = false`),
/// binds `server.bind` and starts the workers.
///
/// # Errors
/// When the database cannot be opened or migrated, the address cannot be
/// bound, or the configuration cannot be turned into sources and keys.
pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
    build_with(settings, Overrides::default()).await
}

/// [`build`] with some parts replaced.
///
/// # Errors
/// As [`build`].
pub async fn build_with(settings: &Settings, overrides: Overrides) -> anyhow::Result<Application> {
    adapters::tls::ensure_crypto_provider();
    // Embedders that load settings themselves get the development secret too.
    let mut settings = settings.clone();
    crate::dev_secret::ensure_jwt_secret(&mut settings)?;
    let settings = &settings;
    let store = Arc::new(connect_store_observed(settings, overrides.statements.clone()).await?);
    if settings.database.auto_migrate {
        migrate(&store).await?;
    }
    let configured_sources: Vec<String> = settings.sources.keys().cloned().collect();
    warn_about_unconfigured_sources(&store, &configured_sources).await;
    let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let new_work = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let abort = CancellationToken::new();

    let sources = sources::from_settings(settings)?;
    let intake = intake_limits(settings, &sources);
    // Before any counter is registered, or it would count nowhere.
    let metrics_handle = observability::install();
    let intake_metrics = IntakeMetrics::new(sources.iter().map(|source| source.name.as_str()))
        .with_secret_labels(sources.iter().flat_map(|source| {
            source
                .secrets
                .iter()
                .map(|secret| (source.name.as_str(), secret.label()))
        }));
    let quarantine = Quarantine::new(
        Arc::new(RejectionWriter::start(&store, QUARANTINE_BUFFER)),
        settings.quarantine.per_source_per_minute,
    );
    let receive = ReceiveWebhook::new(
        sources.clone(),
        store.clone(),
        clock.clone(),
        new_work.clone(),
    )
    .with_quarantine(quarantine)
    .with_max_signature_candidates(settings.server.max_signature_candidates);
    let destinations = Arc::new(destinations(settings));
    let state = AppState {
        receive: Arc::new(receive),
        events: Arc::new(ListEvents::new(store.clone())),
        replay: Arc::new(ReplayEvents::new(
            store.clone(),
            clock.clone(),
            new_work.clone(),
        )),
        tokens: Arc::new(JwtVerifier::new(&jwt_settings(settings)?).context("auth: the JWT key")?),
        store: store.clone(),
        rejections: Arc::new(ListRejections::new(store.clone())),
        sources: Arc::new(SourceOverview::new(sources, store.clone(), clock.clone())),
        stats: Arc::new(
            EventStatistics::new(store.clone(), clock.clone())
                .with_configured_sources(configured_sources.clone()),
        ),
        intake: Arc::new(intake),
        body_budget: BodyBudget::new(settings.server.max_inflight_body_bytes),
        metrics: Arc::new(MetricsEndpoint {
            handle: metrics_handle,
            token: settings
                .metrics
                .token
                .as_ref()
                .map(|token| token.expose_secret().to_owned()),
        }),
        intake_metrics: Arc::new(intake_metrics),
        destinations: destinations.clone(),
    };
    let router = http::router(
        state,
        HttpSettings {
            max_body_bytes: settings.server.max_body_bytes,
            request_timeout: Duration::from_secs(settings.server.request_timeout_seconds),
            max_concurrent_requests: settings.server.max_concurrent_requests,
            ui: settings.ui.enabled,
        },
    );

    let handler: Arc<dyn EventHandler> = Arc::new(Metered(match overrides.handler {
        Some(handler) => handler,
        None => configured_handlers(settings, overrides.handlers)?,
    }));
    let processing = &settings.processing;
    let mut workers = JoinSet::new();
    let mut liveness = None;
    if processing.workers > 0 {
        // Before the first claim: a lease is only as good as its owner's
        // proof of life.
        let stop = CancellationToken::new();
        if let Some(keeper) = store.keep_alive(stop.clone()).await? {
            liveness = Some((tokio::spawn(keeper), stop));
        }
        if let Some(listener) = store.new_event_listener(new_work.clone(), shutdown.clone()) {
            workers.spawn(listener);
        }
        workers.spawn(run_recovery(
            RecoverLostLeases::new(
                store.clone(),
                clock.clone(),
                processor_settings(settings).retry,
            ),
            new_work.clone(),
            RECOVERY_INTERVAL,
            shutdown.clone(),
        ));
    }
    let instance = instance_id();
    if processing.workers > 0 && processing.claim_at_intake {
        store.hand_off_new_events(
            processing.workers * processing.batch_size as usize,
            Duration::from_secs(processing.lease_seconds),
            &format!("{instance}/intake"),
        );
    }
    for n in 0..processing.workers {
        let processor = Processor::new(
            format!("{instance}/{n}"),
            store.clone(),
            handler.clone(),
            clock.clone(),
            processor_settings(settings),
        )
        .with_destinations(destinations.clone());
        workers.spawn(run_worker(
            processor,
            new_work.clone(),
            Duration::from_millis(processing.poll_interval_ms),
            shutdown.clone(),
            abort.clone(),
        ));
    }

    workers.spawn(observability::run_gauge_refresh(
        store.clone(),
        clock.clone(),
        configured_sources,
        GAUGE_INTERVAL,
        shutdown.clone(),
    ));
    workers.spawn(run_rejection_retention(
        store.clone(),
        clock.clone(),
        Duration::from_secs(u64::from(settings.quarantine.retention_days) * 86_400),
        RETENTION_INTERVAL,
        shutdown.clone(),
    ));
    let policy = RetentionPolicy {
        processed: settings.retention.processed,
        dead: settings.retention.dead,
    };
    if policy.is_active() {
        workers.spawn(run_event_retention(
            SweepFinishedEvents::new(store.clone(), clock.clone(), policy),
            settings.retention.sweep_interval,
            shutdown.clone(),
        ));
    }

    let listener = TcpListener::bind(settings.server.bind)
        .await
        .with_context(|| format!("binding server.bind = {}", settings.server.bind))?;
    let local_addr = listener.local_addr()?;
    Ok(Application {
        local_addr,
        listener,
        router,
        header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_seconds),
        workers,
        shutdown,
        abort,
        grace: Duration::from_secs(processing.shutdown_grace_seconds),
        liveness,
        store,
        clock,
    })
}

/// Says which sources have unfinished events but no configuration: those
/// events wait (they are not claimed) until the source is configured again.
async fn warn_about_unconfigured_sources(store: &SeaOrmStore, configured: &[String]) {
    use application::ports::EventStats as _;
    match store.queue_gauges().await {
        Ok(gauges) => {
            let waiting: Vec<_> = gauges
                .waiting_by_source
                .iter()
                .filter(|(source, _)| !configured.contains(source))
                .collect();
            if !waiting.is_empty() {
                tracing::warn!(
                    sources = ?waiting,
                    "stored events of sources that are not configured are not processed; \
                     configure the sources again (or replay them elsewhere) to process them"
                );
            }
        }
        Err(err) => tracing::debug!(error = %err, "could not look for unconfigured sources"),
    }
}

impl Application {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Cancel it to stop: the server stops accepting, workers stop claiming.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops within
    /// `processing.shutdown_grace_seconds`: the listener closes at once; open
    /// HTTP requests and in-flight events are drained together; when the
    /// grace period is nearly over, lingering connections are closed and
    /// unfinished events released for other replicas (a share of the grace
    /// period is kept for that), and it returns.
    ///
    /// # Errors
    /// None today: accept errors are logged and retried; the `Result` is
    /// kept for callers.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            header_read_timeout,
            mut workers,
            shutdown,
            abort,
            grace,
            liveness,
            store,
            clock,
            ..
        } = self;
        let close_connections = CancellationToken::new();
        let mut server = tokio::spawn(crate::serve::serve(
            listener,
            router,
            header_read_timeout,
            shutdown.clone(),
            close_connections.clone(),
        ));
        tokio::select! {
            () = shutdown.cancelled() => {}
            finished = &mut server => {
                tracing::error!(result = ?finished, "HTTP server ended on its own; shutting down");
                shutdown.cancel();
            }
        }
        let deadline = tokio::time::Instant::now() + grace;
        // Kept for releasing unfinished events and closing connections.
        let release = (grace / 4).min(Duration::from_secs(3));
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "shutting down: draining requests and in-flight events"
        );

        let drained =
            tokio::time::timeout_at(deadline - release, drain(&mut server, &store, &mut workers));
        if drained.await.is_err() {
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                "requests or events did not finish within the grace period; closing connections and releasing events"
            );
            close_connections.cancel();
            abort.cancel();
            let stopped =
                tokio::time::timeout_at(deadline, drain(&mut server, &store, &mut workers)).await;
            if stopped.is_err() {
                tracing::warn!("tasks did not stop in time; their leases will expire");
                server.abort();
                workers.shutdown().await;
            }
        }
        // Events claimed at intake that no worker took go back to the queue
        // (while this instance still holds its leases).
        match store.give_back_handed_off(clock.now()).await {
            Ok(0) => {}
            Ok(given) => tracing::info!(given, "gave back events claimed at intake"),
            Err(err) => tracing::warn!(error = %format!("{err:#}"),
                "could not give back events claimed at intake; they will be recovered"),
        }
        if let Some((keeper, stop)) = liveness {
            stop.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(1), keeper).await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Waits for the HTTP server and the workers to finish, together; once the
/// server has, nothing submits events or rejections any more, so the store's
/// writers are stopped too.
async fn drain(server: &mut JoinHandle<()>, store: &SeaOrmStore, workers: &mut JoinSet<()>) {
    let http = async {
        if !server.is_finished() {
            log_task_end("HTTP server", server.await);
        }
        store.stop_writers().await;
    };
    tokio::join!(http, join_all(workers));
}

/// Waits for every background task, logging how each ended (a panic too).
async fn join_all(tasks: &mut JoinSet<()>) {
    while let Some(ended) = tasks.join_next().await {
        log_task_end("background task", ended);
    }
}

fn log_task_end(what: &str, ended: Result<(), tokio::task::JoinError>) {
    match ended {
        Ok(()) => tracing::debug!(task = what, "task ended"),
        Err(err) if err.is_panic() => tracing::error!(task = what, error = %err, "task panicked"),
        Err(err) => tracing::warn!(task = what, error = %err, "task was cancelled"),
    }
}

/// Applies pending migrations.
///
/// # Errors
/// When the database cannot be reached or a migration fails.
pub async fn migrate(store: &SeaOrmStore) -> anyhow::Result<()> {
    use migration::sea_orm::{ConnectionTrait as _, DbBackend, TransactionTrait as _};
    let db = store.connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None)
            .await
            .context("applying database migrations");
    }
    // Replicas starting together: one migrates while the others wait on this
    // lock (held by a transaction on one pooled connection), then find the
    // migrations applied.
    let lock = db.begin().await.context("locking for migrations")?;
    lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await
        .context("locking for migrations")?;
    Migrator::up(db, None)
        .await
        .context("applying database migrations")?;
    lock.commit().await.context("unlocking after migrations")
}

/// Advisory lock key that serialises migrations across replicas ("hookdmig").
const MIGRATION_LOCK: i64 = 0x686f_6f6b_646d_6967;

/// Opens the configured database (creating a SQLite file's directory).
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect_store(settings: &Settings) -> anyhow::Result<SeaOrmStore> {
    connect_store_observed(settings, None).await
}

/// [`connect_store`] with an observer of every statement.
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect_store_observed(
    settings: &Settings,
    observer: Option<StatementObserver>,
) -> anyhow::Result<SeaOrmStore> {
    let url = settings.database.url.expose_secret();
    ensure_sqlite_directory(url)?;
    let store_settings = StoreSettings {
        url: url.to_owned(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_seconds),
        // Without migrations to run, start even if the database is down:
        // /readyz says 503 and requests get 503 until it is back.
        connect_lazy: !settings.database.auto_migrate,
        ingest: IngestSettings::default(),
        fifo_sources: settings
            .sources
            .iter()
            .filter(|(_, source)| source.ordering == Ordering::Fifo)
            .map(|(name, _)| name.clone())
            .collect(),
        claimable_sources: settings.sources.keys().cloned().collect(),
        observer,
    };
    SeaOrmStore::connect(&store_settings).await
}

/// The file of a SQLite URL, or `None` for other databases and `:memory:`.
pub(crate) fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// Creates a SQLite database's directory (0700) and, when the URL may
/// create it (`mode=rwc`), the file itself with mode 0600: it holds every
/// payload, so other users of the machine must not read it. SQLite gives
/// its `-wal` and `-shm` files the database file's permissions.
fn ensure_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    if url.contains("mode=rwc") {
        match crate::dev_secret::private_file(path) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(err).with_context(|| format!("creating {}", path.display()));
            }
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents; new ones are private to the owner.
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating the directory {}", dir.display()))
}
