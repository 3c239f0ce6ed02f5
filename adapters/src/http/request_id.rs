//! `x-request-id`: kept when the caller sent one, generated otherwise, echoed
//! in the response and recorded on the request's span, so every log line of
//! the request carries it. Headers are never logged: `Authorization` and
//! signature headers cannot leak through the request span.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

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
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The request's span: method, route path (no query string, no headers) and
/// the request id.
pub fn span(request: &Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_share_the_process_prefix() {
        let mut make = SequentialRequestId::new();
        let request = Request::new(());
        let a = make.make_request_id(&request).unwrap();
        let b = make.make_request_id(&request).unwrap();
        let (a, b) = (
            a.header_value().to_str().unwrap(),
            b.header_value().to_str().unwrap(),
        );
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
    }
}
