//! Reading the few fields hookd needs out of a verified request: the sender's
//! event id and type, from where the source's scheme puts them (a JSON
//! pointer into the body, a header, or the body's hash).
//!
//! The body is stored byte-for-byte; this only extracts. When the id comes
//! from the body, the body must be a JSON object. Single-segment pointers
//! (`/event_id`, `/id`, `/type`) are read straight from the bytes
//! ([`top_level`]); nested ones parse a `serde_json::Value`.

mod top_level;

use std::borrow::Cow;

use crate::{
    BodyDigest, EventId, EventIdError, SignatureScheme,
    signature::{EventIdSource, Headers, github, present, shopify},
};

/// What hookd reads from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_id: EventId,
    /// The sender's event type, when present and a string of at most 255 characters.
    pub event_type: Option<String>,
}

/// Where a source's requests carry the event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypeSource {
    /// A JSON pointer (RFC 6901) into the body, e.g. `/type`.
    JsonPointer(String),
    /// A header, by case-insensitive name.
    Header(String),
}

/// Where to read a source's event id and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSpec {
    pub event_id: EventIdSource,
    pub event_type: EventTypeSource,
}

impl EnvelopeSpec {
    /// The scheme's own places: the id where [`SignatureScheme::event_id_source`]
    /// says, the type in GitHub's and Shopify's headers, else the body's `/type`.
    pub fn for_scheme(scheme: &SignatureScheme) -> Self {
        let event_type = match scheme {
            SignatureScheme::Github => EventTypeSource::Header(github::EVENT_HEADER.to_owned()),
            SignatureScheme::Shopify => EventTypeSource::Header(shopify::TOPIC_HEADER.to_owned()),
            _ => EventTypeSource::JsonPointer(DEFAULT_TYPE_POINTER.to_owned()),
        };
        Self {
            event_id: scheme.event_id_source(),
            event_type,
        }
    }

    /// Whether the signature covers the event id: always when it is read
    /// from the (signed) body, and for Standard Webhooks' `webhook-id`, which
    /// is part of the signed content. GitHub's and Shopify's delivery headers,
    /// and an `hmac-hex` source's `event_id_header`, are not: a captured body
    /// and signature can be resent under a fresh id.
    pub fn event_id_is_signed(&self, scheme: &SignatureScheme) -> bool {
        match &self.event_id {
            EventIdSource::JsonPointer(_) | EventIdSource::JsonPointerElseBodySha256(_) => true,
            EventIdSource::Header(name) => {
                matches!(scheme, SignatureScheme::StandardWebhooks { .. })
                    && name.eq_ignore_ascii_case(crate::signature::standard_webhooks::ID_HEADER)
            }
            EventIdSource::HeaderElseHeader(_, _) => false,
        }
    }

    /// Whether a request is unreadable unless its body is JSON: the event id
    /// is read from the body with no fallback. Form bodies (GitHub, Slack slash
    /// commands) and header ids (Standard Webhooks, Shopify) do not need it.
    pub fn requires_json_body(&self) -> bool {
        matches!(self.event_id, EventIdSource::JsonPointer(_))
    }
}

impl Default for EnvelopeSpec {
    /// The seed's: `/event_id` and `/type` in a JSON object.
    fn default() -> Self {
        Self::for_scheme(&SignatureScheme::default())
    }
}

/// Where the type is read unless the scheme or the config says otherwise.
pub const DEFAULT_TYPE_POINTER: &str = "/type";

/// Why a verified request cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not valid JSON")]
    MalformedJson,
    #[error("the body is JSON but not an object")]
    NotAnObject,
    #[error("the request carries no event id where this source's scheme puts it")]
    MissingEventId,
    #[error("the event id is invalid: {0}")]
    InvalidEventId(#[from] EventIdError),
    #[error("the key `{0}` appears more than once")]
    DuplicateKey(String),
    /// A type with control characters (NUL cannot even be stored).
    #[error("the event type contains control characters")]
    InvalidEventType,
}

/// A JSON pointer that is not RFC 6901 syntax (or is the whole document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a JSON pointer starts with '/' and escapes '~' as '~0' and '/' as '~1', e.g. /data/id")]
pub struct InvalidPointer;

/// Checks a configured pointer; the empty pointer (the whole body) is refused.
///
/// # Errors
/// [`InvalidPointer`].
pub fn validate_pointer(pointer: &str) -> Result<(), InvalidPointer> {
    let bytes = pointer.as_bytes();
    let escapes_ok = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'~')
        .all(|(i, _)| matches!(bytes.get(i + 1), Some(b'0' | b'1')));
    if pointer.starts_with('/') && escapes_ok {
        Ok(())
    } else {
        Err(InvalidPointer)
    }
}

