//! The body envelope reader (`domain::payload::parse_envelope`): random
//! bodies, headers and id/type locations, checked against `serde_json::Value`
//! as the reference reading of the same body.
//!
//! Input lines: the id's place (`json:/ptr`, `sha:/ptr` for a pointer else
//! the body's SHA-256, `header:Name`, `headers:First,Second`), the type's place
//! (`json:/ptr` or `header:Name`), two headers (`Name:value`), then the body.
#![no_main]

use domain::payload::{self, EnvelopeSpec, EventTypeSource, PayloadError};
use domain::signature::{EventIdSource, Headers};
use domain::{BodyDigest, EventId};
use libfuzzer_sys::fuzz_target;

fn lines(data: &[u8], count: usize) -> (Vec<String>, &[u8]) {
    let mut rest = data;
    let mut lines = Vec::new();
    for _ in 0..count {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        lines.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    (lines, rest)
}

/// A pointer as the config layer would accept it, or `None`.
fn pointer(raw: &str) -> Option<String> {
    payload::validate_pointer(raw).ok().map(|()| raw.to_owned())
}

fn id_source(line: &str) -> Option<EventIdSource> {
    Some(match line.split_once(':') {
        Some(("json", p)) => EventIdSource::JsonPointer(pointer(p)?),
        Some(("sha", p)) => EventIdSource::JsonPointerElseBodySha256(pointer(p)?),
        Some(("header", name)) => EventIdSource::Header(name.to_owned()),
        Some(("headers", names)) => {
            let (first, second) = names.split_once(',')?;
            EventIdSource::HeaderElseHeader(first.to_owned(), second.to_owned())
        }
        _ => EventIdSource::JsonPointer("/event_id".to_owned()),
    })
}

fn type_source(line: &str) -> Option<EventTypeSource> {
    Some(match line.split_once(':') {
        Some(("json", p)) => EventTypeSource::JsonPointer(pointer(p)?),
        Some(("header", name)) => EventTypeSource::Header(name.to_owned()),
        _ => EventTypeSource::JsonPointer("/type".to_owned()),
    })
}

/// A header's value as hookd reads it: trimmed, blank meaning absent.
fn present<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    Headers::get(headers, name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let (lines, body) = lines(data, 4);
    let (Some(id), Some(event_type)) = (id_source(&lines[0]), type_source(&lines[1])) else {
        return;
    };
    let headers: Vec<(String, String)> = lines[2..]
        .iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let spec = EnvelopeSpec {
        event_id: id,
        event_type,
    };
    let outcome = payload::parse_envelope(body, &headers, &spec);

    // The reference: serde_json's tree of the same body, when it has one.
    let tree = serde_json::from_slice::<serde_json::Value>(body).ok();
    let object = tree.as_ref().filter(|v| v.is_object());
    let string_at = |p: &str| object.and_then(|v| v.pointer(p)).and_then(|v| v.as_str());

    if let (EventIdSource::JsonPointer(_), Some(tree)) = (&spec.event_id, &tree) {
        match &outcome {
            Err(PayloadError::MalformedJson) => panic!("valid JSON called malformed"),
            Err(PayloadError::NotAnObject) => {
                assert!(!tree.is_object(), "an object called not one")
            }
            _ if !tree.is_object() => panic!("not an object but {outcome:?}"),
            _ => {}
        }
    }
    let Ok(envelope) = outcome else {
        return;
    };
    let expected_id = match &spec.event_id {
        EventIdSource::JsonPointer(p) => string_at(p).map(str::to_owned),
        EventIdSource::JsonPointerElseBodySha256(p) => match (tree.as_ref(), string_at(p)) {
            (_, Some(id)) => Some(id.to_owned()),
            // Valid JSON whose pointer holds no string: the digest. (Not JSON
            // at all also gives the digest, but serde_json's tree is stricter
            // than hookd's reader on numbers, so only the first is checked.)
            (Some(_), None) => Some(BodyDigest::of(body).to_hex()),
            (None, None) => None,
        },
        EventIdSource::Header(name) => present(&headers, name).map(str::to_owned),
        EventIdSource::HeaderElseHeader(first, second) => present(&headers, first)
            .or_else(|| present(&headers, second))
            .map(str::to_owned),
    };
    if let Some(expected) = expected_id {
        assert_eq!(
            envelope.event_id.as_str(),
            expected,
            "another event id than serde_json's"
        );
    } else {
        assert!(tree.is_none(), "an event id where serde_json finds none");
    }
    assert!(EventId::parse(envelope.event_id.as_str()).is_ok());
    let expected_type = match &spec.event_type {
        EventTypeSource::JsonPointer(p) if tree.is_some() => string_at(p).map(str::to_owned),
        EventTypeSource::JsonPointer(_) => return,
        EventTypeSource::Header(name) => present(&headers, name).map(str::to_owned),
    }
    .filter(|t| t.chars().count() <= 255);
    assert_eq!(
        envelope.event_type, expected_type,
        "another type than serde_json's"
    );
});
