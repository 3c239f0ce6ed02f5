//! `slack`: random `X-Slack-Request-Timestamp` and `X-Slack-Signature` over a
//! random body and secrets. Input: now, secrets, timestamp, signature, body.
#![no_main]

use domain::signature::{DEFAULT_TOLERANCE, slack};
use hookd_fuzz::{
    Input, TOLERANCE_SECS, check_outcome, check_round_trip, contains_hex, fresh, hmac_sha256,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 2);
    let [timestamp, value] = [&input.fields[0], &input.fields[1]];
    let headers = vec![
        (slack::TIMESTAMP_HEADER, timestamp.as_str()),
        (slack::SIGNATURE_HEADER, value.as_str()),
    ];
    let scheme = domain::SignatureScheme::Slack {
        tolerance: DEFAULT_TOLERANCE,
    };
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    let ts = timestamp.trim();
    check_outcome(
        outcome,
        &input,
        |secret| {
            let tag = hmac_sha256(secret.expose(), &[b"v0:", ts.as_bytes(), b":", input.body]);
            value.trim_start().starts_with("v0=") && contains_hex(value, &tag)
        },
        fresh(ts, input.now, TOLERANCE_SECS),
    );
    check_round_trip(&scheme, &input, "unused");
});