/// Longest type kept; a longer one is not stored rather than cut.
const MAX_TYPE_CHARS: usize = 255;

/// A value looked up in the body.
#[derive(Debug, Clone, Default)]
enum Found<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    Other,
}

/// Extracts the event id and type as `spec` says.
///
/// # Errors
/// [`PayloadError`] says which rule the request breaks. A body that is not a
/// JSON object is only an error when the id comes from the body's JSON.
pub fn parse_envelope(
    body: &[u8],
    headers: &dyn Headers,
    spec: &EnvelopeSpec,
) -> Result<Envelope, PayloadError> {
    let id_pointer = match &spec.event_id {
        EventIdSource::JsonPointer(p) | EventIdSource::JsonPointerElseBodySha256(p) => Some(p),
        EventIdSource::Header(_) | EventIdSource::HeaderElseHeader(..) => None,
    };
    let type_pointer = match &spec.event_type {
        EventTypeSource::JsonPointer(p) => Some(p),
        EventTypeSource::Header(_) => None,
    };
    let (id, event_type) = match read_body(body, id_pointer, type_pointer) {
        Ok(found) => found,
        Err(err @ PayloadError::DuplicateKey(_)) => return Err(err),
        Err(err) if matches!(spec.event_id, EventIdSource::JsonPointer(_)) => return Err(err),
        // Form-encoded Slack commands, a GitHub form delivery...: the id is elsewhere.
        Err(_) => (Found::Absent, Found::Absent),
    };

    let event_id = match (&spec.event_id, id) {
        (EventIdSource::JsonPointer(_), Found::Str(id)) => EventId::parse(&id)?,
        (EventIdSource::JsonPointer(_), _) => return Err(PayloadError::MissingEventId),
        (EventIdSource::JsonPointerElseBodySha256(_), Found::Str(id)) => EventId::parse(&id)?,
        (EventIdSource::JsonPointerElseBodySha256(_), _) => {
            EventId::parse(&BodyDigest::of(body).to_hex())?
        }
        (EventIdSource::Header(name), _) => {
            EventId::parse(present(headers, name).ok_or(PayloadError::MissingEventId)?)?
        }
        (EventIdSource::HeaderElseHeader(first, second), _) => {
            let id = present(headers, first).or_else(|| present(headers, second));
            EventId::parse(id.ok_or(PayloadError::MissingEventId)?)?
        }
    };
    let event_type = match (&spec.event_type, event_type) {
        (EventTypeSource::JsonPointer(_), Found::Str(t)) => Some(t.into_owned()),
        (EventTypeSource::Header(name), _) => present(headers, name).map(str::to_owned),
        _ => None,
    }
    .filter(|t| t.chars().count() <= MAX_TYPE_CHARS);
    if event_type
        .as_deref()
        .is_some_and(|t| t.chars().any(char::is_control))
    {
        return Err(PayloadError::InvalidEventType);
    }
    Ok(Envelope {
        event_id,
        event_type,
    })
}

/// The single key of a one-segment pointer without escapes, e.g. `/id` → `id`.
fn single_key(pointer: &str) -> Option<&str> {
    pointer
        .strip_prefix('/')
        .filter(|key| !key.contains(['/', '~']))
}

fn read_body<'a>(
    body: &'a [u8],
    id_pointer: Option<&String>,
    type_pointer: Option<&String>,
) -> Result<(Found<'a>, Found<'a>), PayloadError> {
    let id_key = id_pointer.map(|p| single_key(p));
    let type_key = type_pointer.map(|p| single_key(p));
    if id_key.is_none_or(|k| k.is_some()) && type_key.is_none_or(|k| k.is_some()) {
        let fields = top_level::read(body, id_key.flatten(), type_key.flatten())?;
        return Ok((fields.id, fields.event_type));
    }
    // Nested pointers: a tree is needed. (Duplicate keys are only detected
    // on the fast path; serde_json keeps the last copy here.)
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| PayloadError::MalformedJson)?;
    if !value.is_object() {
        return Err(PayloadError::NotAnObject);
    }
    let lookup = |pointer: Option<&String>| match pointer.and_then(|p| value.pointer(p)) {
        None => Found::Absent,
        Some(serde_json::Value::String(s)) => Found::Str(Cow::Owned(s.clone())),
        Some(_) => Found::Other,
    };
    Ok((lookup(id_pointer), lookup(type_pointer)))
}

#[cfg(test)]
mod tests;
