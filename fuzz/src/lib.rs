//! Shared pieces of hookd's fuzz targets: one plain-text input format and
//! the signature oracle every scheme's target checks.
//!
//! Input format (readable, so seeds can be written by hand): the first lines
//! are fields, the rest is the body. HTTP header values cannot hold a newline,
//! so a line is exactly what a header can carry.
//!
//! ```text
//! 1700000000                      now, unix seconds (anything else: the default)
//! secret-one<TAB>!expired-secret  the source's secrets; `!` marks one past its not_after
//! t=1700000000,v1=…               header values, one per line, as each target lists
//! {"id":"evt_1"}                  the body: everything after the last field line
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use domain::{SignatureError, SignatureScheme, SigningSecret, Verified};

/// `now` when the input does not give a usable one.
pub const DEFAULT_NOW: i64 = 1_700_000_000;
/// At most this many secrets per source, as a rotation rarely has more.
const MAX_SECRETS: usize = 4;

/// An input split into `fields` lines and the body.
#[derive(Debug)]
pub struct Input<'a> {
    pub now: DateTime<Utc>,
    pub secrets: Vec<SigningSecret>,
    /// The remaining field lines, lossily decoded (header values are text).
    pub fields: Vec<String>,
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `data` into now, secrets, `fields` more lines and the body.
    /// Missing lines are empty (an absent header), the body may be empty.
    pub fn parse(data: &'a [u8], fields: usize) -> Self {
        let mut rest = data;
        let mut lines = Vec::with_capacity(fields + 2);
        for _ in 0..fields + 2 {
            let (line, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            lines.push(line);
            rest = after;
        }
        let now = std::str::from_utf8(lines[0])
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            // hookd's clock is never before 1970 (and a negative `t=` is
            // refused by design), so neither is the harness's.
            .filter(|secs| *secs >= 0)
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or_else(|| DateTime::from_timestamp(DEFAULT_NOW, 0).expect("valid"));
        let secrets = lines[1]
            .split(|&b| b == b'\t')
            .take(MAX_SECRETS)
            .enumerate()
            .map(|(index, raw)| match raw.strip_prefix(b"!") {
                Some(raw) => SigningSecret::new(raw, index.to_string())
                    .with_not_after(now - TimeDelta::seconds(1)),
                None => SigningSecret::new(raw, index.to_string()),
            })
            .collect();
        let fields = lines[2..]
            .iter()
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect();
        Self {
            now,
            secrets,
            fields,
            body: rest,
        }
    }
}

/// The outcome of `verify` is consistent with which secrets produced a MAC
/// that is present in the request (`signed_by`, the target's own reading of
/// the spec) and with the timestamp the request carries.
///
/// - `Ok(i)`: secret `i` is valid at `now` and its MAC is present; the
///   timestamp, for timed schemes, is within the tolerance.
/// - `Stale`/`Future`/`ExpiredSecret`: some secret's MAC is present (these are
///   only ever reported for genuinely signed requests); for `ExpiredSecret`,
///   an expired one's and no valid one's.
///
/// # Panics
/// When the outcome breaks one of these rules: that is the finding.
pub fn check_outcome(
    outcome: Result<Verified, SignatureError>,
    input: &Input<'_>,
    signed_by: impl Fn(&SigningSecret) -> bool,
    fresh: Option<bool>,
) {
    let valid = |s: &&SigningSecret| s.is_valid_at(input.now);
    match outcome {
        Ok(Verified { secret_index }) => {
            let secret = &input.secrets[secret_index];
            assert!(
                secret.is_valid_at(input.now),
                "accepted with an expired secret"
            );
            assert!(signed_by(secret), "accepted without its MAC being present");
            assert_ne!(fresh, Some(false), "accepted outside the tolerance");
        }
        Err(SignatureError::Stale | SignatureError::Future) => {
            assert!(
                input.secrets.iter().any(&signed_by),
                "stale/future reported for a request no secret signed"
            );
            assert_ne!(fresh, Some(true), "stale/future inside the tolerance");
        }
        Err(SignatureError::ExpiredSecret) => {
            assert!(
                input.secrets.iter().filter(|s| !valid(s)).any(&signed_by),
                "expired_secret without an expired secret's MAC"
            );
            assert!(
                !input.secrets.iter().filter(valid).any(&signed_by),
                "expired_secret although a valid secret signed it"
            );
        }
        Err(_) => {}
    }
}

/// The other direction: what `scheme` signs with the first secret (when it
/// is valid and can sign) verifies, and no longer does once a body bit flips.
pub fn check_round_trip(scheme: &SignatureScheme, input: &Input<'_>, id: &str) {
    let Some(secret) = input.secrets.first().filter(|s| s.is_valid_at(input.now)) else {
        return;
    };
    let Ok(headers) = scheme.sign(secret, input.body, input.now, Some(id)) else {
        return;
    };
    let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
    assert!(outcome.is_ok(), "its own signature refused: {outcome:?}");
    if let Some(last) = input.body.len().checked_sub(1) {
        let mut flipped = input.body.to_vec();
        flipped[last] ^= 1;
        let outcome = scheme.verify(&input.secrets, &headers, &flipped, input.now);
        assert!(outcome.is_err(), "a changed body still verifies");
    }
}

