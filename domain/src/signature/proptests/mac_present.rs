//! Accept ⇔ a correct MAC is present, for each scheme: the request's
//! signature header lists up to four candidates in the scheme's own format,
//! random ones and (or not) the real one, at any position. It verifies
//! exactly when the real one is listed. Plus: no input makes any scheme panic.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::super::{
    DEFAULT_TOLERANCE, SchemeKind, SignatureScheme, github, mac, shopify, slack, standard_webhooks,
    stripe,
};
use crate::SigningSecret;

const NOW: i64 = 1_700_000_000;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).expect("valid timestamp")
}

/// Random 32-byte candidates and, when `real` is given, the real MAC at
/// `position` (modulo the length).
fn candidates(random: Vec<[u8; 32]>, real: Option<[u8; 32]>, position: usize) -> Vec<[u8; 32]> {
    let mut listed = random;
    if let Some(real) = real {
        let at = position % (listed.len() + 1);
        listed.insert(at, real);
    }
    listed
}

/// A secret, random candidates (0..=3), whether the real MAC is listed and where.
fn case() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<[u8; 32]>, bool, usize)> {
    (
        prop::collection::vec(any::<u8>(), 1..48),
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(any::<[u8; 32]>(), 0..4),
        any::<bool>(),
        any::<usize>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn github_accepts_exactly_when_the_real_mac_is_listed((secret, body, random, listed, at) in case()) {
        let real = mac::tag(&secret, &[&body]);
        // One header holds one digest: the real one or the first random one.
        let Some(shown) = candidates(random, listed.then_some(real), at).first().copied() else {
            return Ok(());
        };
        let headers = [(github::SIGNATURE_HEADER, format!("{}{}", github::PREFIX, hex::encode(shown)))];
        let outcome = SignatureScheme::Github.verify(&[SigningSecret::new(secret, "p")], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), shown == real);
    }

    #[test]
    fn hmac_hex_accepts_exactly_when_the_real_mac_is_listed((secret, body, random, listed, at) in case()) {
        let real = mac::tag(&secret, &[&body]);
        let Some(shown) = candidates(random, listed.then_some(real), at).first().copied() else {
            return Ok(());
        };
        let headers = [("X-Signature", hex::encode_upper(shown))];
        let outcome = SignatureScheme::default().verify(&[SigningSecret::new(secret, "p")], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), shown == real);
    }

    #[test]
    fn shopify_accepts_exactly_when_the_real_mac_is_listed((secret, body, random, listed, at) in case()) {
        let real = mac::tag(&secret, &[&body]);
        let Some(shown) = candidates(random, listed.then_some(real), at).first().copied() else {
            return Ok(());
        };
        let headers = [(shopify::SIGNATURE_HEADER, STANDARD.encode(shown))];
        let outcome = SignatureScheme::Shopify.verify(&[SigningSecret::new(secret, "p")], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), shown == real);
    }

    #[test]
    fn slack_accepts_exactly_when_the_real_mac_is_listed((secret, body, random, listed, at) in case()) {
        let ts = NOW.to_string();
        let real = mac::tag(&secret, &[b"v0:", ts.as_bytes(), b":", &body]);
        let Some(shown) = candidates(random, listed.then_some(real), at).first().copied() else {
            return Ok(());
        };
        let headers = [
            (slack::TIMESTAMP_HEADER, ts),
            (slack::SIGNATURE_HEADER, format!("v0={}", hex::encode(shown))),
        ];
        let scheme = SignatureScheme::Slack { tolerance: DEFAULT_TOLERANCE };
        let outcome = scheme.verify(&[SigningSecret::new(secret, "p")], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), shown == real);
    }

    #[test]
    fn stripe_accepts_exactly_when_the_real_mac_is_listed((secret, body, random, listed, at) in case()) {
        let ts = NOW.to_string();
        let real = mac::tag(&secret, &[ts.as_bytes(), b".", &body]);
        let listed_macs = candidates(random, listed.then_some(real), at);
        prop_assume!(!listed_macs.is_empty());
        // The real MAC under the test-mode key `v0` never counts.
        let mut value = format!("t={ts},v0={}", hex::encode(real));
        for candidate in &listed_macs {
            value.push_str(&format!(",v1={}", hex::encode(candidate)));
        }
        let headers = [(stripe::SIGNATURE_HEADER, value)];
        let scheme = SignatureScheme::Stripe { tolerance: DEFAULT_TOLERANCE };
        let outcome = scheme.verify(&[SigningSecret::new(secret, "p")], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), listed);
    }

    #[test]
    fn standard_webhooks_accepts_exactly_when_the_real_mac_is_listed((key, body, random, listed, at) in case()) {
        let ts = NOW.to_string();
        let real = mac::tag(&key, &[b"msg_1.", ts.as_bytes(), b".", &body]);
        let listed_macs = candidates(random, listed.then_some(real), at);
        prop_assume!(!listed_macs.is_empty());
        let value = listed_macs
            .iter()
            .map(|candidate| format!("v1,{}", STANDARD.encode(candidate)))
            .collect::<Vec<_>>()
            .join(" ");
        let headers = [
            (standard_webhooks::ID_HEADER, "msg_1".to_owned()),
            (standard_webhooks::TIMESTAMP_HEADER, ts),
            (standard_webhooks::SIGNATURE_HEADER, value),
        ];
        let secret = SigningSecret::new(format!("whsec_{}", STANDARD.encode(&key)), "p");
        let scheme = SignatureScheme::StandardWebhooks { tolerance: DEFAULT_TOLERANCE };
        let outcome = scheme.verify(&[secret], &headers, &body, now());
        prop_assert_eq!(outcome.is_ok(), listed);
    }

    /// Any header values, body and secrets: every scheme answers, none panics,
    /// and none accepts (a random header is never a correct MAC).
    #[test]
    fn no_input_makes_a_scheme_panic_or_accept(
        values in prop::collection::vec(any::<String>(), 4),
        body in prop::collection::vec(any::<u8>(), 0..128),
        secrets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..3),
        now_secs in 0..=i64::from(i32::MAX),
    ) {
        let secrets: Vec<SigningSecret> = secrets.into_iter().map(|s| SigningSecret::new(s, "p")).collect();
        let now = DateTime::from_timestamp(now_secs, 0).expect("in range");
        let names = [
            "X-Signature", github::SIGNATURE_HEADER, shopify::SIGNATURE_HEADER, slack::SIGNATURE_HEADER,
            slack::TIMESTAMP_HEADER, stripe::SIGNATURE_HEADER, standard_webhooks::ID_HEADER,
            standard_webhooks::TIMESTAMP_HEADER, standard_webhooks::SIGNATURE_HEADER,
        ];
        let headers: Vec<(&str, &str)> = names
            .iter()
            .zip(values.iter().cycle())
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        for kind in SchemeKind::ALL {
            let outcome = SignatureScheme::default_for(kind).verify(&secrets, &headers, &body, now);
            prop_assert!(outcome.is_err(), "{} accepted {:?}", kind, headers);
        }
    }
}
