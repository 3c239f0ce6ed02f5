//! `github`: a random `X-Hub-Signature-256` over a random body and secrets.
//! Input: now, secrets, X-Hub-Signature-256, then the body.
#![no_main]

use domain::signature::github;
use hookd_fuzz::{Input, check_outcome, check_round_trip, contains_hex, hmac_sha256};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 1);
    let value = &input.fields[0];
    let headers = vec![(github::SIGNATURE_HEADER, value.as_str())];
    let scheme = domain::SignatureScheme::Github;
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    check_outcome(
        outcome,
        &input,
        |secret| {
            value.trim_start().starts_with(github::PREFIX)
                && contains_hex(value, &hmac_sha256(secret.expose(), &[input.body]))
        },
        None,
    );
    check_round_trip(&scheme, &input, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
});
