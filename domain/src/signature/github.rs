//! `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! The same construction as `hmac-hex` with a fixed header and prefix, so it
//! reuses that verifier. GitHub sends no timestamp; replays are caught by
//! deduplicating on `X-GitHub-Delivery`.

use super::{Headers, SignatureError, Verified, hmac_hex};
use crate::SigningSecret;

pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
pub const PREFIX: &str = "sha256=";
/// The delivery's GUID, GitHub's event id.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";
/// The event's name (`push`, `issues`...), hookd's event type.
pub const EVENT_HEADER: &str = "X-GitHub-Event";

/// Verifies a GitHub request.
///
/// # Errors
/// As [`hmac_hex::verify`] with the `sha256=` prefix.
pub fn verify(
    secrets: &[SigningSecret],
    headers: &dyn Headers,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let value = headers.get(SIGNATURE_HEADER).unwrap_or_default();
    hmac_hex::verify(secrets, value, PREFIX, body)
}

/// The signature header for `body`, and `X-GitHub-Delivery` when `id` is given.
pub fn sign(secret: &SigningSecret, body: &[u8], id: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![(
        SIGNATURE_HEADER.to_owned(),
        format!("{PREFIX}{}", hmac_hex::sign(secret, body)),
    )];
    headers.extend(id.map(|id| (DELIVERY_HEADER.to_owned(), id.to_owned())));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented example ("Validating webhook deliveries").
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn check(value: &str, body: &[u8]) -> Result<Verified, SignatureError> {
        verify(
            &[SigningSecret::new(SECRET, "0")],
            &[(SIGNATURE_HEADER, value)],
            body,
        )
    }

    #[test]
    fn githubs_documented_vector_is_accepted() {
        assert_eq!(check(SIGNATURE, BODY), Ok(Verified { secret_index: 0 }));
    }

    #[test]
    fn signing_reproduces_githubs_vector_and_sets_the_delivery() {
        let headers = sign(&SigningSecret::new(SECRET, "0"), BODY, Some("guid-1"));
        assert_eq!(Headers::get(&headers, SIGNATURE_HEADER), Some(SIGNATURE));
        assert_eq!(Headers::get(&headers, DELIVERY_HEADER), Some("guid-1"));
    }

    #[test]
    fn the_header_name_is_case_insensitive() {
        let headers = [("x-hub-signature-256", SIGNATURE)];
        let result = verify(&[SigningSecret::new(SECRET, "0")], &headers, BODY);
        assert!(result.is_ok());
    }

    #[test]
    fn a_digest_without_the_sha256_prefix_is_malformed() {
        assert_eq!(check(&SIGNATURE[7..], BODY), Err(SignatureError::Malformed));
        assert_eq!(check("sha256=", BODY), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_legacy_sha1_header_is_not_enough() {
        let headers = [(
            "X-Hub-Signature",
            "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
        )];
        let result = verify(&[SigningSecret::new(SECRET, "0")], &headers, BODY);
        assert_eq!(result, Err(SignatureError::Missing));
    }

    #[test]
    fn a_prefix_of_the_valid_signature_is_rejected() {
        assert_eq!(
            check(&SIGNATURE[..SIGNATURE.len() - 2], BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_changed_body_byte_is_rejected() {
        assert_eq!(
            check(SIGNATURE, b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
    }
}
