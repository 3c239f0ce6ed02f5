//! End-to-end tests of hookd: each case runs against SQLite and, when
//! `TEST_DATABASE_URL` is set, against PostgreSQL.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

/// Declares each listed `async fn case(backend: Backend)` once per backend:
/// `sqlite::case` and `postgres::case`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(hookd_tests::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(hookd_tests::Backend::Postgres).await;
                }
            )*
        }
    };
}

mod attacks;
mod counters;
mod dashboard;
mod destinations;
mod efficiency;
mod engine;
mod error_shape;
mod faults;
mod forward;
mod hardening;
mod health;
mod hostile;
mod ingest;
mod listing;
mod metrics;
mod migrations;
mod processing;
mod quarantine;
mod retention;
mod scopes;
mod sources;
mod stats;
mod ui;
