//! Slack's documented example ("Verifying requests from Slack") and one
//! test per header rule.

use super::*;
use crate::signature::DEFAULT_TOLERANCE;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TIMESTAMP: i64 = 1_531_420_618;
const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
}

fn check_with(timestamp: &str, signature: &str, body: &[u8]) -> Result<Verified, SignatureError> {
    let headers = [(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)];
    verify(
        &[SigningSecret::new(SECRET, "0")],
        &headers,
        body,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    )
}

fn check(signature: &str) -> Result<Verified, SignatureError> {
    check_with("1531420618", signature, BODY)
}

#[test]
fn slacks_documented_vector_is_accepted() {
    assert_eq!(check(SIGNATURE), Ok(Verified { secret_index: 0 }));
}

#[test]
fn signing_reproduces_slacks_vector() {
    let headers = sign(&SigningSecret::new(SECRET, "0"), at(TIMESTAMP), BODY);
    assert_eq!(Headers::get(&headers, SIGNATURE_HEADER), Some(SIGNATURE));
    assert_eq!(Headers::get(&headers, TIMESTAMP_HEADER), Some("1531420618"));
}

#[test]
fn a_missing_or_empty_signature_is_missing() {
    let headers = [(TIMESTAMP_HEADER, "1531420618")];
    let result = verify(
        &[SigningSecret::new(SECRET, "0")],
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Err(SignatureError::Missing));
    assert_eq!(check(""), Err(SignatureError::Missing));
}

#[test]
fn an_empty_digest_is_malformed_not_matched() {
    assert_eq!(check("v0="), Err(SignatureError::Malformed));
}

#[test]
fn another_version_is_malformed() {
    assert_eq!(
        check(&SIGNATURE.replacen("v0=", "v1=", 1)),
        Err(SignatureError::Malformed)
    );
    assert_eq!(check(&SIGNATURE[3..]), Err(SignatureError::Malformed));
}

#[test]
fn a_prefix_of_the_valid_signature_is_rejected() {
    assert_eq!(
        check(&SIGNATURE[..SIGNATURE.len() - 2]),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check(&SIGNATURE[..SIGNATURE.len() - 1]),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn one_changed_character_is_rejected() {
    let changed = format!("{}4", &SIGNATURE[..SIGNATURE.len() - 1]);
    assert_eq!(check(&changed), Err(SignatureError::Mismatch));
}

#[test]
fn a_missing_or_non_integer_timestamp_is_malformed() {
    let headers = [(SIGNATURE_HEADER, SIGNATURE)];
    let result = verify(
        &[SigningSecret::new(SECRET, "0")],
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Err(SignatureError::Malformed));
    assert_eq!(
        check_with("1531420618.5", SIGNATURE, BODY),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn the_timestamp_is_signed() {
    assert_eq!(
        check_with("1531420619", SIGNATURE, BODY),
        Err(SignatureError::Mismatch)
    );
}
