//! What the webhook routes check before any use case runs: the body's size
//! (per source), the bytes of all bodies being read at once (one budget for
//! the process), and, for sources that read their event id from a JSON body,
//! its `Content-Type`.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    body::Body,
    http::{HeaderMap, header},
};
use bytes::Bytes;
use http_body_util::BodyExt as _;

use super::error::ApiError;

/// One source's intake rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIntake {
    pub max_body_bytes: usize,
    /// Refuse a declared non-JSON `Content-Type` with 415.
    pub json_only: bool,
}

/// Intake rules by source name; unknown sources get the defaults (the use
/// case then answers 404 without reading further).
#[derive(Debug, Clone)]
pub struct IntakeLimits {
    default: SourceIntake,
    by_source: HashMap<String, SourceIntake>,
}

impl IntakeLimits {
    pub fn new(default_max_body_bytes: usize) -> Self {
        Self {
            default: SourceIntake {
                max_body_bytes: default_max_body_bytes,
                json_only: false,
            },
            by_source: HashMap::new(),
        }
    }

    #[must_use]
    pub fn with_source(mut self, name: impl Into<String>, intake: SourceIntake) -> Self {
        self.by_source.insert(name.into(), intake);
        self
    }

    pub fn for_source(&self, name: &str) -> SourceIntake {
        self.by_source.get(name).copied().unwrap_or(self.default)
    }
}

impl Default for IntakeLimits {
    fn default() -> Self {
        Self::new(1 << 20)
    }
}

/// Bytes of webhook bodies held at once, before their signatures are
/// checked: an unauthenticated sender can make hookd hold at most this much.
#[derive(Debug)]
pub struct BodyBudget {
    max: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    pub fn new(max_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max_bytes,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes reserved now (for tests and metrics).
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.max)
            })
            .is_ok()
    }
}

/// Bytes one request holds of the [`BodyBudget`]; given back when dropped,
/// i.e. when the request is answered.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Reservation {
    fn empty(budget: &Arc<BodyBudget>) -> Self {
        Self {
            budget: budget.clone(),
            bytes: 0,
        }
    }

    /// Holds `bytes` more, or `false` (holding nothing more) when they do not fit.
    fn grow(&mut self, bytes: usize) -> bool {
        let fits = self.budget.take(bytes);
        if fits {
            self.bytes += bytes;
        }
        fits
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Reads the body under the source's limit and the shared budget. A
/// declared `Content-Length` over the limit is refused (413) before a byte
/// is read, and one that does not fit the budget is shed (503) at once; a
/// chunked body is cut off as soon as it grows past either.
pub(super) async fn read_body(
    intake: SourceIntake,
    budget: &Arc<BodyBudget>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, Reservation), ApiError> {
    if intake.json_only && !declares_json_or_nothing(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let limit = intake.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut reservation = Reservation::empty(budget);
    // Reserve a declared length up front: shed before reading anything.
    let declared = declared.map_or(0, |length| usize::try_from(length).unwrap_or(usize::MAX));
    if !reservation.grow(declared) {
        return Err(ApiError::BodyBudgetExhausted);
    }
    let mut body = body;
    let mut collected = bytes::BytesMut::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| ApiError::UnreadableBody(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let total = collected.len() + data.len();
        if total > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if total > reservation.bytes && !reservation.grow(total - reservation.bytes) {
            return Err(ApiError::BodyBudgetExhausted);
        }
        collected.extend_from_slice(&data);
    }
    Ok((collected.freeze(), reservation))
}

/// `application/json`, `application/*+json` (any parameters), or no
/// `Content-Type` at all: senders that omit it are not refused for it.
fn declares_json_or_nothing(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn json_types_and_a_missing_type_are_accepted() {
        assert!(declares_json_or_nothing(&HeaderMap::new()));
        assert!(declares_json_or_nothing(&with_type("application/json")));
        assert!(declares_json_or_nothing(&with_type(
            "Application/JSON; charset=utf-8"
        )));
        assert!(declares_json_or_nothing(&with_type(
            "application/vnd.stripe+json"
        )));
    }

    #[test]
    fn other_types_are_refused() {
        for value in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/jsonx",
            "json",
            "application/+json",
        ] {
            assert!(!declares_json_or_nothing(&with_type(value)), "{value}");
        }
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = BodyBudget::new(100);
        let mut a = Reservation::empty(&budget);
        let mut b = Reservation::empty(&budget);
        assert!(a.grow(60));
        assert!(!b.grow(41), "over the budget");
        assert!(b.grow(40));
        assert_eq!(budget.in_use(), 100);
        drop(a);
        assert_eq!(budget.in_use(), 40);
        assert!(b.grow(60));
    }

    #[test]
    fn unknown_sources_get_the_default_limit() {
        let limits = IntakeLimits::new(10).with_source(
            "big",
            SourceIntake {
                max_body_bytes: 100,
                json_only: true,
            },
        );
        assert_eq!(limits.for_source("big").max_body_bytes, 100);
        assert_eq!(limits.for_source("other").max_body_bytes, 10);
        assert!(!limits.for_source("other").json_only);
    }
}
