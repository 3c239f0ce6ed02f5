//! Finding attempts whose worker vanished, and settling them: the history
//! gets a `lost` row, the event is retried or moved to `dead`.

use application::ports::{AttemptResult, LeaseToken, LostLease, LostSettlement};
use chrono::{DateTime, Utc};
use domain::{EventKey, EventStatus};
use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, TransactionTrait,
    sea_query::{Expr, ExprTrait, Order, Query},
};
use uuid::Uuid;

use super::{
    SeaOrmStore,
    entity::{event_attempts, events},
    liveness::LIVE_OWNERS,
    settle::truncate,
    time::{from_micros, to_micros},
};

/// The lost attempts, oldest lease first.
pub(super) async fn lost_leases(
    store: &SeaOrmStore,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<LostLease>, DbErr> {
    let own = store.liveness.key();
    // Literal status term: both databases then use `events_leased`.
    let owner_gone = match store.backend() {
        // Another instance's lease whose liveness lock is gone. This
        // instance's own leases are left to their expiry: it is running.
        DbBackend::Postgres => format!(
            "(lease_owner IS NOT NULL AND lease_owner <> {own} AND lease_owner NOT IN ({LIVE_OWNERS}))"
        ),
        // This process holds the database exclusively: every lease that is
        // not its own is left over from a process that is gone.
        _ => format!("(lease_owner IS NULL OR lease_owner <> {own})"),
    };
    let select = Query::select()
        .columns([
            events::Column::Id,
            events::Column::LeaseToken,
            events::Column::Attempts,
            events::Column::LeasedBy,
            events::Column::ClaimedAt,
        ])
        .from(events::Entity)
        .and_where(Expr::cust("status = 'processing'"))
        .and_where(
            Expr::col(events::Column::NextAttemptAt)
                .lte(to_micros(now))
                .or(Expr::cust(owner_gone)),
        )
        .order_by(events::Column::NextAttemptAt, Order::Asc)
        .limit(u64::from(limit))
        .to_owned();
    let rows = store.writer.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let attempts: i32 = row.try_get("", "attempts")?;
            let lease: Option<Uuid> = row.try_get("", "lease_token")?;
            let claimed_at: Option<i64> = row.try_get("", "claimed_at")?;
            let worker: Option<String> = row.try_get("", "leased_by")?;
            Ok(LostLease {
                key: EventKey::from_uuid(row.try_get("", "id")?),
                lease: LeaseToken::from_uuid(lease.unwrap_or_default()),
                attempt: u32::try_from(attempts).unwrap_or(0),
                worker: worker.unwrap_or_else(|| "unknown".to_owned()),
                started_at: claimed_at.map_or(now, from_micros),
            })
        })
        .collect()
}

/// Applies each lost attempt's result while its lease still holds, and
/// records the attempt as `lost`; one transaction.
pub(super) async fn settle_lost(
    db: &DatabaseConnection,
    lost: Vec<LostSettlement>,
) -> Result<usize, DbErr> {
    if lost.is_empty() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let mut history = Vec::with_capacity(lost.len());
    for settlement in &lost {
        let mut update = Query::update();
        update
            .table(events::Entity)
            .value(events::Column::LeaseToken, Option::<Uuid>::None)
            .value(events::Column::LeasedBy, Option::<String>::None)
            .value(events::Column::LeaseOwner, Option::<i64>::None)
            .and_where(Expr::col(events::Column::Id).eq(settlement.lost.key.as_uuid()))
            .and_where(Expr::col(events::Column::LeaseToken).eq(settlement.lost.lease.as_uuid()))
            .and_where(Expr::col(events::Column::Status).eq(EventStatus::Processing.as_str()));
        let error = match &settlement.result {
            AttemptResult::Retry { at, error } => {
                update
                    .value(events::Column::Status, EventStatus::Retrying.as_str())
                    .value(events::Column::NextAttemptAt, to_micros(*at))
                    .value(events::Column::LastError, truncate(error));
                error
            }
            AttemptResult::Dead { error } => {
                update
                    .value(events::Column::Status, EventStatus::Dead.as_str())
                    .value(events::Column::LastError, truncate(error));
                error
            }
            AttemptResult::Succeeded | AttemptResult::Deferred { .. } => continue,
        };
        if txn.execute(&update).await?.rows_affected() == 1 {
            history.push(event_attempts::ActiveModel {
                event_key: Set(settlement.lost.key.as_uuid()),
                attempt: Set(i32::try_from(settlement.lost.attempt).unwrap_or(i32::MAX)),
                worker: Set(truncate_worker(&settlement.lost.worker)),
                started_at: Set(to_micros(settlement.lost.started_at)),
                finished_at: Set(to_micros(settlement.found_at)),
                outcome: Set("lost".to_owned()),
                error: Set(Some(truncate(error))),
            });
        }
    }
    let applied = history.len();
    if !history.is_empty() {
        event_attempts::Entity::insert_many(history)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(applied)
}

/// `event_attempts.worker` holds 128 characters.
fn truncate_worker(worker: &str) -> String {
    worker.chars().take(128).collect()
}
