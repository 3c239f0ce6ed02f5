//! `[retention]`: how long finished events are kept.
//!
//! ```toml
//! [retention]
//! processed = "7d"      # "0" keeps processed events forever
//! dead = "30d"          # "0" keeps dead events forever
//! sweep_interval = "1m"
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, de::Error as _};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Processed events older than this (by when they were processed) are
    /// deleted; `None` (`"0"` or absent) keeps them.
    #[serde(default, deserialize_with = "keep_for")]
    pub processed: Option<Duration>,
    /// Dead events older than this (by when their last attempt started).
    #[serde(default, deserialize_with = "keep_for")]
    pub dead: Option<Duration>,
    #[serde(deserialize_with = "duration")]
    pub sweep_interval: Duration,
}

fn parse(raw: &str) -> Result<Duration, humantime::DurationError> {
    match raw.trim() {
        "0" => Ok(Duration::ZERO),
        raw => humantime::parse_duration(raw),
    }
}

/// A humantime string, or a bare number of seconds (an environment variable
/// `HOOKD__RETENTION__PROCESSED=0` arrives as a number).
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Text(String),
    Seconds(u64),
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(seconds) => Ok(Duration::from_secs(seconds)),
        Raw::Text(raw) => {
            parse(&raw).map_err(|err| D::Error::custom(format!("{raw:?} is not a duration: {err}")))
        }
    }
}

/// A zero duration means "forever".
fn keep_for<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let duration = duration(deserializer)?;
    Ok((!duration.is_zero()).then_some(duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_humantime_and_zero_keeps_forever() {
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert!(parse("soon").is_err());
    }
}
