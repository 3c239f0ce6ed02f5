//! Conformance vectors from the Standard Webhooks reference libraries, and
//! one test per parsing rule.

use super::*;
use crate::signature::DEFAULT_TOLERANCE;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const PUBLIC_KEY: &str = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=";
const ED25519_SIGNATURE: &str =
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
}

fn secrets(values: &[&str]) -> Vec<SigningSecret> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| SigningSecret::new(*value, i.to_string()))
        .collect()
}

fn check_with(
    secret_values: &[&str],
    id: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
) -> Result<Verified, SignatureError> {
    let headers = [
        (ID_HEADER, id),
        (TIMESTAMP_HEADER, timestamp),
        (SIGNATURE_HEADER, signature),
    ];
    verify(
        &secrets(secret_values),
        &headers,
        body,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    )
}

fn check(signature: &str) -> Result<Verified, SignatureError> {
    check_with(&[SECRET], ID, &TIMESTAMP.to_string(), BODY, signature)
}

#[test]
fn the_reference_vector_is_accepted() {
    assert_eq!(check(SIGNATURE), Ok(Verified { secret_index: 0 }));
}

#[test]
fn signing_reproduces_the_reference_vector() {
    let headers = sign(&secrets(&[SECRET])[0], ID, at(TIMESTAMP), BODY).expect("signs");
    assert_eq!(Headers::get(&headers, SIGNATURE_HEADER), Some(SIGNATURE));
    assert_eq!(Headers::get(&headers, ID_HEADER), Some(ID));
    assert_eq!(Headers::get(&headers, TIMESTAMP_HEADER), Some("1614265330"));
}

#[test]
fn the_reference_vector_with_its_last_character_changed_is_rejected() {
    let changed = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
    assert_eq!(check(changed), Err(SignatureError::Mismatch));
}

#[test]
fn a_valid_signature_among_decoys_is_accepted() {
    let listed = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= \
                  v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= \
                  v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw= \
                  v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";
    assert_eq!(second_vector(listed), Ok(Verified { secret_index: 0 }));
}

#[test]
fn a_lone_wrong_signature_is_rejected() {
    let wrong = "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=";
    assert_eq!(second_vector(wrong), Err(SignatureError::Mismatch));
}

