//! `standard-webhooks`: the Standard Webhooks spec (also Svix's scheme).
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`;
//! `webhook-signature` lists space-separated `version,base64` signatures:
//! `v1` is HMAC-SHA256 keyed with a `whsec_` secret, `v1a` is ed25519 checked
//! against a `whpk_` public key. Any listed signature may match (senders list
//! several while rotating keys); unknown versions are ignored.
//!
//! Secrets arrive as the configured string's bytes (`b"whsec_…"`); this module
//! strips the prefix and base64-decodes them, and a secret that does not decode
//! never matches.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::{Headers, SecretError, SignatureError, Verified, mac, present, timestamp};
use crate::SigningSecret;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Prefix of a symmetric (HMAC, `v1`) secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Prefix of an ed25519 public key (verifies `v1a`).
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";
/// Prefix of an ed25519 signing key (signs `v1a`; for `hookd sign`, never for receiving).
pub const SIGNING_KEY_PREFIX: &str = "whsk_";

/// A configured secret, decoded.
pub(crate) enum Key {
    /// `whsec_…`, or bare base64 as the reference libraries also accept.
    Symmetric(Vec<u8>),
    Public(VerifyingKey),
    Private(SigningKey),
}

/// Decodes a configured secret by its prefix.
///
/// # Errors
/// `Empty` for no key bytes, `Undecodable` for bad base64, `InvalidPublicKey`
/// or `InvalidSigningKey` for bytes that are not an ed25519 key.
pub(crate) fn parse_key(secret: &SigningSecret) -> Result<Key, SecretError> {
    let raw = secret.expose();
    if let Some(encoded) = raw.strip_prefix(PUBLIC_KEY_PREFIX.as_bytes()) {
        let bytes: [u8; 32] = decode(encoded)?
            .try_into()
            .map_err(|_| SecretError::InvalidPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SecretError::InvalidPublicKey)?;
        // A small-order key would accept forged signatures under lax checks.
        if key.is_weak() {
            return Err(SecretError::InvalidPublicKey);
        }
        Ok(Key::Public(key))
    } else if let Some(encoded) = raw.strip_prefix(SIGNING_KEY_PREFIX.as_bytes()) {
        // The spec does not fix the layout: accept the 32-byte seed or seed‖public key.
        let bytes = decode(encoded)?;
        if let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(Key::Private(SigningKey::from_bytes(&seed)))
        } else if let Ok(pair) = <[u8; 64]>::try_from(bytes.as_slice()) {
            SigningKey::from_keypair_bytes(&pair)
                .map(Key::Private)
                .map_err(|_| SecretError::InvalidSigningKey)
        } else {
            Err(SecretError::InvalidSigningKey)
        }
    } else {
        let encoded = raw.strip_prefix(SECRET_PREFIX.as_bytes()).unwrap_or(raw);
        let key = decode(encoded)?;
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Key::Symmetric(key))
    }
}

fn decode(encoded: &[u8]) -> Result<Vec<u8>, SecretError> {
    STANDARD
        .decode(encoded)
        .map_err(|_| SecretError::Undecodable)
}

/// Verifies a Standard Webhooks request.
///
/// # Errors
/// `Missing` without a signature header; `Malformed` without an id or
/// timestamp, with a non-integer timestamp, or when no listed signature is a
/// decodable `v1`/`v1a`; `Mismatch` when no secret matches any of them;
/// `Stale`/`Future` for a correctly signed request outside `tolerance`.
pub fn verify(
    secrets: &[SigningSecret],
    headers: &dyn Headers,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<Verified, SignatureError> {
    let listed = present(headers, SIGNATURE_HEADER).ok_or(SignatureError::Missing)?;
    let id = present(headers, ID_HEADER).ok_or(SignatureError::Malformed)?;
    let raw_timestamp = present(headers, TIMESTAMP_HEADER).ok_or(SignatureError::Malformed)?;
    let signed_at = timestamp::parse(raw_timestamp)?;
    let candidates = Candidates::parse(listed);
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let content = signed_content(id, raw_timestamp, body);
    let secret_index = secrets
        .iter()
        .position(|secret| candidates.match_secret(secret, &content))
        .ok_or(SignatureError::Mismatch)?;
    timestamp::check_fresh(signed_at, now, tolerance)?;
    Ok(Verified { secret_index })
}

/// The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for `body`.
///
/// A `whsec_` secret gives a `v1` signature, a `whsk_` key a `v1a` one.
///
/// # Errors
/// [`SecretError`] when the secret does not decode or is a public key.
pub fn sign(
    secret: &SigningSecret,
    id: &str,
    now: DateTime<Utc>,
    body: &[u8],
) -> Result<Vec<(String, String)>, SecretError> {
    let timestamp = now.timestamp().to_string();
    let content = signed_content(id, &timestamp, body);
    let signature = match parse_key(secret)? {
        Key::Symmetric(key) => format!("v1,{}", STANDARD.encode(mac::tag(&key, &[&content]))),
        Key::Private(key) => format!("v1a,{}", STANDARD.encode(key.sign(&content).to_bytes())),
        Key::Public(_) => return Err(SecretError::PublicKeyCannotSign),
    };
    Ok(vec![
        (ID_HEADER.to_owned(), id.to_owned()),
        (TIMESTAMP_HEADER.to_owned(), timestamp),
        (SIGNATURE_HEADER.to_owned(), signature),
    ])
}

/// The `whpk_` public key that verifies what a `whsk_` signing key signs, for
/// configuring a receiver (`hookd sign --public-key`, tests).
///
/// # Errors
/// [`SecretError::InvalidSigningKey`] unless `secret` is a valid `whsk_` key.
pub fn public_key_of(secret: &SigningSecret) -> Result<String, SecretError> {
    match parse_key(secret)? {
        Key::Private(key) => Ok(format!(
            "{PUBLIC_KEY_PREFIX}{}",
            STANDARD.encode(key.verifying_key().as_bytes())
        )),
        Key::Public(_) | Key::Symmetric(_) => Err(SecretError::InvalidSigningKey),
    }
}

/// A `webhook-id` for signing without one: `msg_` and the first 16 bytes of
/// the body's SHA-256 in hex, so re-signing a body repeats its id, as a
/// sender's retry would.
pub fn derived_id(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("msg_{}", hex::encode(&digest[..16]))
}

fn signed_content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat()
}

/// The usable signatures of a `webhook-signature` header.
struct Candidates {
    hmac: Vec<Vec<u8>>,
    ed25519: Vec<Signature>,
}

impl Candidates {
    fn parse(listed: &str) -> Self {
        let mut candidates = Self {
            hmac: Vec::new(),
            ed25519: Vec::new(),
        };
        for entry in listed.split_ascii_whitespace() {
            let Some((version, encoded)) = entry.split_once(',') else {
                continue;
            };
            // An empty or undecodable signature can never be right: dropping it
            // here, instead of comparing it, is what keeps `v1,` from matching.
            let Ok(bytes) = STANDARD.decode(encoded) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            match version {
                "v1" => candidates.hmac.push(bytes),
                "v1a" => candidates
                    .ed25519
                    .extend(Signature::from_slice(&bytes).ok()),
                // The spec reserves other versions for the future; ignore them.
                _ => {}
            }
        }
        candidates
    }

    fn is_empty(&self) -> bool {
        self.hmac.is_empty() && self.ed25519.is_empty()
    }

    fn match_secret(&self, secret: &SigningSecret, content: &[u8]) -> bool {
        match parse_key(secret) {
            Ok(Key::Symmetric(key)) => {
                mac::matches_any(&key, &[content], self.hmac.iter().map(Vec::as_slice))
            }
            Ok(Key::Public(key)) => self
                .ed25519
                .iter()
                .any(|signature| key.verify_strict(content, signature).is_ok()),
            // Signing keys are refused at startup; a bad secret matches nothing.
            Ok(Key::Private(_)) | Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests;
