//! The one place where failures become HTTP status codes.
//!
//! Every error body has the shape `{"code": "...", "detail": "..."}` with a
//! stable `code`. Details of 5xx errors go to the log, not to the client.

use application::{
    ReceiveError, ReplayError,
    ports::{AuthError, QueryError, Scope, StoreError},
};
use axum::{
    Json,
    extract::rejection::{JsonRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::{EventStatus, PayloadError, RejectionReason, SignatureError};
use serde::Serialize;

/// Seconds a client is asked to wait when the database is unavailable.
const RETRY_AFTER_SECONDS: &str = "5";
/// Seconds a client is asked to wait when requests are being shed.
const OVERLOADED_RETRY_AFTER_SECONDS: &str = "1";

/// Every way a request can fail, by name; [`ApiError::status_and_code`]
/// is the only place that turns them into HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no source is configured under this name")]
    UnknownSource,
    #[error("{0}")]
    InvalidSignature(SignatureError),
    #[error("{0}")]
    InvalidPayload(PayloadError),
    #[error("{0}")]
    Unauthorized(AuthError),
    #[error("this route needs a token with the scope `{0}`")]
    InsufficientScope(Scope),
    #[error("this token may not see the source `{0}`")]
    SourceNotAllowed(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("this route does not accept this method")]
    MethodNotAllowed,
    #[error("{0}")]
    InvalidQuery(String),
    #[error("the cursor is not one this API returned")]
    InvalidCursor,
    #[error("{0}")]
    InvalidFilter(String),
    /// The body is not JSON at all.
    #[error("{0}")]
    MalformedBody(String),
    /// JSON, but not the fields this route takes.
    #[error("{0}")]
    InvalidBody(String),
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    #[error("the event is {0}; only processed or dead events can be replayed")]
    NotReplayable(EventStatus),
    #[error("the body is larger than this source accepts ({limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("the body is larger than this route accepts")]
    RequestBodyTooLarge,
    #[error("send `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("the request was not completed within the server's request timeout")]
    Timeout,
    #[error("too many requests in flight; retry later")]
    Overloaded,
    #[error("too many request bodies are being received; retry later")]
    BodyBudgetExhausted,
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Every error response: a stable `code` and a human `detail`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ErrorBody<'a> {
    code: &'a str,
    detail: String,
}

impl ApiError {
    /// The stable `code` of the body (also the metrics' rejection reason).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::UnknownSource => (StatusCode::NOT_FOUND, "unknown_source"),
            Self::InvalidSignature(_) => (StatusCode::UNAUTHORIZED, "invalid_signature"),
            Self::InvalidPayload(err) => match err {
                PayloadError::MalformedJson => (StatusCode::BAD_REQUEST, "malformed_json"),
                PayloadError::NotAnObject => (StatusCode::UNPROCESSABLE_ENTITY, "not_an_object"),
                PayloadError::MissingEventId => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "missing_event_id")
                }
                PayloadError::InvalidEventId(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_id")
                }
                PayloadError::DuplicateKey(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "duplicate_key")
                }
                PayloadError::InvalidEventType => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_type")
                }
            },
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Self::SourceNotAllowed(_) => (StatusCode::FORBIDDEN, "source_not_allowed"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            Self::InvalidCursor => (StatusCode::BAD_REQUEST, "invalid_cursor"),
            Self::InvalidFilter(_) => (StatusCode::BAD_REQUEST, "invalid_filter"),
            Self::MalformedBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            Self::UnreadableBody(_) => (StatusCode::BAD_REQUEST, "unreadable_body"),
            Self::NotReplayable(_) => (StatusCode::CONFLICT, "not_replayable"),
            Self::PayloadTooLarge { .. } | Self::RequestBodyTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Timeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::Overloaded | Self::BodyBudgetExhausted => {
                (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let detail = match &self {
            Self::Unavailable(err) => {
                tracing::warn!(error = %format!("{err:#}"), "database unavailable");
                "the database is unavailable; retry later".to_owned()
            }
            Self::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(ErrorBody { code, detail })).into_response();
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            Self::Overloaded | Self::BodyBudgetExhausted => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(OVERLOADED_RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<ReceiveError> for ApiError {
    fn from(err: ReceiveError) -> Self {
        match err {
            ReceiveError::UnknownSource => Self::UnknownSource,
            ReceiveError::InvalidSignature(err) => Self::InvalidSignature(err),
            ReceiveError::InvalidPayload(err) => Self::InvalidPayload(err),
            ReceiveError::Unavailable(err) => Self::Unavailable(err),
            ReceiveError::Unknown(err) => Self::Internal(err),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Unavailable(err) => Self::Unavailable(err),
            QueryError::Unknown(err) => Self::Internal(err),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(err) => Self::Unavailable(err),
            StoreError::Unknown(err) => Self::Internal(err),
        }
    }
}

impl ApiError {
    /// Why the quarantine records this refusal of a webhook, for the ones
    /// the HTTP edge makes before the receive use case runs (which records
    /// its own).
    pub fn edge_rejection_reason(&self) -> Option<RejectionReason> {
        match self {
            Self::PayloadTooLarge { .. } | Self::RequestBodyTooLarge => {
                Some(RejectionReason::PayloadTooLarge)
            }
            Self::UnsupportedMediaType => Some(RejectionReason::UnsupportedMediaType),
            Self::UnreadableBody(_) => Some(RejectionReason::Malformed),
            Self::Timeout => Some(RejectionReason::RequestTimeout),
            Self::Overloaded | Self::BodyBudgetExhausted => Some(RejectionReason::Overloaded),
            _ => None,
        }
    }
}

impl From<ReplayError> for ApiError {
    fn from(err: ReplayError) -> Self {
        match err {
            ReplayError::InvalidStatus(_) => Self::InvalidFilter(err.to_string()),
            ReplayError::Store(err) => err.into(),
        }
    }
}

/// What [`super::extract::ApiJson`] refuses, in the one error shape.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => Self::InvalidBody(err.body_text()),
            JsonRejection::JsonSyntaxError(err) => Self::MalformedBody(err.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::RequestBodyTooLarge
            }
            other => Self::UnreadableBody(other.body_text()),
        }
    }
}

/// What [`super::extract::ApiQuery`] refuses, in the one error shape.
impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidQuery(rejection.body_text())
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self::Unauthorized(err)
    }
}
