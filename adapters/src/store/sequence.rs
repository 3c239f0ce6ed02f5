//! SQLite's queue positions (`seq`): one writer connection in one process
//! (the database is locked to it, see `liveness`), so a counter seeded from
//! the table once hands out positions in commit order. PostgreSQL takes them
//! from the `events_seq` sequence instead.

use std::sync::atomic::{AtomicI64, Ordering};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use tokio::sync::OnceCell;

#[derive(Debug, Default)]
pub(crate) struct Sequence {
    next: OnceCell<AtomicI64>,
}

impl Sequence {
    /// Reserves `count` consecutive positions and returns the first.
    pub(crate) async fn reserve(
        &self,
        db: &DatabaseConnection,
        count: usize,
    ) -> Result<i64, DbErr> {
        let next = self
            .next
            .get_or_try_init(|| async {
                let row = db
                    .query_one_raw(Statement::from_string(
                        db.get_database_backend(),
                        "SELECT COALESCE(MAX(seq), 0) + 1 FROM events",
                    ))
                    .await?;
                let first = match row {
                    Some(row) => row.try_get_by_index::<i64>(0)?,
                    None => 1,
                };
                Ok::<_, DbErr>(AtomicI64::new(first))
            })
            .await?;
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        Ok(next.fetch_add(count, Ordering::Relaxed))
    }
}
