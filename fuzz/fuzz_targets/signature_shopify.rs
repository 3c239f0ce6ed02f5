//! `shopify`: a random `X-Shopify-Hmac-Sha256` over a random body and secrets.
//! Input: now, secrets, X-Shopify-Hmac-Sha256, then the body.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::signature::shopify;
use hookd_fuzz::{Input, check_outcome, check_round_trip, hmac_sha256};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 1);
    let value = &input.fields[0];
    let headers = vec![(shopify::SIGNATURE_HEADER, value.as_str())];
    let scheme = domain::SignatureScheme::Shopify;
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    check_outcome(
        outcome,
        &input,
        // Canonical base64 only: one encoding per MAC.
        |secret| value.trim() == STANDARD.encode(hmac_sha256(secret.expose(), &[input.body])),
        None,
    );
    check_round_trip(&scheme, &input, "evt-1");
});
