//! Property tests: for random bodies and secrets, a correct signature
//! verifies, and flipping any single bit of the body or of the signature's
//! bytes does not. 64 cases each keep the suite fast. `mac_present`: accept
//! ⇔ a correct MAC is listed, and no input panics, for each scheme.

mod mac_present;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::{DEFAULT_TOLERANCE, Headers, SchemeKind, SignatureScheme, hmac_hex, standard_webhooks};
use crate::SigningSecret;

const NOW: i64 = 1_700_000_000;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).expect("valid timestamp")
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8 % bytes.len()] ^= 1 << (bit % 8);
}

/// Flips one bit of the MAC bytes inside a `v1,`/`v1a,` entry and re-encodes it.
fn flip_listed(value: &str, bit: usize) -> String {
    let (version, encoded) = value.split_once(',').expect("version,signature");
    let mut bytes = STANDARD.decode(encoded).expect("base64");
    flip(&mut bytes, bit);
    format!("{version},{}", STANDARD.encode(bytes))
}

fn standard_webhooks_headers(signature: String) -> [(&'static str, String); 3] {
    [
        (standard_webhooks::ID_HEADER, "msg_prop".to_owned()),
        (standard_webhooks::TIMESTAMP_HEADER, NOW.to_string()),
        (standard_webhooks::SIGNATURE_HEADER, signature),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hmac_hex_accepts_its_signature_and_no_flipped_bit(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        body in prop::collection::vec(any::<u8>(), 1..512),
        bit in any::<usize>(),
    ) {
        let secrets = [SigningSecret::new(secret, "p")];
        let signature = hmac_hex::sign(&secrets[0], &body);
        prop_assert!(hmac_hex::verify(&secrets, &signature, "", &body).is_ok());

        let mut flipped_body = body.clone();
        flip(&mut flipped_body, bit);
        prop_assert!(hmac_hex::verify(&secrets, &signature, "", &flipped_body).is_err());

        let mut mac = hex::decode(&signature).expect("hex");
        flip(&mut mac, bit);
        prop_assert!(hmac_hex::verify(&secrets, &hex::encode(mac), "", &body).is_err());
    }

    #[test]
    fn standard_webhooks_v1_accepts_its_signature_and_no_flipped_bit(
        key in prop::collection::vec(any::<u8>(), 24..64),
        body in prop::collection::vec(any::<u8>(), 1..512),
        bit in any::<usize>(),
    ) {
        let secrets = [SigningSecret::new(format!("whsec_{}", STANDARD.encode(key)), "p")];
        let signed = standard_webhooks::sign(&secrets[0], "msg_prop", now(), &body).expect("signs");
        let signature = Headers::get(&signed, standard_webhooks::SIGNATURE_HEADER).expect("signature").to_owned();
        let check = |signature: String, body: &[u8]| {
            standard_webhooks::verify(&secrets, &standard_webhooks_headers(signature), body, now(), DEFAULT_TOLERANCE)
        };
        prop_assert!(check(signature.clone(), &body).is_ok());

        let mut flipped_body = body.clone();
        flip(&mut flipped_body, bit);
        prop_assert!(check(signature.clone(), &flipped_body).is_err());
        prop_assert!(check(flip_listed(&signature, bit), &body).is_err());
    }

    #[test]
    fn standard_webhooks_v1a_accepts_its_signature_and_no_flipped_bit(
        seed in any::<[u8; 32]>(),
        body in prop::collection::vec(any::<u8>(), 1..512),
        bit in any::<usize>(),
    ) {
        let signing = SigningKey::from_bytes(&seed);
        let private = SigningSecret::new(format!("whsk_{}", STANDARD.encode(seed)), "p");
        let public = [SigningSecret::new(
            format!("whpk_{}", STANDARD.encode(signing.verifying_key().to_bytes())),
            "p",
        )];
        let signed = standard_webhooks::sign(&private, "msg_prop", now(), &body).expect("signs");
        let signature = Headers::get(&signed, standard_webhooks::SIGNATURE_HEADER).expect("signature").to_owned();
        let check = |signature: String, body: &[u8]| {
            standard_webhooks::verify(&public, &standard_webhooks_headers(signature), body, now(), DEFAULT_TOLERANCE)
        };
        prop_assert!(check(signature.clone(), &body).is_ok());

        let mut flipped_body = body.clone();
        flip(&mut flipped_body, bit);
        prop_assert!(check(signature.clone(), &flipped_body).is_err());
        prop_assert!(check(flip_listed(&signature, bit), &body).is_err());
    }

    #[test]
    fn every_scheme_rejects_a_flipped_body_bit(
        body in prop::collection::vec(any::<u8>(), 1..256),
        bit in any::<usize>(),
    ) {
        for kind in SchemeKind::ALL {
            let scheme = SignatureScheme::default_for(kind);
            let secret = SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "p");
            let headers = scheme.sign(&secret, &body, now(), Some("evt")).expect("signs");
            let secrets = [secret];
            prop_assert!(scheme.verify(&secrets, &headers, &body, now()).is_ok(), "{}", kind);
            let mut flipped = body.clone();
            flip(&mut flipped, bit);
            prop_assert!(scheme.verify(&secrets, &headers, &flipped, now()).is_err(), "{}", kind);
        }
    }
}
