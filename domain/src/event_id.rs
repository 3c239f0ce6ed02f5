//! The sender's identifier of an event: the idempotency key within a source.

use std::fmt;

/// Longest event id accepted, in characters.
pub const MAX_EVENT_ID_CHARS: usize = 255;

/// An event id as the sender gave it: 1..=255 printable characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventIdError {
    #[error("the event id is empty")]
    Empty,
    #[error("the event id is longer than {MAX_EVENT_ID_CHARS} characters")]
    TooLong,
    #[error("the event id contains a control character")]
    NotPrintable,
}

impl EventId {
    /// Parses an event id.
    ///
    /// # Errors
    /// [`EventIdError`] names the rule the input breaks.
    pub fn parse(raw: &str) -> Result<Self, EventIdError> {
        if raw.is_empty() {
            return Err(EventIdError::Empty);
        }
        if raw.chars().count() > MAX_EVENT_ID_CHARS {
            return Err(EventIdError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(EventIdError::NotPrintable);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for EventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_id_is_accepted() {
        assert_eq!(EventId::parse("evt_123").unwrap().as_str(), "evt_123");
    }

    #[test]
    fn an_empty_id_is_rejected() {
        assert_eq!(EventId::parse(""), Err(EventIdError::Empty));
    }

    #[test]
    fn exactly_255_characters_are_accepted_even_when_multibyte() {
        let id = "é".repeat(255);
        assert!(EventId::parse(&id).is_ok());
    }

    #[test]
    fn more_than_255_characters_are_rejected() {
        assert_eq!(EventId::parse(&"a".repeat(256)), Err(EventIdError::TooLong));
    }

    #[test]
    fn control_characters_are_rejected() {
        assert_eq!(EventId::parse("evt\n1"), Err(EventIdError::NotPrintable));
        assert_eq!(EventId::parse("evt\u{0}"), Err(EventIdError::NotPrintable));
    }
}
