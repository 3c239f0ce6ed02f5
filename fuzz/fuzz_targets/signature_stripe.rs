//! `stripe`: a random `Stripe-Signature` over a random body and secrets.
//! Input: now, secrets, Stripe-Signature, then the body.
#![no_main]

use domain::signature::{DEFAULT_TOLERANCE, stripe};
use hookd_fuzz::{
    Input, TOLERANCE_SECS, check_outcome, check_round_trip, contains_hex, fresh, hmac_sha256,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 1);
    let value = &input.fields[0];
    let headers = vec![(stripe::SIGNATURE_HEADER, value.as_str())];
    let scheme = domain::SignatureScheme::Stripe {
        tolerance: DEFAULT_TOLERANCE,
    };
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    // Stripe's reading: comma-separated `key=value`, one `t`.
    let timestamps: Vec<&str> = value
        .split(',')
        .filter_map(|item| item.split_once('='))
        .filter(|(key, _)| key.trim() == "t")
        .map(|(_, t)| t.trim())
        .collect();
    if timestamps.len() != 1 {
        assert!(
            outcome.is_err(),
            "accepted with {} timestamps",
            timestamps.len()
        );
        return;
    }
    let t = timestamps[0];
    check_outcome(
        outcome,
        &input,
        |secret| {
            contains_hex(
                value,
                &hmac_sha256(secret.expose(), &[t.as_bytes(), b".", input.body]),
            )
        },
        fresh(t, input.now, TOLERANCE_SECS),
    );
    check_round_trip(&scheme, &input, "unused");
});
