//! What the webhook routes check before any use case runs: the body's size
//! (per source) and, for sources that read their event id from a JSON body,
//! its `Content-Type`.

use std::collections::HashMap;

use axum::{
    body::Body,
    http::{HeaderMap, header},
};
use bytes::Bytes;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

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

/// Reads the body under the source's limit. A declared `Content-Length`
/// over the limit is refused before a byte is read; a chunked body is cut
/// off as soon as it grows past it.
pub(super) async fn read_body(
    intake: SourceIntake,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
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
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        Err(err) => Err(ApiError::BadRequest {
            code: "unreadable_body",
            detail: format!("the request body could not be read: {err}"),
        }),
    }
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
