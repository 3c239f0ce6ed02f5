//! `standard-webhooks`: random `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` over a random body and secrets (`whsec_` HMAC keys,
//! `whpk_` ed25519 public keys, or anything else).
//! Input: now, secrets, id, timestamp, signature, then the body.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::SigningSecret;
use domain::signature::{DEFAULT_TOLERANCE, standard_webhooks as sw};
use ed25519_dalek::{Signature, VerifyingKey};
use hookd_fuzz::{Input, TOLERANCE_SECS, check_outcome, check_round_trip, fresh, hmac_sha256};
use libfuzzer_sys::fuzz_target;

/// Whether one of the listed `version,base64` entries is `secret`'s
/// signature over `content`, read from the spec rather than from hookd.
fn signed_by(secret: &SigningSecret, listed: &str, content: &[u8]) -> bool {
    let entries = || {
        listed
            .split_ascii_whitespace()
            .filter_map(|e| e.split_once(','))
    };
    let raw = secret.expose();
    if let Some(encoded) = raw.strip_prefix(b"whpk_") {
        let Some(key) = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
        else {
            return false;
        };
        entries()
            .filter(|(version, _)| *version == "v1a")
            .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
            .filter_map(|bytes| Signature::from_slice(&bytes).ok())
            .any(|signature| key.verify_strict(content, &signature).is_ok())
    } else if raw.starts_with(b"whsk_") {
        false
    } else {
        let encoded = raw.strip_prefix(b"whsec_").unwrap_or(raw);
        let Ok(key) = STANDARD.decode(encoded) else {
            return false;
        };
        let expected = STANDARD.encode(hmac_sha256(&key, &[content]));
        !key.is_empty()
            && entries().any(|(version, encoded)| version == "v1" && encoded == expected)
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 3);
    let [id, timestamp, listed] = [&input.fields[0], &input.fields[1], &input.fields[2]];
    let headers = vec![
        (sw::ID_HEADER, id.as_str()),
        (sw::TIMESTAMP_HEADER, timestamp.as_str()),
        (sw::SIGNATURE_HEADER, listed.as_str()),
    ];
    let scheme = domain::SignatureScheme::StandardWebhooks {
        tolerance: DEFAULT_TOLERANCE,
    };
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    let (id, ts) = (id.trim(), timestamp.trim());
    let content = [id.as_bytes(), b".", ts.as_bytes(), b".", input.body].concat();
    check_outcome(
        outcome,
        &input,
        |secret| !id.is_empty() && signed_by(secret, listed, &content),
        fresh(ts, input.now, TOLERANCE_SECS),
    );
    // A `whsk_` signing key signs, but a receiver refuses it by design.
    if input
        .secrets
        .first()
        .is_some_and(|s| !s.expose().starts_with(b"whsk_"))
    {
        let round_trip_id = if id.is_empty() { "msg_fuzz" } else { id };
        check_round_trip(&scheme, &input, round_trip_id);
    }
});
