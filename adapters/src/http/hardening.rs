//! Load shedding and the request timeout, in one middleware around the API
//! routes (not the probes: an orchestrator must see a busy instance as alive).
//!
//! Shedding answers `503` + `Retry-After` at once when every slot is taken,
//! so overload shows up as fast refusals instead of growing latency.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// Shared by every request of one router.
#[derive(Debug)]
pub struct Guard {
    slots: Semaphore,
    request_timeout: Duration,
}

impl Guard {
    pub fn new(max_concurrent_requests: usize, request_timeout: Duration) -> Self {
        Self {
            slots: Semaphore::new(max_concurrent_requests),
            request_timeout,
        }
    }
}

pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let Ok(_slot) = guard.slots.try_acquire() else {
        return ApiError::Overloaded.into_response();
    };
    match tokio::time::timeout(guard.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// A panicking handler still answers in the one error shape.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
