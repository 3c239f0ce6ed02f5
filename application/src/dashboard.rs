//! Reading events and rejections for the dashboard API.

use std::sync::Arc;

use domain::{Event, EventKey, Rejection};
use uuid::Uuid;

use crate::ports::{
    Cursor, EventDetail, EventFilter, EventQuery, QueryError, RejectionFilter, RejectionQuery,
};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// One page of events, newest first.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

pub struct ListEvents {
    query: Arc<dyn EventQuery>,
}

impl std::fmt::Debug for ListEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListEvents").finish_non_exhaustive()
    }
}

impl ListEvents {
    pub fn new(query: Arc<dyn EventQuery>) -> Self {
        Self { query }
    }

    /// A page of at most `limit` (default 50, at most 500) events.
    ///
    /// # Errors
    /// [`QueryError`] from the store.
    #[tracing::instrument(skip(self))]
    pub async fn page(
        &self,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: Option<u32>,
    ) -> Result<EventPage, QueryError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        // One extra row tells whether another page exists.
        let mut events = self.query.list(filter, after, limit + 1).await?;
        let next = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|event| Cursor(event.key))
        } else {
            None
        };
        Ok(EventPage { events, next })
    }

    /// # Errors
    /// [`QueryError`] from the store.
    pub async fn one(&self, key: EventKey) -> Result<Option<EventDetail>, QueryError> {
        self.query.get(key).await
    }
}

/// One page of rejections, newest first.
#[derive(Debug, Clone)]
pub struct RejectionPage {
    pub rejections: Vec<Rejection>,
    /// The id the next page starts after; `None` on the last page.
    pub next: Option<Uuid>,
}

pub struct ListRejections {
    query: Arc<dyn RejectionQuery>,
}

impl std::fmt::Debug for ListRejections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListRejections").finish_non_exhaustive()
    }
}

impl ListRejections {
    pub fn new(query: Arc<dyn RejectionQuery>) -> Self {
        Self { query }
    }

    /// A page of at most `limit` (default 50, at most 500) rejections.
    ///
    /// # Errors
    /// [`QueryError`] from the store.
    #[tracing::instrument(skip(self))]
    pub async fn page(
        &self,
        filter: &RejectionFilter,
        after: Option<Uuid>,
        limit: Option<u32>,
    ) -> Result<RejectionPage, QueryError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let mut rejections = self.query.list(filter, after, limit + 1).await?;
        let next = if rejections.len() > limit as usize {
            rejections.truncate(limit as usize);
            rejections.last().map(|rejection| rejection.id)
        } else {
            None
        };
        Ok(RejectionPage { rejections, next })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::EventStatus;

    use super::*;
    use crate::ports::MockEventQuery;

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                key: EventKey::generate(),
                source: "default".into(),
                event_id: format!("evt_{i}"),
                event_type: None,
                status: EventStatus::Pending,
                attempts: 0,
                received_at: Utc::now(),
                processed_at: None,
                last_error: None,
                secret_label: None,
                conflict: false,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_full_page_points_at_its_last_event() {
        let mut query = MockEventQuery::new();
        query
            .expect_list()
            .withf(|_, _, limit| *limit == 3)
            .returning(|_, _, limit| Ok(events(limit as usize)));
        let page = ListEvents::new(Arc::new(query))
            .page(&EventFilter::default(), None, Some(2))
            .await
            .unwrap();
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.next, Some(Cursor(page.events[1].key)));
    }

    #[tokio::test]
    async fn a_full_rejection_page_points_at_its_last_rejection() {
        use domain::{BodyDigest, RejectionReason};
        let mut query = crate::ports::MockRejectionQuery::new();
        query
            .expect_list()
            .withf(|_, _, limit| *limit == 2)
            .returning(|_, _, limit| {
                Ok((0..limit)
                    .map(|_| Rejection {
                        id: Uuid::now_v7(),
                        source: "default".into(),
                        reason: RejectionReason::Stale,
                        received_at: Utc::now(),
                        remote_addr: None,
                        body_sha256: BodyDigest::of(b""),
                        body_size: 0,
                        header_names: Vec::new(),
                    })
                    .collect())
            });
        let page = ListRejections::new(Arc::new(query))
            .page(&RejectionFilter::default(), None, Some(1))
            .await
            .unwrap();
        assert_eq!(page.rejections.len(), 1);
        assert_eq!(page.next, Some(page.rejections[0].id));
    }

    #[tokio::test]
    async fn the_last_page_has_no_cursor_and_limits_are_clamped() {
        let mut query = MockEventQuery::new();
        query
            .expect_list()
            .withf(|_, _, limit| *limit == MAX_PAGE_SIZE + 1)
            .returning(|_, _, _| Ok(events(4)));
        let page = ListEvents::new(Arc::new(query))
            .page(&EventFilter::default(), None, Some(10_000))
            .await
            .unwrap();
        assert_eq!((page.events.len(), page.next), (4, None));
    }
}
