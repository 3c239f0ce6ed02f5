//! `GET /stats`: what is in the store and how fast it arrives.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::EventStatus;

use crate::ports::{Clock, EventStats, MinuteCount, QueryError};

/// The window of the per-minute series.
const RATE_WINDOW: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone, PartialEq)]
pub struct StatsReport {
    pub by_status: BTreeMap<&'static str, u64>,
    pub by_source: BTreeMap<String, u64>,
    /// Pending and retrying events: waiting for a worker.
    pub queue_depth: u64,
    pub oldest_pending_age: Option<Duration>,
    pub dead: u64,
    /// The last hour, oldest first, one entry per minute (zeros included).
    pub per_minute: Vec<MinuteCount>,
    /// Unfinished events of sources that are not configured (not processed
    /// until the source is configured again), per source.
    pub unconfigured_sources: BTreeMap<String, u64>,
}

pub struct EventStatistics {
    stats: Arc<dyn EventStats>,
    clock: Arc<dyn Clock>,
    /// `None`: every source counts as configured.
    configured: Option<BTreeSet<String>>,
}

impl std::fmt::Debug for EventStatistics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStatistics").finish_non_exhaustive()
    }
}

impl EventStatistics {
    pub fn new(stats: Arc<dyn EventStats>, clock: Arc<dyn Clock>) -> Self {
        Self {
            stats,
            clock,
            configured: None,
        }
    }

    /// The sources that are configured: events of any other are reported as
    /// `unconfigured_sources`.
    #[must_use]
    pub fn with_configured_sources(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.configured = Some(names.into_iter().collect());
        self
    }

    /// # Errors
    /// [`QueryError`] from the store.
    #[tracing::instrument(skip(self))]
    pub async fn report(
        &self,
        only_sources: Option<Vec<String>>,
    ) -> Result<StatsReport, QueryError> {
        let now = self.clock.now();
        let counts = self.stats.counts(only_sources.clone()).await?;
        let start = minute_of(now - RATE_WINDOW) + chrono::Duration::minutes(1);
        let arrivals = self.stats.per_minute(start, only_sources).await?;
        let mut by_status = BTreeMap::new();
        let mut by_source = BTreeMap::new();
        let mut unconfigured_sources = BTreeMap::new();
        for (source, status, count) in counts.by_source_and_status {
            let unfinished = matches!(
                status,
                EventStatus::Pending | EventStatus::Retrying | EventStatus::Processing
            );
            if unfinished
                && self
                    .configured
                    .as_ref()
                    .is_some_and(|configured| !configured.contains(&source))
            {
                *unconfigured_sources.entry(source.clone()).or_insert(0) += count;
            }
            *by_status.entry(status.as_str()).or_insert(0) += count;
            *by_source.entry(source).or_insert(0) += count;
        }
        let count_of = |status: EventStatus| by_status.get(status.as_str()).copied().unwrap_or(0);
        Ok(StatsReport {
            queue_depth: count_of(EventStatus::Pending) + count_of(EventStatus::Retrying),
            dead: count_of(EventStatus::Dead),
            oldest_pending_age: counts
                .oldest_due_since
                .map(|since| (now - since).to_std().unwrap_or_default()),
            per_minute: fill_minutes(start, &arrivals),
            by_status,
            by_source,
            unconfigured_sources,
        })
    }
}

fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(60), 0).unwrap_or(at)
}

/// Sixty minutes from `start`, with the minutes nothing arrived in as zero.
fn fill_minutes(start: DateTime<Utc>, arrivals: &[MinuteCount]) -> Vec<MinuteCount> {
    (0..60)
        .map(|n| {
            let minute = start + chrono::Duration::minutes(n);
            let events = arrivals
                .iter()
                .find(|count| count.minute == minute)
                .map_or(0, |count| count.events);
            MinuteCount { minute, events }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{EventCounts, MockClock, MockEventStats};

    #[tokio::test]
    async fn counts_are_summed_by_status_and_source_and_minutes_filled() {
        let now = DateTime::from_timestamp(1_800_000_030, 0).unwrap();
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        let mut stats = MockEventStats::new();
        stats.expect_counts().returning(move |_| {
            Ok(EventCounts {
                by_source_and_status: vec![
                    ("a".into(), EventStatus::Pending, 2),
                    ("a".into(), EventStatus::Dead, 1),
                    ("b".into(), EventStatus::Retrying, 3),
                    ("b".into(), EventStatus::Processed, 4),
                ],
                oldest_due_since: Some(now - chrono::Duration::seconds(90)),
            })
        });
        stats.expect_per_minute().returning(move |_, _| {
            Ok(vec![MinuteCount {
                minute: minute_of(now),
                events: 7,
            }])
        });
        let report = EventStatistics::new(Arc::new(stats), Arc::new(clock))
            .report(None)
            .await
            .unwrap();
        assert_eq!(report.queue_depth, 5);
        assert_eq!(report.dead, 1);
        assert_eq!(report.by_source["b"], 7);
        assert_eq!(report.by_status["processed"], 4);
        assert_eq!(report.oldest_pending_age, Some(Duration::from_secs(90)));
        assert_eq!(report.per_minute.len(), 60);
        assert_eq!(report.per_minute.last().map(|m| m.events), Some(7));
        assert_eq!(report.per_minute.iter().map(|m| m.events).sum::<u64>(), 7);
    }
}
