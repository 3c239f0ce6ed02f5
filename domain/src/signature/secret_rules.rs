//! Startup checks on configured secrets, per scheme.
//!
//! Secrets reach the domain as the configured string's bytes (`b"whsec_…"`,
//! `b"It's a Secret…"`); each scheme decides how to read them. These checks
//! let the config layer refuse a secret that could never verify anything,
//! and, in production only, one too short to be safe.

use super::SchemeKind;
use super::standard_webhooks::{Key, parse_key};
use crate::SigningSecret;

/// The shortest key hookd accepts in production where the receiver chooses
/// the secret: 192 bits, the Standard Webhooks minimum.
pub const MIN_SECRET_LEN: usize = 24;

/// Why a configured secret cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is empty")]
    Empty,
    #[error("the secret is not base64 after its whsec_, whpk_ or whsk_ prefix")]
    Undecodable,
    #[error("the whpk_ key is not a valid ed25519 public key")]
    InvalidPublicKey,
    #[error("the whsk_ key is not a valid ed25519 signing key")]
    InvalidSigningKey,
    #[error(
        "a whsk_ signing key must not be configured to receive; configure its whpk_ public key"
    )]
    SigningKeyForReceiving,
    #[error("a whpk_ public key can verify but not sign")]
    PublicKeyCannotSign,
}

/// Whether `secret` can verify requests of `scheme` at all.
///
/// Accepts a [`SchemeKind`] or a `&SignatureScheme`.
///
/// # Errors
/// `Empty` for every scheme; for Standard Webhooks also `Undecodable`,
/// `InvalidPublicKey`, `InvalidSigningKey` and `SigningKeyForReceiving`.
pub fn validate_secret(
    scheme: impl Into<SchemeKind>,
    secret: &SigningSecret,
) -> Result<(), SecretError> {
    if secret.is_empty() {
        return Err(SecretError::Empty);
    }
    match scheme.into() {
        SchemeKind::StandardWebhooks => match parse_key(secret)? {
            Key::Symmetric(_) | Key::Public(_) => Ok(()),
            // Holding the private key on the receiving side defeats the point
            // of asymmetric signatures.
            Key::Private(_) => Err(SecretError::SigningKeyForReceiving),
        },
        SchemeKind::HmacHex
        | SchemeKind::Stripe
        | SchemeKind::Github
        | SchemeKind::Shopify
        | SchemeKind::Slack => Ok(()),
    }
}

/// Whether a receiver-chosen secret is shorter than [`MIN_SECRET_LEN`] bytes.
///
/// Separate from [`validate_secret`] so the config layer can apply it in
/// production only (the development default `supersecret` is 11 bytes).
/// Provider-chosen secrets (Stripe, GitHub, Shopify, Slack) and `whpk_` keys
/// are never too short; an undecodable Standard Webhooks secret is
/// [`validate_secret`]'s concern, not this one's.
pub fn too_short(scheme: impl Into<SchemeKind>, secret: &SigningSecret) -> bool {
    match scheme.into() {
        SchemeKind::HmacHex => secret.len() < MIN_SECRET_LEN,
        SchemeKind::StandardWebhooks => {
            matches!(parse_key(secret), Ok(Key::Symmetric(key)) if key.len() < MIN_SECRET_LEN)
        }
        SchemeKind::Stripe | SchemeKind::Github | SchemeKind::Shopify | SchemeKind::Slack => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SignatureScheme;

    fn secret(value: &str) -> SigningSecret {
        SigningSecret::new(value, "test")
    }

    #[test]
    fn empty_secrets_are_refused_for_every_scheme() {
        for kind in SchemeKind::ALL {
            assert_eq!(
                validate_secret(kind, &secret("")),
                Err(SecretError::Empty),
                "{kind}"
            );
        }
    }

    #[test]
    fn provider_and_hmac_hex_secrets_are_taken_as_given() {
        for kind in [
            SchemeKind::HmacHex,
            SchemeKind::Stripe,
            SchemeKind::Github,
            SchemeKind::Shopify,
            SchemeKind::Slack,
        ] {
            assert_eq!(
                validate_secret(kind, &secret("whsec_not base64!")),
                Ok(()),
                "{kind}"
            );
        }
    }

    #[test]
    fn standard_webhooks_secrets_and_public_keys_must_decode() {
        let sw = SchemeKind::StandardWebhooks;
        assert_eq!(
            validate_secret(sw, &secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
            Ok(())
        );
        assert_eq!(
            validate_secret(
                sw,
                &secret("whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=")
            ),
            Ok(())
        );
        assert_eq!(
            validate_secret(sw, &secret("whsec_not base64!")),
            Err(SecretError::Undecodable)
        );
        assert_eq!(
            validate_secret(sw, &secret("supersecret")),
            Err(SecretError::Undecodable)
        );
        assert_eq!(
            validate_secret(sw, &secret("whsec_")),
            Err(SecretError::Empty)
        );
    }

    #[test]
    fn a_public_key_of_the_wrong_length_or_weak_is_refused() {
        let sw = SchemeKind::StandardWebhooks;
        assert_eq!(
            validate_secret(sw, &secret("whpk_AAAA")),
            Err(SecretError::InvalidPublicKey)
        );
        // The identity point: small order, so it would "verify" forged signatures.
        let identity = "whpk_AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(
            validate_secret(sw, &secret(identity)),
            Err(SecretError::InvalidPublicKey)
        );
    }

    #[test]
    fn a_signing_key_is_refused_for_receiving() {
        let seed = "whsk_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
        let result = validate_secret(SchemeKind::StandardWebhooks, &secret(seed));
        assert_eq!(result, Err(SecretError::SigningKeyForReceiving));
    }

    #[test]
    fn a_scheme_value_can_be_passed_instead_of_a_kind() {
        let scheme = SignatureScheme::default_for(SchemeKind::StandardWebhooks);
        assert_eq!(
            validate_secret(&scheme, &secret("supersecret")),
            Err(SecretError::Undecodable)
        );
    }

    #[test]
    fn the_development_default_is_valid_but_too_short_for_hmac_hex() {
        let dev = secret("supersecret");
        assert_eq!(validate_secret(SchemeKind::HmacHex, &dev), Ok(()));
        assert!(too_short(SchemeKind::HmacHex, &dev));
        assert!(!too_short(SchemeKind::HmacHex, &secret(&"x".repeat(24))));
    }

    #[test]
    fn standard_webhooks_length_counts_decoded_bytes() {
        // 32 base64 characters decode to exactly 24 bytes.
        let sw = SchemeKind::StandardWebhooks;
        assert!(!too_short(
            sw,
            &secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        ));
        // 28 characters decode to 21 bytes, although the string is 34 long.
        assert!(too_short(sw, &secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La")));
        assert!(!too_short(
            sw,
            &secret("whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=")
        ));
    }

    #[test]
    fn provider_chosen_secrets_are_never_too_short() {
        for kind in [
            SchemeKind::Stripe,
            SchemeKind::Github,
            SchemeKind::Shopify,
            SchemeKind::Slack,
        ] {
            assert!(!too_short(kind, &secret("x")), "{kind}");
        }
    }
}