/// HMAC-SHA256 of the concatenated `parts`, computed here independently of
/// hookd's own `mac` module.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac as _};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `header` holds the hex of `tag` in either case.
pub fn contains_hex(header: &str, tag: &[u8]) -> bool {
    header.to_ascii_lowercase().contains(&hex::encode(tag))
}

/// Whether `timestamp` (digits) is within `tolerance` seconds of `now`;
/// `None` when it is not a timestamp at all.
pub fn fresh(timestamp: &str, now: DateTime<Utc>, tolerance: u64) -> Option<bool> {
    let signed_at: i64 = timestamp
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| timestamp.parse().ok())
        .flatten()?;
    Some(
        (i128::from(now.timestamp()) - i128::from(signed_at)).unsigned_abs()
            <= u128::from(tolerance),
    )
}

/// The default replay window of the timed schemes, in seconds.
pub const TOLERANCE_SECS: u64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_splits_into_its_fields_and_body() {
        let input = Input::parse(b"1600000000\na\t!b\nh1\nbody\nmore", 1);
        assert_eq!(input.now.timestamp(), 1_600_000_000);
        assert_eq!(input.secrets.len(), 2);
        assert!(input.secrets[0].is_valid_at(input.now));
        assert!(!input.secrets[1].is_valid_at(input.now));
        assert_eq!(input.secrets[1].expose(), b"b");
        assert_eq!(input.fields, ["h1"]);
        assert_eq!(input.body, b"body\nmore");
    }

    #[test]
    fn a_short_input_gives_empty_fields() {
        let input = Input::parse(b"x", 2);
        assert_eq!(input.now.timestamp(), DEFAULT_NOW);
        assert_eq!(input.fields, ["", ""]);
        assert!(input.body.is_empty());
    }

    /// The seeds that carry a provider's vector verify, so the fuzzer starts
    /// from the accepting path, not only from refusals.
    #[test]
    fn the_vector_seeds_are_accepted() {
        use domain::signature::DEFAULT_TOLERANCE;
        use domain::signature::{github, shopify, slack, standard_webhooks as sw, stripe};
        let seed = |target: &str, name: &str| {
            std::fs::read(format!(
                "{}/seeds/{target}/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("seed")
        };
        let tolerance = DEFAULT_TOLERANCE;
        let cases: [(&str, &str, SignatureScheme, &[&str]); 7] = [
            (
                "signature_hmac_hex",
                "readme_vector",
                SignatureScheme::default(),
                &["", "X-Signature"],
            ),
            (
                "signature_github",
                "documented_vector",
                SignatureScheme::Github,
                &[github::SIGNATURE_HEADER],
            ),
            (
                "signature_shopify",
                "vector",
                SignatureScheme::Shopify,
                &[shopify::SIGNATURE_HEADER],
            ),
            (
                "signature_slack",
                "documented_vector",
                SignatureScheme::Slack { tolerance },
                &[slack::TIMESTAMP_HEADER, slack::SIGNATURE_HEADER],
            ),
            (
                "signature_stripe",
                "vector",
                SignatureScheme::Stripe { tolerance },
                &[stripe::SIGNATURE_HEADER],
            ),
            (
                "signature_standard_webhooks",
                "spec_v1",
                SignatureScheme::StandardWebhooks { tolerance },
                &[sw::ID_HEADER, sw::TIMESTAMP_HEADER, sw::SIGNATURE_HEADER],
            ),
            (
                "signature_standard_webhooks",
                "v1a_rotation",
                SignatureScheme::StandardWebhooks { tolerance },
                &[sw::ID_HEADER, sw::TIMESTAMP_HEADER, sw::SIGNATURE_HEADER],
            ),
        ];
        for (target, name, scheme, names) in cases {
            let data = seed(target, name);
            let input = Input::parse(&data, names.len());
            // hmac-hex's first field is the prefix, not a header.
            let headers: Vec<(&str, &str)> = names
                .iter()
                .zip(&input.fields)
                .filter(|(name, _)| !name.is_empty())
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            let outcome = scheme.verify(&input.secrets, &headers, input.body, input.now);
            assert!(outcome.is_ok(), "{target}/{name}: {outcome:?}");
        }
    }

    #[test]
    fn freshness_is_within_the_window_either_way() {
        let now = DateTime::from_timestamp(1000, 0).expect("valid");
        assert_eq!(fresh("700", now, 300), Some(true));
        assert_eq!(fresh("1301", now, 300), Some(false));
        assert_eq!(fresh("-1", now, 300), None);
    }
}
