//! Stripe's header rules. Stripe publishes no fixed vector, so ours was
//! built from the algorithm and cross-checked with Python's hmac module:
//!
//! ```text
//! python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test_hookd_stripe_vector",
//!   b"1700000000." + BODY, hashlib.sha256).hexdigest())'
//! ```

use super::*;
use crate::signature::DEFAULT_TOLERANCE;

const SECRET: &str = "whsec_test_hookd_stripe_vector";
const TIMESTAMP: i64 = 1_700_000_000;
const BODY: &[u8] =
    br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"invoice.paid"}"#;
const V1: &str = "208e7e314bc67f209067767ba7eac231a8271e80c912fda7b2c5dfe762c5f89e";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
}

fn check_secrets(
    secrets: &[SigningSecret],
    header: &str,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let headers = [(SIGNATURE_HEADER, header)];
    verify(secrets, &headers, body, at(TIMESTAMP), DEFAULT_TOLERANCE)
}

fn check(header: &str) -> Result<Verified, SignatureError> {
    check_secrets(&[SigningSecret::new(SECRET, "0")], header, BODY)
}

#[test]
fn the_python_cross_checked_vector_is_accepted() {
    assert_eq!(
        check(&format!("t=1700000000,v1={V1}")),
        Ok(Verified { secret_index: 0 })
    );
}

#[test]
fn signing_reproduces_the_vector() {
    let headers = sign(&SigningSecret::new(SECRET, "0"), at(TIMESTAMP), BODY);
    let expected = format!("t=1700000000,v1={V1}");
    assert_eq!(
        Headers::get(&headers, SIGNATURE_HEADER),
        Some(expected.as_str())
    );
}

#[test]
fn a_second_v1_matches_when_the_first_is_wrong() {
    let wrong = "0".repeat(64);
    assert_eq!(
        check(&format!("t=1700000000,v1={wrong},v1={V1}")),
        Ok(Verified { secret_index: 0 })
    );
}

#[test]
fn the_test_mode_v0_and_spaces_are_tolerated() {
    let header = format!(
        "t=1700000000, v1={V1}, v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    );
    assert_eq!(check(&header), Ok(Verified { secret_index: 0 }));
}

#[test]
fn the_secret_is_used_undecoded() {
    // Decoding `whsec_…` as Standard Webhooks does would give another key.
    let other = SigningSecret::new("test_hookd_stripe_vector", "0");
    let result = check_secrets(&[other], &format!("t=1700000000,v1={V1}"), BODY);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn a_missing_or_empty_header_is_missing() {
    let result = verify(
        &[SigningSecret::new(SECRET, "0")],
        &[("X-Other", "1")],
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Err(SignatureError::Missing));
    assert_eq!(check(""), Err(SignatureError::Missing));
}

#[test]
fn an_empty_v1_is_malformed_not_matched() {
    assert_eq!(check("t=1700000000,v1="), Err(SignatureError::Malformed));
    assert_eq!(check("t=1700000000,v1"), Err(SignatureError::Malformed));
}

#[test]
fn a_prefix_of_the_valid_signature_is_rejected() {
    assert_eq!(
        check(&format!("t=1700000000,v1={}", &V1[..62])),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn one_changed_character_is_rejected() {
    let changed = format!("{}f", &V1[..63]);
    assert_eq!(
        check(&format!("t=1700000000,v1={changed}")),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn only_other_schemes_is_malformed() {
    assert_eq!(
        check(&format!("t=1700000000,v0={V1}")),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        check(&format!("t=1700000000,v2={V1}")),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn a_missing_or_repeated_timestamp_is_malformed() {
    assert_eq!(check(&format!("v1={V1}")), Err(SignatureError::Malformed));
    assert_eq!(
        check(&format!("t=1700000000,t=1700000000,v1={V1}")),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn a_non_integer_timestamp_is_malformed() {
    assert_eq!(
        check(&format!("t=1700000000.0,v1={V1}")),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        check(&format!("t=,v1={V1}")),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn the_timestamp_is_signed() {
    let result = check_secrets(
        &[SigningSecret::new(SECRET, "0")],
        &format!("t=1700000001,v1={V1}"),
        BODY,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}
