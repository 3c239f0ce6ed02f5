//! Events per (source, secret label), from the events table itself, so the
//! numbers hold across restarts and replicas.

use application::ports::{QueryError, SecretUsage, SecretUse};
use async_trait::async_trait;
use sea_orm::{
    EntityTrait, QuerySelect,
    sea_query::{Expr, ExprTrait as _, Func, SimpleExpr},
};

use super::{
    SeaOrmStore,
    entity::events,
    error::{Failure, classify},
    time::from_micros,
};

#[async_trait]
impl SecretUsage for SeaOrmStore {
    async fn usage(&self) -> Result<Vec<SecretUse>, QueryError> {
        let conflicts = Expr::case(Expr::col(events::Column::Conflict).eq(true), 1).finally(0);
        let rows: Vec<(String, Option<String>, i64, i64, i64)> = events::Entity::find()
            .select_only()
            .column(events::Column::Source)
            .column(events::Column::SecretLabel)
            .column_as(
                SimpleExpr::from(Func::count(Expr::col(events::Column::Id))),
                "events",
            )
            .column_as(SimpleExpr::from(Func::sum(conflicts)), "conflicts")
            .column_as(
                SimpleExpr::from(Func::max(Expr::col(events::Column::ReceivedAt))),
                "last",
            )
            .group_by(events::Column::Source)
            .group_by(events::Column::SecretLabel)
            .into_tuple()
            .all(&self.reader)
            .await
            .map_err(|err| match classify(err) {
                Failure::Unavailable(err) => QueryError::Unavailable(err),
                Failure::Other(err) => QueryError::Unknown(err),
            })?;
        Ok(rows
            .into_iter()
            .map(|(source, label, events, conflicts, last)| SecretUse {
                source,
                label,
                events: u64::try_from(events).unwrap_or(0),
                conflicts: u64::try_from(conflicts).unwrap_or(0),
                last_received_at: from_micros(last),
            })
            .collect())
    }
}
