//! The one place where failures become HTTP status codes.
//!
//! Every error body has the shape `{"code": "...", "detail": "..."}` with a
//! stable `code`. Details of 5xx errors go to the log, not to the client.

use application::{
    ReceiveError,
    ports::{AuthError, QueryError, StoreError},
};
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::{PayloadError, SignatureError};
use serde::Serialize;

/// Seconds a client is asked to wait when the database is unavailable.
const RETRY_AFTER_SECONDS: &str = "5";
/// Seconds a client is asked to wait when requests are being shed.
const OVERLOADED_RETRY_AFTER_SECONDS: &str = "1";

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
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{detail}")]
    Rejected {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    #[error("the body is larger than this source accepts ({limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("this source reads a JSON body: send `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("the request was not completed within the server's request timeout")]
    Timeout,
    #[error("too many requests in flight; retry later")]
    Overloaded,
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
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Rejected { status, code, .. } => (*status, code),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Timeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
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
            Self::Overloaded => {
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

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self::Unauthorized(err)
    }
}
