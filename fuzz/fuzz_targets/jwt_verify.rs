//! The dashboard's JWT verification (`adapters::auth::JwtVerifier`), HS256
//! with an issuer and an audience configured. Each input is tried twice:
//! as a raw token, and as `header JSON\nclaims JSON` signed with the right
//! key, so that random claims reach the claim checks behind the signature.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adapters::auth::{JwtSettings, JwtVerifier};
use application::ports::TokenVerifier as _;
use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use hookd_fuzz::hmac_sha256;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KEY: &[u8] = b"hookd-fuzz-jwt-secret-0123456789abcdef";
const ISSUER: &str = "hookd";
const AUDIENCE: &str = "hookd-dashboard";
const LEEWAY: u64 = 60;

/// Decodes as leniently as any JWT library might, so the oracle never calls
/// a real MAC absent because of its encoding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn verifier() -> &'static JwtVerifier {
    static VERIFIER: std::sync::OnceLock<JwtVerifier> = std::sync::OnceLock::new();
    VERIFIER.get_or_init(|| {
        JwtVerifier::new(&JwtSettings {
            algorithm: jsonwebtoken::Algorithm::HS256,
            key: KEY.to_vec(),
            issuer: Some(ISSUER.to_owned()),
            audience: Some(AUDIENCE.to_owned()),
            leeway: Duration::from_secs(LEEWAY),
        })
        .expect("HS256 settings")
    })
}

/// The header's field the oracle checks.
#[derive(serde::Deserialize)]
struct CheckedHeader {
    #[serde(default)]
    alg: Value,
}

/// The claims the oracle checks, absent ones `null`.
#[derive(serde::Deserialize)]
struct Checked {
    #[serde(default)]
    sub: Value,
    #[serde(default)]
    exp: Value,
    #[serde(default)]
    nbf: Value,
    #[serde(default)]
    iss: Value,
    #[serde(default)]
    aud: Value,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Accepted ⇒ the third part is the HMAC of the first two under KEY.
fn check_raw(token: &str) {
    if verifier().verify(token).is_err() {
        return;
    }
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "accepted without three parts");
    let tag = hmac_sha256(KEY, &[parts[0].as_bytes(), b".", parts[1].as_bytes()]);
    assert_eq!(
        LENIENT.decode(parts[2]).ok().as_deref(),
        Some(&tag[..]),
        "accepted a wrong MAC"
    );
}

/// Accepted ⇒ every rule the verifier promises holds for the claims.
fn check_signed(header: &[u8], claims: &[u8]) {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let tag = hmac_sha256(KEY, &[signing_input.as_bytes()]);
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag));
    let before = unix_now();
    let Ok(principal) = verifier().verify(&token) else {
        return;
    };
    let after = unix_now();
    // Only the checked fields, unknown ones skipped as jsonwebtoken does:
    // serde_json does not validate what it skips (invalid UTF-8, numbers
    // out of range), so a `Value` of the whole token could fail where the
    // verifier rightly succeeds. Only the key's holder can sign such a token.
    let header: CheckedHeader =
        serde_json::from_slice(header).expect("accepted a header that is not JSON");
    assert_eq!(header.alg, "HS256", "accepted another algorithm");
    let claims: Checked =
        serde_json::from_slice(claims).expect("accepted claims that are not JSON");
    assert_eq!(
        claims.sub.as_str(),
        Some(principal.subject.as_str()),
        "another subject"
    );
    let exp = claims.exp.as_f64().expect("accepted without a numeric exp");
    assert!(
        exp + LEEWAY as f64 >= before as f64,
        "accepted an expired token"
    );
    if let Some(nbf) = claims.nbf.as_f64() {
        assert!(nbf <= (after + LEEWAY) as f64, "accepted before nbf");
    }
    assert_eq!(claims.iss, ISSUER, "accepted another issuer");
    let audience_ok = match &claims.aud {
        Value::String(aud) => aud == AUDIENCE,
        Value::Array(auds) => auds.iter().any(|aud| aud == AUDIENCE),
        _ => false,
    };
    assert!(audience_ok, "accepted another audience: {}", claims.aud);
}

fuzz_target!(|data: &[u8]| {
    check_raw(&String::from_utf8_lossy(data));
    let (header, claims) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], data),
    };
    check_signed(header, claims);
});
