//! How many signatures a request offers, counted before any is checked.
//!
//! Verifying costs a MAC (or an ed25519 check) per candidate and secret, so a
//! header listing thousands of candidates would buy an unauthenticated sender
//! that much CPU. Counting is a cheap scan of the header; a request over the
//! limit is refused without verifying any candidate.

use super::{Headers, SignatureScheme, present, standard_webhooks, stripe};

/// Candidates a request may offer unless configured otherwise: enough for
/// senders that list several signatures while rotating keys.
pub const DEFAULT_MAX_CANDIDATES: usize = 8;

impl SignatureScheme {
    /// The signatures `headers` offer for this scheme: every entry of a
    /// Standard Webhooks `webhook-signature` list (any version), every
    /// non-`t` element of `Stripe-Signature`; the single-header schemes read
    /// one value, so at most one.
    pub fn candidate_count(&self, headers: &dyn Headers) -> usize {
        match self {
            Self::StandardWebhooks { .. } => present(headers, standard_webhooks::SIGNATURE_HEADER)
                .map_or(0, |listed| listed.split_ascii_whitespace().count()),
            Self::Stripe { .. } => present(headers, stripe::SIGNATURE_HEADER).map_or(0, |value| {
                value
                    .split(',')
                    .filter(|item| {
                        item.split_once('=')
                            .is_some_and(|(key, _)| key.trim() != "t")
                    })
                    .count()
            }),
            Self::HmacHex { .. } | Self::Github | Self::Shopify | Self::Slack { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::{
        SigningSecret,
        signature::{SchemeKind, SignatureError, Verified},
    };

    fn count(kind: SchemeKind, header: &str, value: &str) -> usize {
        SignatureScheme::default_for(kind).candidate_count(&[(header, value)])
    }

    #[test]
    fn standard_webhooks_counts_every_listed_entry() {
        let sw = SchemeKind::StandardWebhooks;
        assert_eq!(count(sw, "webhook-signature", "v1,AAAA"), 1);
        assert_eq!(count(sw, "webhook-signature", "v1,AAAA v1a,BBBB v2,CC"), 3);
        assert_eq!(count(sw, "other", "v1,AAAA"), 0);
    }

    #[test]
    fn stripe_counts_signatures_but_not_the_timestamp() {
        let header = "Stripe-Signature";
        assert_eq!(count(SchemeKind::Stripe, header, "t=1,v1=ab,v0=cd"), 2);
        assert_eq!(count(SchemeKind::Stripe, header, "t=1"), 0);
        let many = format!("t=1{}", ",v1=ab".repeat(20));
        assert_eq!(count(SchemeKind::Stripe, header, &many), 20);
    }

    /// A valid signature behind `decoys` wrong ones, as a sender would list them.
    fn offered_with_decoys(kind: SchemeKind, decoys: usize) -> Result<Verified, SignatureError> {
        let scheme = SignatureScheme::default_for(kind);
        let secret = SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "0");
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let body = br#"{"id":"evt_1"}"#;
        let mut headers = scheme.sign(&secret, body, now, Some("msg_1")).unwrap();
        for (name, value) in &mut headers {
            if name.eq_ignore_ascii_case(standard_webhooks::SIGNATURE_HEADER) {
                let decoy = " v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".repeat(decoys);
                value.push_str(&decoy);
            } else if name.eq_ignore_ascii_case(stripe::SIGNATURE_HEADER) {
                value.push_str(&format!(",v1={}", "00".repeat(32)).repeat(decoys));
            }
        }
        scheme.verify(&[secret], &headers, body, now)
    }

    #[test]
    fn up_to_the_limit_a_valid_signature_among_decoys_verifies() {
        for kind in [SchemeKind::StandardWebhooks, SchemeKind::Stripe] {
            let result = offered_with_decoys(kind, DEFAULT_MAX_CANDIDATES - 1);
            assert_eq!(result, Ok(Verified { secret_index: 0 }), "{kind}");
        }
    }

    #[test]
    fn past_the_limit_nothing_is_verified_even_a_valid_signature() {
        for kind in [SchemeKind::StandardWebhooks, SchemeKind::Stripe] {
            let result = offered_with_decoys(kind, DEFAULT_MAX_CANDIDATES);
            assert_eq!(result, Err(SignatureError::TooManySignatures), "{kind}");
            assert_eq!(SignatureError::TooManySignatures.reason(), "malformed");
        }
    }

    #[test]
    fn a_configured_limit_applies() {
        let scheme = SignatureScheme::default_for(SchemeKind::StandardWebhooks);
        let headers = [("webhook-signature", "v1,AAAA v1,BBBB")];
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let secret = [SigningSecret::new("whsec_AAAA", "0")];
        let result = scheme.verify_bounded(&secret, &headers, b"", now, 1);
        assert_eq!(result, Err(SignatureError::TooManySignatures));
    }

    #[test]
    fn single_header_schemes_offer_one() {
        for kind in [
            SchemeKind::HmacHex,
            SchemeKind::Github,
            SchemeKind::Shopify,
            SchemeKind::Slack,
        ] {
            assert_eq!(count(kind, "x", "y"), 1, "{kind}");
        }
    }
}
