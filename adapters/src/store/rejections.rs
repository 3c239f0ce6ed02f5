//! Quarantine storage: a non-blocking sink that writes rejections in the
//! background, and the listing and retention queries.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use application::ports::{QueryError, RejectionFilter, RejectionQuery, RejectionSink};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BodyDigest, Rejection, RejectionReason};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, prelude::Uuid,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    SeaOrmStore,
    entity::rejections,
    error::{Failure, classify},
    time::{from_micros, to_micros},
};

/// Most rejections written in one statement.
const MAX_BATCH: usize = 256;

/// The [`RejectionSink`] of the SeaORM store: a bounded buffer and one
/// background writer. A full buffer drops the record: a flood of forged
/// requests must never slow down or fail the intake of real ones.
#[derive(Debug)]
pub struct RejectionWriter {
    queue: mpsc::Sender<Rejection>,
    dropped: Arc<AtomicU64>,
}

impl RejectionWriter {
    /// Starts the writer task; it stops with the store's writers
    /// ([`SeaOrmStore::stop_writers`]), or once this writer is dropped.
    pub fn start(store: &SeaOrmStore, capacity: usize) -> Self {
        let (queue, pending) = mpsc::channel(capacity.max(1));
        store.writers.spawn(
            "quarantine writer",
            write_rejections(
                store.connection().clone(),
                pending,
                store.writers.stop_token(),
            ),
        );
        Self {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl RejectionSink for RejectionWriter {
    fn record(&self, rejection: Rejection) {
        if self.queue.try_send(rejection).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // 1, 2, 4, 8...: visible without a line per dropped record.
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "quarantine buffer full; rejections not recorded");
            }
        }
    }
}

async fn write_rejections(
    db: DatabaseConnection,
    mut pending: mpsc::Receiver<Rejection>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            biased;
            first = pending.recv() => first,
            () = stop.cancelled() => pending.try_recv().ok(),
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(next) = pending.try_recv() else { break };
            batch.push(next);
        }
        let size = batch.len();
        let result = rejections::Entity::insert_many(batch.iter().map(active_model))
            .exec_without_returning(&db)
            .await;
        let Err(err) = result else { continue };
        match classify(err) {
            // One bad record must not erase its neighbours (a forged request
            // erasing the audit trail of others): write them one by one.
            Failure::Other(err) if size > 1 => {
                tracing::warn!(error = %format!("{err:#}"), size, "recording rejections failed; writing them one by one");
                for rejection in &batch {
                    if let Err(err) = rejections::Entity::insert(active_model(rejection))
                        .exec_without_returning(&db)
                        .await
                    {
                        tracing::warn!(error = %err, reason = %rejection.reason, "could not record a rejection; it is lost");
                    }
                }
            }
            Failure::Other(err) | Failure::Unavailable(err) => {
                tracing::warn!(error = %format!("{err:#}"), size, "could not record rejections; they are lost");
            }
        }
    }
    tracing::info!("quarantine writer stopped");
}

fn active_model(rejection: &Rejection) -> rejections::ActiveModel {
    rejections::ActiveModel {
        id: Set(rejection.id),
        source: Set(rejection.source.clone()),
        reason: Set(rejection.reason.as_str().to_owned()),
        received_at: Set(to_micros(rejection.received_at)),
        remote_addr: Set(rejection.remote_addr.clone()),
        body_sha256: Set(rejection.body_sha256.as_bytes().to_vec()),
        body_size: Set(i64::try_from(rejection.body_size).unwrap_or(i64::MAX)),
        header_names: Set(rejection.header_names.join(",")),
    }
}

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

fn from_model(model: rejections::Model) -> Result<Rejection, QueryError> {
    let digest: [u8; 32] = model
        .body_sha256
        .as_slice()
        .try_into()
        .map_err(|_| QueryError::Unknown(anyhow::anyhow!("stored digest is not 32 bytes")))?;
    Ok(Rejection {
        id: model.id,
        source: model.source,
        reason: RejectionReason::parse(&model.reason)
            .map_err(|err| QueryError::Unknown(err.into()))?,
        received_at: from_micros(model.received_at),
        remote_addr: model.remote_addr,
        body_sha256: BodyDigest::from_bytes(digest),
        body_size: u64::try_from(model.body_size).unwrap_or(0),
        header_names: model
            .header_names
            .split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[async_trait]
impl RejectionQuery for SeaOrmStore {
    async fn list(
        &self,
        filter: &RejectionFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Rejection>, QueryError> {
        // UUIDv7 ids: newest first is id order, and the id is a stable cursor.
        let mut select = rejections::Entity::find()
            .order_by_desc(rejections::Column::Id)
            .limit(u64::from(limit));
        if let Some(source) = &filter.source {
            select = select.filter(rejections::Column::Source.eq(source.as_str()));
        }
        if let Some(only) = &filter.only_sources {
            select =
                select.filter(rejections::Column::Source.is_in(only.iter().map(String::as_str)));
        }
        if let Some(reason) = filter.reason {
            select = select.filter(rejections::Column::Reason.eq(reason.as_str()));
        }
        if let Some(after) = after {
            select = select.filter(rejections::Column::Id.lt(after));
        }
        let models = select.all(&self.reader).await.map_err(query_error)?;
        models.into_iter().map(from_model).collect()
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, QueryError> {
        let result = rejections::Entity::delete_many()
            .filter(rejections::Column::ReceivedAt.lt(to_micros(cutoff)))
            .exec(&self.writer)
            .await
            .map_err(query_error)?;
        Ok(result.rows_affected)
    }
}
