//! What production refuses in a secret: too short, a placeholder, or too
//! little variety to be random (a copy-pasted `change-me-…` must not start).

/// Substrings that mark a value someone meant to replace.
const PLACEHOLDER_WORDS: [&str; 12] = [
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "example",
    "placeholder",
    "secret",
    "password",
    "dummy",
    "insecure",
    "do-not-use",
];
/// Fewer distinct bytes than this cannot be a random value of 32 bytes or more.
const MIN_DISTINCT_BYTES: usize = 10;

/// Why `value` is not fit for production, or `None`.
pub(super) fn weakness(value: &str, min_len: usize) -> Option<String> {
    if value.len() < min_len {
        return Some(format!("must be at least {min_len} bytes in production"));
    }
    let lower = value.to_ascii_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|word| lower.contains(*word)) {
        return Some(format!(
            "looks like a placeholder (contains {word:?}); generate one with `hookd secret`"
        ));
    }
    let mut seen = [false; 256];
    for byte in value.bytes() {
        seen[usize::from(byte)] = true;
    }
    if seen.iter().filter(|&&b| b).count() < MIN_DISTINCT_BYTES {
        return Some(format!(
            "has fewer than {MIN_DISTINCT_BYTES} distinct bytes, so it is not random; generate one with `hookd secret`"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_pass() {
        let hex = "3f9c1e0b7a5d48e2c6f1a09b8d7e3c2154a6b9f0e8d7c6b5a4938271605f4e3d";
        assert_eq!(weakness(hex, 32), None);
        assert_eq!(weakness("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32), None);
    }

    #[test]
    fn placeholders_are_refused_in_any_case() {
        for value in [
            "change-me-to-a-random-secret-of-32-bytes-or-more",
            "CHANGEME0123456789abcdefghijklmnopq",
            "an-example-value-0123456789abcdefghij",
            "my-webhook-Secret-0123456789abcdefgh",
            "Password1234567890abcdefghijklmnopq",
        ] {
            let reason = weakness(value, 32).unwrap();
            assert!(reason.contains("placeholder"), "{value}: {reason}");
        }
    }

    #[test]
    fn low_variety_and_short_values_are_refused() {
        assert!(weakness(&"x".repeat(64), 32).unwrap().contains("distinct"));
        assert!(
            weakness(&"ab12".repeat(16), 32)
                .unwrap()
                .contains("distinct")
        );
        assert!(
            weakness("short-but-random-9f8e", 32)
                .unwrap()
                .contains("32 bytes")
        );
    }
}
