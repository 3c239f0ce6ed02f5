//! `hmac-hex`: a configured prefix and a random `X-Signature` over a random
//! body and secrets. Input: now, secrets, prefix, X-Signature, then the body.
#![no_main]

use domain::signature::hmac_hex;
use hookd_fuzz::{Input, check_outcome, check_round_trip, contains_hex, hmac_sha256};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 2);
    let [prefix, value] = [&input.fields[0], &input.fields[1]];
    // Only prefixes the configuration accepts.
    if hmac_hex::validate_prefix(prefix).is_err() {
        return;
    }
    let scheme = domain::SignatureScheme::HmacHex {
        header: "X-Signature".to_owned(),
        prefix: prefix.clone(),
    };
    let headers: Vec<(&str, &str)> = vec![("X-Signature", value)];
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    check_outcome(
        outcome,
        &input,
        |secret| contains_hex(value, &hmac_sha256(secret.expose(), &[input.body])),
        None,
    );
    check_round_trip(&scheme, &input, "unused");
});
