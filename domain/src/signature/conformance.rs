//! Rules every scheme must follow, checked through the public
//! `SignatureScheme::sign`/`verify` pair so each scheme gets the same cases.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Headers, SchemeKind, SignatureError, SignatureScheme, Verified};
use crate::SigningSecret;

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"event_id":"evt_1","id":"evt_1","type":"invoice.paid"}"#;
const TOLERANCE: Duration = Duration::from_secs(300);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
}

fn scheme(kind: SchemeKind) -> SignatureScheme {
    match kind {
        SchemeKind::StandardWebhooks => SignatureScheme::StandardWebhooks {
            tolerance: TOLERANCE,
        },
        SchemeKind::Stripe => SignatureScheme::Stripe {
            tolerance: TOLERANCE,
        },
        SchemeKind::Slack => SignatureScheme::Slack {
            tolerance: TOLERANCE,
        },
        other => SignatureScheme::default_for(other),
    }
}

fn secret(kind: SchemeKind) -> SigningSecret {
    match kind {
        SchemeKind::StandardWebhooks => {
            SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "current")
        }
        _ => SigningSecret::new("a-secret-of-at-least-24-bytes", "current"),
    }
}

fn wrong_secret(kind: SchemeKind) -> SigningSecret {
    match kind {
        SchemeKind::StandardWebhooks => {
            SigningSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "old")
        }
        _ => SigningSecret::new("another-secret-entirely", "old"),
    }
}

fn signature_header(kind: SchemeKind) -> &'static str {
    match kind {
        SchemeKind::HmacHex => "X-Signature",
        SchemeKind::StandardWebhooks => super::standard_webhooks::SIGNATURE_HEADER,
        SchemeKind::Stripe => super::stripe::SIGNATURE_HEADER,
        SchemeKind::Github => super::github::SIGNATURE_HEADER,
        SchemeKind::Shopify => super::shopify::SIGNATURE_HEADER,
        SchemeKind::Slack => super::slack::SIGNATURE_HEADER,
    }
}

fn signed(kind: SchemeKind, signed_at: i64) -> Vec<(String, String)> {
    scheme(kind)
        .sign(&secret(kind), BODY, at(signed_at), Some("evt_1"))
        .expect("signs")
}

fn verify(
    kind: SchemeKind,
    headers: &dyn Headers,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    scheme(kind).verify(&[secret(kind)], headers, body, at(NOW))
}

/// Rewrites the signature header's value.
fn with_signature(kind: SchemeKind, edit: impl Fn(&str) -> String) -> Vec<(String, String)> {
    let name = signature_header(kind);
    signed(kind, NOW)
        .into_iter()
        .map(|(key, value)| {
            if key == name {
                let edited = edit(&value);
                (key, edited)
            } else {
                (key, value)
            }
        })
        .collect()
}

const TIMED: [SchemeKind; 3] = [
    SchemeKind::StandardWebhooks,
    SchemeKind::Stripe,
    SchemeKind::Slack,
];
const UNTIMED: [SchemeKind; 3] = [SchemeKind::HmacHex, SchemeKind::Github, SchemeKind::Shopify];

#[test]
fn every_scheme_accepts_what_it_signs() {
    for kind in SchemeKind::ALL {
        assert_eq!(
            verify(kind, &signed(kind, NOW), BODY),
            Ok(Verified { secret_index: 0 }),
            "{kind}"
        );
    }
}

#[test]
fn every_scheme_reports_an_absent_signature_header_as_missing() {
    for kind in SchemeKind::ALL {
        let name = signature_header(kind);
        let headers: Vec<_> = signed(kind, NOW)
            .into_iter()
            .filter(|(key, _)| key != name)
            .collect();
        assert_eq!(
            verify(kind, &headers, BODY),
            Err(SignatureError::Missing),
            "{kind}"
        );
    }
}

#[test]
fn every_scheme_reports_an_empty_signature_header_as_missing() {
    for kind in SchemeKind::ALL {
        let headers = with_signature(kind, |_| String::new());
        assert_eq!(
            verify(kind, &headers, BODY),
            Err(SignatureError::Missing),
            "{kind}"
        );
    }
}

#[test]
fn every_scheme_rejects_one_changed_body_byte() {
    for kind in SchemeKind::ALL {
        let mut body = BODY.to_vec();
        body[10] ^= 0x01;
        assert_eq!(
            verify(kind, &signed(kind, NOW), &body),
            Err(SignatureError::Mismatch),
            "{kind}"
        );
    }
}

#[test]
fn every_scheme_rejects_its_signature_with_one_character_changed() {
    for kind in SchemeKind::ALL {
        // Ten characters from the end is inside the MAC for every encoding,
        // and away from base64's padding bits.
        let headers = with_signature(kind, |value| {
            let mut chars: Vec<char> = value.chars().collect();
            let i = chars.len() - 10;
            chars[i] = if chars[i] == '0' { '1' } else { '0' };
            chars.into_iter().collect()
        });
        assert_eq!(
            verify(kind, &headers, BODY),
            Err(SignatureError::Mismatch),
            "{kind}"
        );
    }
}

#[test]
fn every_scheme_rejects_a_wrong_secret() {
    for kind in SchemeKind::ALL {
        let result = scheme(kind).verify(&[wrong_secret(kind)], &signed(kind, NOW), BODY, at(NOW));
        assert_eq!(result, Err(SignatureError::Mismatch), "{kind}");
    }
}

#[test]
fn every_scheme_reports_which_secret_of_a_rotation_matched() {
    for kind in SchemeKind::ALL {
        let rotation = [wrong_secret(kind), secret(kind)];
        let result = scheme(kind).verify(&rotation, &signed(kind, NOW), BODY, at(NOW));
        assert_eq!(result, Ok(Verified { secret_index: 1 }), "{kind}");
    }
}

#[test]
fn timed_schemes_reject_a_timestamp_301_seconds_old_as_stale() {
    for kind in TIMED {
        assert_eq!(
            verify(kind, &signed(kind, NOW - 301), BODY),
            Err(SignatureError::Stale),
            "{kind}"
        );
    }
}

#[test]
fn timed_schemes_reject_a_timestamp_301_seconds_ahead_as_future() {
    for kind in TIMED {
        assert_eq!(
            verify(kind, &signed(kind, NOW + 301), BODY),
            Err(SignatureError::Future),
            "{kind}"
        );
    }
}

#[test]
fn timed_schemes_accept_300_seconds_either_way() {
    for kind in TIMED {
        for signed_at in [NOW - 300, NOW + 300] {
            assert!(
                verify(kind, &signed(kind, signed_at), BODY).is_ok(),
                "{kind} {signed_at}"
            );
        }
    }
}

#[test]
fn an_old_timestamp_with_a_bad_signature_is_a_mismatch_not_stale() {
    for kind in TIMED {
        let result = scheme(kind).verify(
            &[wrong_secret(kind)],
            &signed(kind, NOW - 3_600),
            BODY,
            at(NOW),
        );
        assert_eq!(result, Err(SignatureError::Mismatch), "{kind}");
    }
}

#[test]
fn untimed_schemes_do_not_look_at_the_clock() {
    for kind in UNTIMED {
        let result = scheme(kind).verify(&[secret(kind)], &signed(kind, 0), BODY, at(NOW));
        assert!(result.is_ok(), "{kind}");
    }
}
