//! A fresh database per test, so tests run in parallel without sharing state.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new empty database, or `None` when PostgreSQL is not configured
    /// (`TEST_DATABASE_URL`). With `HOOKD_TEST_REQUIRE_POSTGRES=1` (as in CI)
    /// a missing PostgreSQL fails the test instead of skipping it.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/hookd.db?mode=rwc", dir.path().display());
                Some(Self {
                    backend,
                    url,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var_os("HOOKD_TEST_REQUIRE_POSTGRES").is_none(),
                        "HOOKD_TEST_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
                    );
                    eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL case");
                    return None;
                };
                let name = format!("hookd_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                // Same server and options (e.g. `?sslmode=disable`), another database.
                let (address, options) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
                let (base, _) = address.rsplit_once('/').unwrap();
                let url = if options.is_empty() {
                    format!("{base}/{name}")
                } else {
                    format!("{base}/{name}?{options}")
                };
                Some(Self {
                    backend,
                    url,
                    _dir: None,
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }

    /// A connection of the test's own, for looking at stored rows.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(&self.url).await.unwrap()
    }

    /// PostgreSQL: a connection to the server's maintenance database and this
    /// test database's name, for `ALTER DATABASE` and `pg_terminate_backend`.
    pub async fn admin(&self) -> Option<(DatabaseConnection, &str)> {
        let (admin_url, name) = self.postgres.as_ref()?;
        Some((Database::connect(admin_url).await.unwrap(), name.as_str()))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we could borrow: use a
        // short-lived runtime on its own thread.
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin.execute_unprepared(&statement).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {name}");
        }
    }
}

/// Runs a query returning one integer, e.g. a `COUNT(*)`.
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Waits (up to `timeout`) until `sql` returns `expected`.
pub async fn wait_for(db: &DatabaseConnection, sql: &str, expected: i64, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got = scalar(db, sql).await;
        if got == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {timeout:?} for `{sql}` = {expected}, still {got}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
