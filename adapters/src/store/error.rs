//! Telling a database that is away from a query that went wrong.
//!
//! Every `DbErr` and `sqlx::Error` variant is sorted explicitly, and database
//! errors by SQLSTATE class (PostgreSQL) or result code (SQLite): a sender
//! retries a `503` but gives up on a `500`, so "the database cannot serve you
//! now" must never be guessed as "other".

use sea_orm::{
    ConnAcquireErr, DbErr, RuntimeErr,
    sqlx::{self, error::DatabaseError, postgres::PgDatabaseError, sqlite::SqliteError},
};

/// A database error, sorted by what the caller can do about it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Connection refused, lost, or not acquired in time; the server is
    /// starting, stopping, read-only after a failover or out of resources:
    /// try again later.
    Unavailable(anyhow::Error),
    Other(anyhow::Error),
}

impl Failure {
    /// The same failure again, for each caller of a batch that failed as a
    /// whole (`anyhow::Error` is not `Clone`): same kind, same message.
    pub(crate) fn for_each_caller(&self) -> Self {
        match self {
            Self::Unavailable(err) => Self::Unavailable(anyhow::anyhow!("{err:#}")),
            Self::Other(err) => Self::Other(anyhow::anyhow!("{err:#}")),
        }
    }
}

pub(crate) fn classify(err: DbErr) -> Failure {
    let unavailable = is_unavailable(&err);
    let err = anyhow::Error::new(err);
    if unavailable {
        Failure::Unavailable(err)
    } else {
        Failure::Other(err)
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            true
        }
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            RuntimeErr::SqlxError(sqlx_err) => is_sqlx_unavailable(sqlx_err),
            RuntimeErr::Internal(_) => false,
        },
        // Mistakes in a query or a mapping: retrying does not help.
        DbErr::TryIntoErr { .. }
        | DbErr::ConvertFromU64(_)
        | DbErr::UnpackInsertId
        | DbErr::UpdateGetPrimaryKey
        | DbErr::RecordNotFound(_)
        | DbErr::AttrNotSet(_)
        | DbErr::Custom(_)
        | DbErr::Type(_)
        | DbErr::Json(_)
        | DbErr::Migration(_)
        | DbErr::RecordNotInserted
        | DbErr::RecordNotUpdated
        | DbErr::BackendNotSupported { .. }
        | DbErr::KeyArityMismatch { .. }
        | DbErr::PrimaryKeyNotSet { .. }
        | DbErr::RbacError(_)
        | DbErr::AccessDenied { .. }
        | DbErr::MutexPoisonError => false,
        // `DbErr` is `#[non_exhaustive]`: a variant added by a newer SeaORM
        // is not known to be transient until it is reviewed here.
        _ => false,
    }
}

fn is_sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // The connection was in a state where BEGIN could not run (it broke mid-way).
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => is_database_unavailable(db.as_ref()),
        sqlx::Error::Configuration(_)
        | sqlx::Error::InvalidArgument(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::AnyDriverError(_)
        | sqlx::Error::Migrate(_)
        | sqlx::Error::InvalidSavePointStatement
        | sqlx::Error::ConfigFile(_) => false,
        // `sqlx::Error` is `#[non_exhaustive]`: a variant added by a newer
        // sqlx is not known to be transient. The unit test below lists every
        // variant this version has, so an upgrade is a deliberate review.
        _ => false,
    }
}

fn is_database_unavailable(db: &dyn DatabaseError) -> bool {
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        return is_unavailable_sqlstate(pg.code());
    }
    if let Some(sqlite) = db.try_downcast_ref::<SqliteError>() {
        return sqlite
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(is_unavailable_sqlite_code);
    }
    false
}

/// PostgreSQL SQLSTATEs meaning "the server cannot serve you now", not
/// "your query is wrong".
fn is_unavailable_sqlstate(code: &str) -> bool {
    let class = code.get(..2).unwrap_or_default();
    match class {
        // connection_exception
        "08" => true,
        // insufficient_resources: disk full, out of memory, too many connections.
        "53" => true,
        // operator_intervention: admin/crash shutdown, cannot connect now,
        // idle session timeout, query cancelled (statement_timeout).
        "57" => true,
        // invalid_authorization_specification: a password being rotated or a
        // pg_hba change; the request itself is fine.
        "28" => true,
        // transaction_rollback: serialization failure, deadlock. Retryable.
        "40" => true,
        // system_error (I/O error on the server).
        "58" => true,
        // 55000 object_not_in_prerequisite_state: "database is not currently
        // accepting connections" (ALLOW_CONNECTIONS false); 55P03 lock_not_available.
        "55" => matches!(code, "55000" | "55P03"),
        // 25006 read_only_sql_transaction: connected to a standby (failover).
        "25" => code == "25006",
        // 3D000: the database does not exist (yet): being restored or created.
        "3D" => true,
        _ => false,
    }
}

/// SQLite primary result codes (the low byte of an extended code) meaning the
/// file cannot be written now.
fn is_unavailable_sqlite_code(code: i32) -> bool {
    // BUSY (5) and LOCKED (6) after busy_timeout; IOERR (10); FULL (13);
    // CANTOPEN (14); PROTOCOL (15).
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14 | 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_exceptions_shutdowns_and_failovers_are_unavailable() {
        for code in [
            "08006", "08001", "08P01", "57P01", "57P02", "57P03", "57014", "53300", "53100",
            "55000", "25006", "40001", "40P01", "3D000", "28P01",
        ] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn query_errors_are_not_unavailable() {
        for code in [
            "23505", "42P01", "22001", "22021", "25001", "55006", "XX000",
        ] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn sqlite_busy_locked_and_io_errors_are_unavailable() {
        for code in [5, 6, 261, 517, 262, 10, 266, 13, 14] {
            assert!(is_unavailable_sqlite_code(code), "{code}");
        }
        for code in [1, 19, 2067, 1555, 20] {
            assert!(!is_unavailable_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        let err = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        assert!(matches!(classify(err), Failure::Unavailable(_)));
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let err = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(io)));
        assert!(matches!(classify(err), Failure::Unavailable(_)));
        assert!(matches!(
            classify(DbErr::RecordNotInserted),
            Failure::Other(_)
        ));
    }
}