fn second_vector(listed: &str) -> Result<Verified, SignatureError> {
    let timestamp = 1_649_367_553;
    let headers = [
        (ID_HEADER, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        (TIMESTAMP_HEADER, "1649367553"),
        (SIGNATURE_HEADER, listed),
    ];
    verify(
        &secrets(&["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]),
        &headers,
        br#"{"email":"test@example.com","username":"test_user"}"#,
        at(timestamp),
        DEFAULT_TOLERANCE,
    )
}

#[test]
fn the_ed25519_reference_vector_is_accepted_with_the_public_key() {
    let result = check_with(&[PUBLIC_KEY], ID, "1614265330", BODY, ED25519_SIGNATURE);
    assert_eq!(result, Ok(Verified { secret_index: 0 }));
}

#[test]
fn an_ed25519_signature_over_a_changed_body_is_rejected() {
    let result = check_with(
        &[PUBLIC_KEY],
        ID,
        "1614265330",
        br#"{"test": 2432232315}"#,
        ED25519_SIGNATURE,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn a_public_key_does_not_check_hmac_signatures_nor_a_secret_ed25519_ones() {
    assert_eq!(
        check_with(&[PUBLIC_KEY], ID, "1614265330", BODY, SIGNATURE),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(check(ED25519_SIGNATURE), Err(SignatureError::Mismatch));
}

#[test]
fn rotation_reports_the_index_of_the_matching_key() {
    let result = check_with(
        &[SECRET, PUBLIC_KEY],
        ID,
        "1614265330",
        BODY,
        ED25519_SIGNATURE,
    );
    assert_eq!(result, Ok(Verified { secret_index: 1 }));
}

#[test]
fn a_signing_key_signs_v1a_that_its_public_key_verifies() {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let private = format!(
        "{SIGNING_KEY_PREFIX}{}",
        STANDARD.encode(signing.to_bytes())
    );
    let public = format!(
        "{PUBLIC_KEY_PREFIX}{}",
        STANDARD.encode(signing.verifying_key().to_bytes())
    );
    let headers = sign(&secrets(&[&private])[0], ID, at(TIMESTAMP), BODY).expect("signs");
    let listed = Headers::get(&headers, SIGNATURE_HEADER).expect("signature header");
    assert!(listed.starts_with("v1a,"));
    let result = verify(
        &secrets(&[&public]),
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Ok(Verified { secret_index: 0 }));
}

#[test]
fn a_signing_key_is_not_accepted_for_receiving() {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let private = format!(
        "{SIGNING_KEY_PREFIX}{}",
        STANDARD.encode(signing.to_bytes())
    );
    let headers = sign(&secrets(&[&private])[0], ID, at(TIMESTAMP), BODY).expect("signs");
    let result = verify(
        &secrets(&[&private]),
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn a_public_key_cannot_sign() {
    let result = sign(&secrets(&[PUBLIC_KEY])[0], ID, at(TIMESTAMP), BODY);
    assert_eq!(result.err(), Some(SecretError::PublicKeyCannotSign));
}

#[test]
fn a_secret_without_the_whsec_prefix_is_decoded_as_base64() {
    let bare = SECRET.trim_start_matches(SECRET_PREFIX);
    let result = check_with(&[bare], ID, "1614265330", BODY, SIGNATURE);
    assert_eq!(result, Ok(Verified { secret_index: 0 }));
}

#[test]
fn an_undecodable_secret_never_matches_but_a_later_one_does() {
    let result = check_with(
        &["whsec_not base64!", SECRET],
        ID,
        "1614265330",
        BODY,
        SIGNATURE,
    );
    assert_eq!(result, Ok(Verified { secret_index: 1 }));
}

#[test]
fn the_secret_string_itself_is_not_the_key() {
    // Keying HMAC with the undecoded `whsec_…` bytes is a classic mistake.
    let wrong_key = mac::tag(
        SECRET.as_bytes(),
        &[b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.", BODY],
    );
    let signature = format!("v1,{}", STANDARD.encode(wrong_key));
    assert_eq!(check(&signature), Err(SignatureError::Mismatch));
}

#[test]
fn an_empty_v1_signature_is_malformed_not_matched() {
    assert_eq!(check("v1,"), Err(SignatureError::Malformed));
    assert_eq!(check("v1, v1,"), Err(SignatureError::Malformed));
}

#[test]
fn only_unknown_versions_is_malformed() {
    let v2 = SIGNATURE.replacen("v1,", "v2,", 1);
    assert_eq!(check(&v2), Err(SignatureError::Malformed));
}

#[test]
fn unknown_versions_beside_a_valid_signature_are_ignored() {
    let listed = format!("v2,AAAA {SIGNATURE} v1b,zzzz");
    assert_eq!(check(&listed), Ok(Verified { secret_index: 0 }));
}

#[test]
fn a_prefix_of_the_valid_signature_is_rejected() {
    // 12 base64 characters decode (9 bytes) but are not the whole MAC.
    assert_eq!(check(&SIGNATURE[..15]), Err(SignatureError::Mismatch));
    // 10 characters do not decode at all, leaving nothing to check.
    assert_eq!(check(&SIGNATURE[..13]), Err(SignatureError::Malformed));
}

#[test]
fn entries_without_a_comma_are_ignored() {
    assert_eq!(check("v1"), Err(SignatureError::Malformed));
    assert_eq!(
        check(&SIGNATURE.replace(',', "")),
        Err(SignatureError::Malformed)
    );
}

#[test]
fn a_missing_or_blank_signature_header_is_missing() {
    let headers = [(ID_HEADER, ID), (TIMESTAMP_HEADER, "1614265330")];
    let result = verify(
        &secrets(&[SECRET]),
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Err(SignatureError::Missing));
    assert_eq!(check(""), Err(SignatureError::Missing));
    assert_eq!(check("  "), Err(SignatureError::Missing));
}

#[test]
fn a_missing_id_or_timestamp_is_malformed() {
    let no_id = [
        (TIMESTAMP_HEADER, "1614265330"),
        (SIGNATURE_HEADER, SIGNATURE),
    ];
    let no_timestamp = [(ID_HEADER, ID), (SIGNATURE_HEADER, SIGNATURE)];
    for headers in [no_id, no_timestamp] {
        let result = verify(
            &secrets(&[SECRET]),
            &headers,
            BODY,
            at(TIMESTAMP),
            DEFAULT_TOLERANCE,
        );
        assert_eq!(result, Err(SignatureError::Malformed));
    }
}

#[test]
fn a_non_integer_timestamp_is_malformed() {
    for timestamp in ["1614265330.0", "soon", "-1614265330"] {
        let result = check_with(&[SECRET], ID, timestamp, BODY, SIGNATURE);
        assert_eq!(result, Err(SignatureError::Malformed), "{timestamp:?}");
    }
}

#[test]
fn the_id_is_signed() {
    let result = check_with(&[SECRET], "msg_other", "1614265330", BODY, SIGNATURE);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn the_derived_id_depends_only_on_the_body() {
    assert_eq!(derived_id(BODY), derived_id(BODY));
    assert_ne!(derived_id(BODY), derived_id(b"other"));
    assert!(derived_id(BODY).starts_with("msg_"));
    assert_eq!(derived_id(BODY).len(), 4 + 32);
}

#[test]
fn the_public_key_of_a_signing_key_verifies_its_signatures() {
    let signing = SigningSecret::new("whsk_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "k");
    let public = public_key_of(&signing).unwrap();
    assert!(public.starts_with(PUBLIC_KEY_PREFIX));
    let headers = sign(&signing, ID, at(TIMESTAMP), BODY).unwrap();
    let result = verify(
        &secrets(&[&public]),
        &headers,
        BODY,
        at(TIMESTAMP),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(result, Ok(Verified { secret_index: 0 }));
    assert_eq!(
        public_key_of(&SigningSecret::new(SECRET, "k")),
        Err(SecretError::InvalidSigningKey)
    );
}
