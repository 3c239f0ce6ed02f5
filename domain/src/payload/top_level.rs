//! The fast path: reading up to two top-level string fields of a JSON object
//! straight from the bytes, borrowing them where no escapes need decoding,
//! without building a tree of the whole document. A key given twice is
//! refused rather than guessed at (two parsers could pick different copies).

use std::{borrow::Cow, fmt};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Found, PayloadError};

/// The two fields read, by top-level key.
#[derive(Default)]
pub(super) struct TopLevel<'a> {
    pub(super) id: Found<'a>,
    pub(super) event_type: Found<'a>,
}

/// Reads the values of `id_key` and `type_key` (either may be absent).
///
/// # Errors
/// `MalformedJson`, `NotAnObject`, or `DuplicateKey` for a wanted key given twice.
pub(super) fn read<'a>(
    body: &'a [u8],
    id_key: Option<&str>,
    type_key: Option<&str>,
) -> Result<TopLevel<'a>, PayloadError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let seed = Keys { id_key, type_key };
    let raw = match seed
        .deserialize(&mut deserializer)
        .and_then(|raw| deserializer.end().map(|()| raw))
    {
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
    Ok(raw.fields)
}

struct Keys<'k> {
    id_key: Option<&'k str>,
    type_key: Option<&'k str>,
}

struct Raw<'a> {
    fields: TopLevel<'a>,
    duplicate: Option<String>,
}

impl<'de> DeserializeSeed<'de> for Keys<'_> {
    type Value = Raw<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Keys<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = Raw {
            fields: TopLevel::default(),
            duplicate: None,
        };
        // `Cow<str>` itself always deserializes owned: `Key` borrows.
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            // One key may be both (a source can point the id and the type at it).
            let for_id = Some(key.as_ref()) == self.id_key;
            let for_type = Some(key.as_ref()) == self.type_key;
            if !for_id && !for_type {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value::<Field<'de>>()?.0;
            let fields = &mut raw.fields;
            let seen = (for_id && !matches!(fields.id, Found::Absent))
                || (for_type && !matches!(fields.event_type, Found::Absent));
            if seen {
                raw.duplicate.get_or_insert_with(|| key.into_owned());
                continue;
            }
            if for_type {
                fields.event_type = value.clone();
            }
            if for_id {
                fields.id = value;
            }
        }
        Ok(raw)
    }
}

/// A top-level key, borrowed from the body unless it has escapes: the keys
/// not wanted are only compared, so they cost no allocation.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

/// A top-level value: a string we may keep, or anything else (skipped).
struct Field<'a>(Found<'a>);

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
        Ok(Field(Found::Str(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field(Found::Str(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field(Found::Str(Cow::Owned(v))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field(Found::Other))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field(Found::Other))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field(Found::Other))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field(Found::Other))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field(Found::Other))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field(Found::Other))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field(Found::Other))
    }
}
