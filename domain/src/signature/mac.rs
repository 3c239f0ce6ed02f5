//! HMAC-SHA256 shared by every symmetric scheme: one place that builds the
//! MAC and one that compares it, so no scheme can slip in a `==` on tags.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The MAC state after absorbing `parts` in order (concatenation without copying).
fn absorbed(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The 32-byte tag of the concatenated `parts`, for signing.
pub(crate) fn tag(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    absorbed(key, parts).finalize().into_bytes().into()
}

/// Whether any of `candidates` is the tag of the concatenated `parts`.
///
/// Each comparison is constant-time (`verify_slice`), and a candidate of the
/// wrong length, including an empty one, never matches.
pub(crate) fn matches_any<'a>(
    key: &[u8],
    parts: &[&[u8]],
    candidates: impl IntoIterator<Item = &'a [u8]>,
) -> bool {
    let mac = absorbed(key, parts);
    candidates
        .into_iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_concatenated() {
        assert_eq!(tag(b"k", &[b"ab", b"c"]), tag(b"k", &[b"abc"]));
    }

    #[test]
    fn an_empty_candidate_never_matches() {
        assert!(!matches_any(b"k", &[b"abc"], [&[][..]]));
    }

    #[test]
    fn a_truncated_tag_never_matches() {
        let full = tag(b"k", &[b"abc"]);
        assert!(matches_any(b"k", &[b"abc"], [&full[..]]));
        assert!(!matches_any(b"k", &[b"abc"], [&full[..31]]));
    }
}
