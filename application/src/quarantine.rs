//! Quarantine: a record of each rejected request (why, from where, a
//! fingerprint of the body, the header names), sampled under a per-source
//! cap so that a flood of forgeries cannot flood the database.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use domain::{BodyDigest, Headers, Rejection, RejectionReason};
use uuid::Uuid;

use crate::ports::{DiscardRejections, RejectionSink};

/// Longest source name kept for a request to an unknown source.
const MAX_SOURCE_CHARS: usize = 64;
/// Most header names kept per rejection.
const MAX_HEADER_NAMES: usize = 64;

/// At most `per_minute` records per source in each clock minute; the rest
/// are dropped. Unknown sources share one budget, so arbitrary names in the
/// URL cannot grow this map.
#[derive(Debug)]
pub struct RejectionCap {
    per_minute: u32,
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    minute: i64,
    /// Records so far this minute; `None` is every unknown source together.
    counts: HashMap<Option<String>, u32>,
}

/// What to do with one rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Record,
    /// Dropped, and the first one dropped this minute for its source (worth a log line).
    DropFirst,
    Drop,
}

impl RejectionCap {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            window: Mutex::new(Window::default()),
        }
    }

    /// Counts one rejection for `source` (`None`: not a configured source) at `now`.
    pub fn admit(&self, source: Option<&str>, now: DateTime<Utc>) -> Admission {
        let minute = now.timestamp().div_euclid(60);
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.minute != minute {
            window.minute = minute;
            window.counts.clear();
        }
        let count = window.counts.entry(source.map(str::to_owned)).or_insert(0);
        *count = count.saturating_add(1);
        if *count <= self.per_minute {
            Admission::Record
        } else if *count == self.per_minute.saturating_add(1) {
            Admission::DropFirst
        } else {
            Admission::Drop
        }
    }
}

/// Turns rejected requests into records, under the cap.
pub struct Quarantine {
    cap: RejectionCap,
    sink: Arc<dyn RejectionSink>,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl Default for Quarantine {
    /// Records nothing.
    fn default() -> Self {
        Self::new(Arc::new(DiscardRejections), 0)
    }
}

/// A rejected request, as the receive use case saw it.
pub struct Rejected<'a> {
    pub source: &'a str,
    /// Whether `source` is a configured source.
    pub known_source: bool,
    pub reason: RejectionReason,
    pub headers: &'a dyn Headers,
    pub body: &'a [u8],
    pub remote_addr: Option<SocketAddr>,
    pub now: DateTime<Utc>,
}

impl std::fmt::Debug for Rejected<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be signatures: never shown.
        f.debug_struct("Rejected")
            .field("source", &self.source)
            .field("reason", &self.reason)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Quarantine {
    pub fn new(sink: Arc<dyn RejectionSink>, per_source_per_minute: u32) -> Self {
        Self {
            cap: RejectionCap::new(per_source_per_minute),
            sink,
        }
    }

    /// Records `rejected` unless its source's budget for this minute is spent.
    pub fn record(&self, rejected: &Rejected<'_>) {
        if self.cap.per_minute == 0 {
            return;
        }
        let budget_key = rejected.known_source.then_some(rejected.source);
        match self.cap.admit(budget_key, rejected.now) {
            Admission::Record => {}
            Admission::DropFirst => {
                tracing::warn!(
                    source = rejected.source,
                    "quarantine cap reached for this minute; further rejections are not recorded"
                );
                return;
            }
            Admission::Drop => return,
        }
        // Names only: values may be signatures or credentials.
        let mut header_names: Vec<String> = rejected
            .headers
            .names()
            .into_iter()
            .map(str::to_ascii_lowercase)
            .collect();
        header_names.sort_unstable();
        header_names.dedup();
        header_names.truncate(MAX_HEADER_NAMES);
        self.sink.record(Rejection {
            id: Uuid::now_v7(),
            source: Rejection::printable_source(rejected.source, MAX_SOURCE_CHARS),
            reason: rejected.reason,
            received_at: rejected.now,
            remote_addr: rejected.remote_addr.map(|addr| addr.to_string()),
            body_sha256: BodyDigest::of(rejected.body),
            body_size: rejected.body.len() as u64,
            header_names,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn each_source_gets_its_own_budget_per_minute() {
        let cap = RejectionCap::new(2);
        let t = at(1_700_000_070); // 30 s into a minute
        assert_eq!(cap.admit(Some("a"), t), Admission::Record);
        assert_eq!(cap.admit(Some("a"), t), Admission::Record);
        assert_eq!(cap.admit(Some("a"), t), Admission::DropFirst);
        assert_eq!(cap.admit(Some("a"), t), Admission::Drop);
        assert_eq!(cap.admit(Some("b"), t), Admission::Record);
        // The next minute starts afresh.
        assert_eq!(
            cap.admit(Some("a"), at(1_700_000_070 + 30)),
            Admission::Record
        );
    }

    #[test]
    fn unknown_sources_share_one_budget() {
        let cap = RejectionCap::new(1);
        let t = at(1_700_000_000);
        assert_eq!(cap.admit(None, t), Admission::Record);
        assert_eq!(cap.admit(None, t), Admission::DropFirst);
    }

    #[test]
    fn a_zero_cap_records_nothing() {
        let cap = RejectionCap::new(0);
        assert_eq!(cap.admit(Some("a"), at(0)), Admission::DropFirst);
        let mut sink = crate::ports::MockRejectionSink::new();
        sink.expect_record().never();
        let headers: [(&str, &str); 0] = [];
        Quarantine::new(Arc::new(sink), 0).record(&Rejected {
            source: "a",
            known_source: true,
            reason: RejectionReason::Stale,
            headers: &headers,
            body: b"",
            remote_addr: None,
            now: at(0),
        });
    }
}
