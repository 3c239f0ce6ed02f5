//! `x-request-id`: the caller's is kept only when it is at most 128
//! characters of `[A-Za-z0-9._:-]`; otherwise (or without one) an id is
//! generated. The id replaces the request's header (so the span and the
//! stored event see the same value), is echoed in the response, and is
//! recorded on the request's span, so every log line of the request carries
//! it. Headers are never logged: `Authorization` and signature headers
//! cannot leak through the request span.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest caller-supplied id kept.
pub const MAX_CHARS: usize = 128;

/// `<process prefix>-<counter>`: unique per process and cheap (no randomness
/// per request); the random prefix tells replicas apart.
#[derive(Debug, Clone)]
pub struct SequentialRequestId {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl SequentialRequestId {
    pub fn new() -> Self {
        let prefix = uuid::Uuid::new_v4().simple().to_string();
        Self {
            prefix: prefix[..12].into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    fn generate(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n}", self.prefix))
            .unwrap_or_else(|_| HeaderValue::from_static("unnamed"))
    }
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a caller's id is safe to keep, echo, log and store.
pub fn acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CHARS
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Sets the request's id (the caller's if acceptable, else a generated one)
/// and echoes it on the response.
pub async fn assign(
    State(ids): State<SequentialRequestId>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers_mut();
    let kept = headers
        .get(&HEADER)
        .filter(|value| acceptable(value.as_bytes()))
        // Exactly one header: a second one could say something else downstream.
        .filter(|_| headers.get_all(&HEADER).iter().count() == 1)
        .cloned();
    let id = kept.unwrap_or_else(|| ids.generate());
    headers.insert(HEADER, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER, id);
    response
}

/// The request's span: method, route path (no query string, no headers) and
/// the request id, recorded as escaped strings.
pub fn span(request: &Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = request.method().as_str(),
        path = request.uri().path(),
        request_id = id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_share_the_process_prefix() {
        let ids = SequentialRequestId::new();
        let (a, b) = (ids.generate(), ids.generate());
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
        assert!(acceptable(a.as_bytes()));
    }

    #[test]
    fn only_short_ids_of_safe_characters_are_kept() {
        assert!(acceptable(b"req-1.2_3:4"));
        assert!(acceptable("a".repeat(MAX_CHARS).as_bytes()));
        for bad in [
            "",
            "has space",
            "tab\there",
            "quote\"",
            "caller=admin",
            "\u{e9}t\u{e9}",
        ] {
            assert!(!acceptable(bad.as_bytes()), "{bad:?}");
        }
        assert!(!acceptable("a".repeat(MAX_CHARS + 1).as_bytes()));
    }
}
