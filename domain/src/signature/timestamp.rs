//! Signed timestamps: parsing the header and the replay window around `now`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SignatureError;

/// The replay window used when a config does not set one: five minutes,
/// the value Stripe, Slack and Standard Webhooks all recommend.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Unix seconds as sent by the provider: ASCII digits only.
///
/// Signs, spaces inside, fractions and exponents are refused rather than
/// guessed at, so the value checked is exactly the value that was signed.
///
/// # Errors
/// `Malformed` for anything but a non-empty run of digits that fits an `i64`.
pub(crate) fn parse(raw: &str) -> Result<i64, SignatureError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    raw.parse().map_err(|_| SignatureError::Malformed)
}

/// Accepts `signed_at` when it is within `tolerance` of `now`, in either direction.
///
/// Whole seconds only: timestamps are whole seconds, so a sub-second part of
/// `tolerance` could never change the outcome.
///
/// # Errors
/// `Stale` when older than the window, `Future` when ahead of it.
pub(crate) fn check_fresh(
    signed_at: i64,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    // i128 so that no pair of i64 timestamps can overflow the subtraction.
    let age = i128::from(now.timestamp()) - i128::from(signed_at);
    let window = i128::from(tolerance.as_secs());
    if age > window {
        Err(SignatureError::Stale)
    } else if -age > window {
        Err(SignatureError::Future)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).expect("valid timestamp")
    }

    #[test]
    fn digits_parse() {
        assert_eq!(parse("1614265330"), Ok(1_614_265_330));
    }

    #[test]
    fn non_integer_timestamps_are_malformed() {
        for bad in [
            "",
            " 1",
            "1.5",
            "-1",
            "+1",
            "1e9",
            "abc",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad), Err(SignatureError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn the_edges_of_the_window_are_accepted() {
        assert_eq!(check_fresh(NOW - 300, now(), DEFAULT_TOLERANCE), Ok(()));
        assert_eq!(check_fresh(NOW + 300, now(), DEFAULT_TOLERANCE), Ok(()));
    }

    #[test]
    fn one_second_past_the_window_is_stale() {
        assert_eq!(
            check_fresh(NOW - 301, now(), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn one_second_ahead_of_the_window_is_future() {
        assert_eq!(
            check_fresh(NOW + 301, now(), DEFAULT_TOLERANCE),
            Err(SignatureError::Future)
        );
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        assert_eq!(
            check_fresh(i64::MAX, now(), DEFAULT_TOLERANCE),
            Err(SignatureError::Future)
        );
        assert_eq!(check_fresh(i64::MIN, now(), Duration::MAX), Ok(()));
    }
}
