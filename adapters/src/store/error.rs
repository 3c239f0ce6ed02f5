//! Telling a database that is away from a query that went wrong.

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// A database error, sorted by what the caller can do about it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Connection refused, lost, or not acquired in time: try again later.
    Unavailable(anyhow::Error),
    Other(anyhow::Error),
}

pub(crate) fn classify(err: DbErr) -> Failure {
    let unavailable = match &err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => {
            is_connection_problem(runtime)
        }
        _ => false,
    };
    let err = anyhow::Error::new(err);
    if unavailable {
        Failure::Unavailable(err)
    } else {
        Failure::Other(err)
    }
}

fn is_connection_problem(runtime: &RuntimeErr) -> bool {
    let RuntimeErr::SqlxError(sqlx_err) = runtime else {
        return false;
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_sqlstate(&code)),
        _ => false,
    }
}

/// SQLSTATE codes meaning "the server cannot serve you now", not "your query is wrong".
fn is_unavailable_sqlstate(code: &str) -> bool {
    // 08xxx connection exception; 57P01..57P03 admin/crash shutdown, cannot
    // connect now; 53300 too many connections.
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) after busy_timeout.
        || matches!(code, "5" | "6" | "517" | "261" | "262")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_exceptions_and_shutdowns_are_unavailable() {
        for code in ["08006", "08001", "57P01", "53300", "5"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn query_errors_are_not_unavailable() {
        for code in ["23505", "42P01", "22001"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_pool_timeout_is_unavailable() {
        let err = DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        assert!(matches!(classify(err), Failure::Unavailable(_)));
        assert!(matches!(
            classify(DbErr::RecordNotInserted),
            Failure::Other(_)
        ));
    }
}
