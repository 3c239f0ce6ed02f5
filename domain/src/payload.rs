//! Reading the few fields hookd needs out of a verified body, without
//! building a tree of the whole document.
//!
//! The body is stored byte-for-byte; this only extracts the sender's event id
//! and type. Only a JSON object qualifies, and a key given twice is refused
//! rather than guessed at (two parsers could pick different copies).

use std::{borrow::Cow, fmt};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{EventId, EventIdError};

/// What hookd reads from a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_id: EventId,
    /// The sender's event type when the payload has a string `type`.
    pub event_type: Option<String>,
}

/// Why a verified body cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not valid JSON")]
    MalformedJson,
    #[error("the body is JSON but not an object")]
    NotAnObject,
    #[error("the body has no string `event_id`")]
    MissingEventId,
    #[error("`event_id` is invalid: {0}")]
    InvalidEventId(#[from] EventIdError),
    #[error("the key `{0}` appears more than once")]
    DuplicateKey(&'static str),
}

/// Longest `type` kept; a longer one is not stored rather than cut.
const MAX_TYPE_CHARS: usize = 255;

/// Extracts `event_id` and `type` from a JSON object.
///
/// # Errors
/// [`PayloadError`] says which rule the body breaks.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, PayloadError> {
    let raw: RawEnvelope<'_> = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(err) if err.is_data() => {
            // The top level was not an object; tell "valid JSON of another
            // shape" (422) from "not JSON at all" (400). Error path only.
            return Err(match serde_json::from_slice::<IgnoredAny>(body) {
                Ok(_) => PayloadError::NotAnObject,
                Err(_) => PayloadError::MalformedJson,
            });
        }
        Err(_) => return Err(PayloadError::MalformedJson),
    };
    if let Some(key) = raw.duplicate {
        return Err(PayloadError::DuplicateKey(key));
    }
    let event_id = match raw.event_id {
        Some(Field::Str(id)) => EventId::parse(&id)?,
        Some(Field::Other) | None => return Err(PayloadError::MissingEventId),
    };
    let event_type = match raw.event_type {
        Some(Field::Str(t)) if t.chars().count() <= MAX_TYPE_CHARS => Some(t.into_owned()),
        _ => None,
    };
    Ok(Envelope {
        event_id,
        event_type,
    })
}

#[derive(Default)]
struct RawEnvelope<'a> {
    event_id: Option<Field<'a>>,
    event_type: Option<Field<'a>>,
    duplicate: Option<&'static str>,
}

/// A top-level value: a string we may keep, or anything else (skipped).
enum Field<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl<'de> de::Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = RawEnvelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawEnvelope::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let (slot, name) = match key.as_ref() {
                "event_id" => (&mut raw.event_id, "event_id"),
                "type" => (&mut raw.event_type, "type"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<Field<'de>>()?;
            if slot.is_some() {
                raw.duplicate.get_or_insert(name);
            } else {
                *slot = Some(value);
            }
        }
        Ok(raw)
    }
}

impl<'de> de::Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Envelope, PayloadError> {
        parse_envelope(body.as_bytes())
    }

    #[test]
    fn event_id_and_type_are_read_and_other_keys_skipped() {
        let envelope =
            parse(r#"{"data":{"event_id":"nested"},"event_id":"evt_1","type":"invoice.paid"}"#)
                .unwrap();
        assert_eq!(envelope.event_id.as_str(), "evt_1");
        assert_eq!(envelope.event_type.as_deref(), Some("invoice.paid"));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let envelope = parse(r#"{"event_id":"evt_\u0031"}"#).unwrap();
        assert_eq!(envelope.event_id.as_str(), "evt_1");
        assert_eq!(envelope.event_type, None);
    }

    #[test]
    fn malformed_json_is_told_apart_from_other_shapes() {
        for body in ["", "{", "{\"event_id\":", "not json", "[1,2", "{} trailing"] {
            assert_eq!(parse(body), Err(PayloadError::MalformedJson), "{body:?}");
        }
        for body in ["[1,2]", "\"evt\"", "42", "null"] {
            assert_eq!(parse(body), Err(PayloadError::NotAnObject), "{body:?}");
        }
    }

    #[test]
    fn a_missing_or_non_string_event_id_is_rejected() {
        for body in [
            r#"{}"#,
            r#"{"event_id":42}"#,
            r#"{"event_id":null}"#,
            r#"{"event_id":["a"]}"#,
        ] {
            assert_eq!(parse(body), Err(PayloadError::MissingEventId), "{body:?}");
        }
    }

    #[test]
    fn an_invalid_event_id_is_rejected_with_the_rule() {
        assert_eq!(
            parse(r#"{"event_id":""}"#),
            Err(PayloadError::InvalidEventId(EventIdError::Empty))
        );
        let long = format!(r#"{{"event_id":"{}"}}"#, "a".repeat(256));
        assert_eq!(
            parse(&long),
            Err(PayloadError::InvalidEventId(EventIdError::TooLong))
        );
    }

    #[test]
    fn a_repeated_event_id_key_is_refused() {
        assert_eq!(
            parse(r#"{"event_id":"a","event_id":"b"}"#),
            Err(PayloadError::DuplicateKey("event_id"))
        );
    }

    #[test]
    fn a_non_string_type_is_not_stored() {
        let envelope = parse(r#"{"event_id":"e","type":{"k":1}}"#).unwrap();
        assert_eq!(envelope.event_type, None);
    }
}
