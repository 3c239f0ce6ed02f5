//! `stripe`: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`.
//!
//! The signed content is `{t}.{body}`, HMAC-SHA256 keyed with the endpoint
//! secret exactly as Stripe shows it (`whsec_…` included, not decoded).
//! Any listed `v1` may match (Stripe lists several while rolling a secret);
//! other keys such as the test-mode `v0` are ignored.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Headers, SignatureError, Verified, mac, present, timestamp};
use crate::SigningSecret;

pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Verifies a Stripe request.
///
/// # Errors
/// `Missing` without the header; `Malformed` without exactly one integer `t`
/// or without any decodable, non-empty `v1`; `Mismatch` when no secret
/// matches; `Stale`/`Future` for a correctly signed request outside `tolerance`.
pub fn verify(
    secrets: &[SigningSecret],
    headers: &dyn Headers,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<Verified, SignatureError> {
    let value = present(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing)?;
    let parsed = Parsed::parse(value)?;
    let signed_at = timestamp::parse(parsed.timestamp)?;
    let content: [&[u8]; 3] = [parsed.timestamp.as_bytes(), b".", body];
    let secret_index = secrets
        .iter()
        .position(|secret| {
            let candidates = parsed.signatures.iter().map(Vec::as_slice);
            mac::matches_any(secret.expose(), &content, candidates)
        })
        .ok_or(SignatureError::Mismatch)?;
    timestamp::check_fresh(signed_at, now, tolerance)?;
    Ok(Verified { secret_index })
}

/// The `Stripe-Signature` header for `body` signed at `now`.
pub fn sign(secret: &SigningSecret, now: DateTime<Utc>, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = now.timestamp().to_string();
    let tag = mac::tag(secret.expose(), &[timestamp.as_bytes(), b".", body]);
    vec![(
        SIGNATURE_HEADER.to_owned(),
        format!("t={timestamp},v1={}", hex::encode(tag)),
    )]
}

struct Parsed<'a> {
    timestamp: &'a str,
    signatures: Vec<Vec<u8>>,
}

impl<'a> Parsed<'a> {
    fn parse(value: &'a str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in value.split(',') {
            let Some((key, field)) = item.split_once('=') else {
                continue;
            };
            match key.trim() {
                // Two timestamps would make "the" signed content ambiguous.
                "t" if timestamp.is_some() => return Err(SignatureError::Malformed),
                "t" => timestamp = Some(field.trim()),
                // An empty or non-hex `v1` can never be right; dropping it is
                // what keeps `v1=` from matching anything.
                "v1" => signatures.extend(hex::decode(field.trim()).ok().filter(|b| !b.is_empty())),
                _ => {}
            }
        }
        match timestamp {
            Some(timestamp) if !signatures.is_empty() => Ok(Self {
                timestamp,
                signatures,
            }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests;
