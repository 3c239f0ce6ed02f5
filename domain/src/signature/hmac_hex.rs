//! `hmac-hex`: `X-Signature: <hex HMAC-SHA256 of the raw body>`, the seed's scheme.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{SignatureError, Verified};
use crate::SigningSecret;

type HmacSha256 = Hmac<Sha256>;

/// The signature header value for `body`: lower-case hex, no prefix.
pub fn sign(secret: &SigningSecret, body: &[u8]) -> String {
    let mut mac = mac_for(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A configured prefix no request could carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a signature prefix is printable ASCII not starting with a space, e.g. sha256=")]
pub struct InvalidPrefix;

/// Checks a configured prefix (empty is fine). Header values are read as
/// visible ASCII and spaces, and trimmed, so with any other prefix nothing
/// could ever verify: the source would refuse every request. (Found by fuzzing.)
///
/// # Errors
/// [`InvalidPrefix`].
pub fn validate_prefix(prefix: &str) -> Result<(), InvalidPrefix> {
    let printable = prefix.bytes().all(|b| (b' '..=b'~').contains(&b));
    if printable && !prefix.starts_with(' ') {
        Ok(())
    } else {
        Err(InvalidPrefix)
    }
}

/// Verifies a header value of the form `{prefix}{hex}` (either hex case).
///
/// # Errors
/// `Missing` for an empty value, `Malformed` for a missing prefix or bad hex,
/// `Mismatch` when no secret produces the decoded MAC.
pub fn verify(
    secrets: &[SigningSecret],
    header_value: &str,
    prefix: &str,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let header_value = header_value.trim();
    if header_value.is_empty() {
        return Err(SignatureError::Missing);
    }
    let digest_hex = header_value
        .strip_prefix(prefix)
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(digest_hex).map_err(|_| SignatureError::Malformed)?;
    secrets
        .iter()
        .position(|secret| {
            let mut mac = mac_for(secret);
            mac.update(body);
            // Constant-time comparison; a wrong length fails without comparing.
            mac.verify_slice(&expected).is_ok()
        })
        .map(|secret_index| Verified { secret_index })
        .ok_or(SignatureError::Mismatch)
}

fn mac_for(secret: &SigningSecret) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(secret.expose()).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event_id":"evt_123","type":"invoice.paid"}"#;
    // printf '%s' '{"event_id":"evt_123","type":"invoice.paid"}' | openssl dgst -sha256 -hmac supersecret
    const VECTOR: &str = "658a30ffb12901daf4c64c490d8303d8a1fb38660fcf1aa866ff39cdccfdd27c";

    fn secrets() -> Vec<SigningSecret> {
        vec![SigningSecret::new("supersecret", "0")]
    }

    fn check(value: &str, body: &[u8]) -> Result<Verified, SignatureError> {
        verify(&secrets(), value, "", body)
    }

    #[test]
    fn the_seed_vector_matches_openssl() {
        assert_eq!(sign(&secrets()[0], BODY), VECTOR);
    }

    #[test]
    fn the_correct_signature_is_accepted() {
        assert_eq!(check(VECTOR, BODY), Ok(Verified { secret_index: 0 }));
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        assert!(check(&VECTOR.to_uppercase(), BODY).is_ok());
    }

    #[test]
    fn a_wrong_secret_is_rejected() {
        let other = [SigningSecret::new("not-the-secret", "0")];
        assert_eq!(
            verify(&other, VECTOR, "", BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_changed_body_byte_is_rejected() {
        let mut body = BODY.to_vec();
        body[5] ^= 1;
        assert_eq!(check(VECTOR, &body), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_same_json_with_other_spacing_is_rejected() {
        let respaced = br#"{"event_id": "evt_123", "type": "invoice.paid"}"#;
        assert_eq!(check(VECTOR, respaced), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_truncated_signature_is_rejected() {
        assert_eq!(check(&VECTOR[..62], BODY), Err(SignatureError::Mismatch));
        assert_eq!(check(&VECTOR[..63], BODY), Err(SignatureError::Malformed));
    }

    #[test]
    fn empty_odd_length_and_non_hex_signatures_are_rejected() {
        assert_eq!(check("", BODY), Err(SignatureError::Missing));
        assert_eq!(check("   ", BODY), Err(SignatureError::Missing));
        assert_eq!(check("abc", BODY), Err(SignatureError::Malformed));
        let non_hex = format!("{}zz", &VECTOR[..62]);
        assert_eq!(check(&non_hex, BODY), Err(SignatureError::Malformed));
    }

    #[test]
    fn a_later_secret_in_a_rotation_matches_with_its_index() {
        let rotation = [
            SigningSecret::new("old-secret", "old"),
            SigningSecret::new("supersecret", "new"),
        ];
        assert_eq!(
            verify(&rotation, VECTOR, "", BODY),
            Ok(Verified { secret_index: 1 })
        );
    }

    #[test]
    fn a_prefix_that_verifies_nothing_is_invalid() {
        // Fuzzing found `"\rx"`: signed as `\rx<hex>`, read trimmed as `x<hex>`.
        for prefix in ["\rx", " sha256=", "\tv1="] {
            let signature = format!("{prefix}{VECTOR}");
            assert_eq!(
                verify(&secrets(), &signature, prefix, BODY),
                Err(SignatureError::Malformed),
                "{prefix:?}"
            );
            assert_eq!(validate_prefix(prefix), Err(InvalidPrefix), "{prefix:?}");
        }
        // Never readable from a request: not visible ASCII.
        for prefix in ["é=", "a\0", "sha256=\t"] {
            assert_eq!(validate_prefix(prefix), Err(InvalidPrefix), "{prefix:?}");
        }
        for prefix in ["", "sha256=", "v1,", "Signature sha256=", "v1= "] {
            assert_eq!(validate_prefix(prefix), Ok(()), "{prefix:?}");
        }
    }

    #[test]
    fn a_configured_prefix_is_required_and_stripped() {
        let prefixed = format!("sha256={VECTOR}");
        assert!(verify(&secrets(), &prefixed, "sha256=", BODY).is_ok());
        assert_eq!(
            verify(&secrets(), VECTOR, "sha256=", BODY),
            Err(SignatureError::Malformed)
        );
    }
}
