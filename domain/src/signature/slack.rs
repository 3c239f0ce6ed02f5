//! `slack`: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`,
//! with the timestamp in `X-Slack-Request-Timestamp`, keyed with the app's
//! signing secret as given.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Headers, SignatureError, Verified, mac, present, timestamp};
use crate::SigningSecret;

pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
const VERSION: &str = "v0";

/// Verifies a Slack request.
///
/// # Errors
/// `Missing` without a signature; `Malformed` without the `v0=` prefix, with
/// bad or empty hex, or without an integer timestamp; `Mismatch` when no secret
/// matches; `Stale`/`Future` for a correctly signed request outside `tolerance`.
pub fn verify(
    secrets: &[SigningSecret],
    headers: &dyn Headers,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<Verified, SignatureError> {
    let value = present(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing)?;
    let expected = value
        .strip_prefix("v0=")
        .and_then(|digest| hex::decode(digest).ok())
        .filter(|digest| !digest.is_empty())
        .ok_or(SignatureError::Malformed)?;
    let raw_timestamp = present(headers, TIMESTAMP_HEADER).ok_or(SignatureError::Malformed)?;
    let signed_at = timestamp::parse(raw_timestamp)?;
    let content: [&[u8]; 5] = [
        VERSION.as_bytes(),
        b":",
        raw_timestamp.as_bytes(),
        b":",
        body,
    ];
    let secret_index = secrets
        .iter()
        .position(|secret| mac::matches_any(secret.expose(), &content, [expected.as_slice()]))
        .ok_or(SignatureError::Mismatch)?;
    timestamp::check_fresh(signed_at, now, tolerance)?;
    Ok(Verified { secret_index })
}

/// The timestamp and signature headers for `body` sent at `now`.
pub fn sign(secret: &SigningSecret, now: DateTime<Utc>, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = now.timestamp().to_string();
    let tag = mac::tag(
        secret.expose(),
        &[VERSION.as_bytes(), b":", timestamp.as_bytes(), b":", body],
    );
    vec![
        (TIMESTAMP_HEADER.to_owned(), timestamp),
        (
            SIGNATURE_HEADER.to_owned(),
            format!("{VERSION}={}", hex::encode(tag)),
        ),
    ]
}

#[cfg(test)]
mod tests;
