use super::*;
use crate::signature::SchemeKind;

const NO_HEADERS: [(&str, &str); 0] = [];

fn parse(body: &str) -> Result<Envelope, PayloadError> {
    parse_envelope(body.as_bytes(), &NO_HEADERS, &EnvelopeSpec::default())
}

fn spec(event_id: EventIdSource, type_pointer: &str) -> EnvelopeSpec {
    EnvelopeSpec {
        event_id,
        event_type: EventTypeSource::JsonPointer(type_pointer.to_owned()),
    }
}

fn pointer(p: &str) -> EventIdSource {
    EventIdSource::JsonPointer(p.to_owned())
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
fn escaped_keys_match_like_plain_ones() {
    // Keys are borrowed from the body when they can be; an escaped one is decoded.
    let envelope = parse(r#"{"event\u005fid":"evt_1","typ\u0065":"t"}"#).unwrap();
    assert_eq!(envelope.event_id.as_str(), "evt_1");
    assert_eq!(envelope.event_type.as_deref(), Some("t"));
    assert_eq!(
        parse(r#"{"event_id":"a","event\u005fid":"b"}"#),
        Err(PayloadError::DuplicateKey("event_id".to_owned()))
    );
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
        Err(PayloadError::DuplicateKey("event_id".to_owned()))
    );
}

#[test]
fn a_non_string_type_is_not_stored() {
    let envelope = parse(r#"{"event_id":"e","type":{"k":1}}"#).unwrap();
    assert_eq!(envelope.event_type, None);
}

#[test]
fn another_top_level_pointer_reads_that_key() {
    let spec = spec(pointer("/id"), "/kind");
    let body = br#"{"event_id":"no","id":"evt_9","type":"no","kind":"k"}"#;
    let envelope = parse_envelope(body, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "evt_9");
    assert_eq!(envelope.event_type.as_deref(), Some("k"));
}

#[test]
fn nested_pointers_reach_into_the_document() {
    let spec = spec(pointer("/data/0/id"), "/meta/type");
    let body = br#"{"data":[{"id":"evt_n"}],"meta":{"type":"t.n"}}"#;
    let envelope = parse_envelope(body, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "evt_n");
    assert_eq!(envelope.event_type.as_deref(), Some("t.n"));
    let missing = parse_envelope(br#"{"data":[]}"#, &NO_HEADERS, &spec);
    assert_eq!(missing, Err(PayloadError::MissingEventId));
    let not_object = parse_envelope(b"[1]", &NO_HEADERS, &spec);
    assert_eq!(not_object, Err(PayloadError::NotAnObject));
}

#[test]
fn escaped_pointer_segments_are_unescaped() {
    let spec = spec(pointer("/a~1b"), "/type");
    let envelope = parse_envelope(br#"{"a/b":"evt_s"}"#, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "evt_s");
}

#[test]
fn header_ids_need_no_json_body() {
    let spec = EnvelopeSpec::for_scheme(&SignatureScheme::Github);
    let headers = [("x-github-delivery", "guid-1"), ("X-GitHub-Event", "push")];
    let envelope = parse_envelope(b"payload=%7B%7D", &headers, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "guid-1");
    assert_eq!(envelope.event_type.as_deref(), Some("push"));
    assert_eq!(
        parse_envelope(b"{}", &NO_HEADERS, &spec),
        Err(PayloadError::MissingEventId)
    );
}

#[test]
fn shopify_falls_back_to_the_webhook_id() {
    let spec = EnvelopeSpec::for_scheme(&SignatureScheme::Shopify);
    let both = [("X-Shopify-Event-Id", "e1"), ("X-Shopify-Webhook-Id", "w1")];
    let only_webhook = [("X-Shopify-Event-Id", " "), ("X-Shopify-Webhook-Id", "w1")];
    let id = |h: &dyn Headers| parse_envelope(b"{}", h, &spec).unwrap().event_id;
    assert_eq!(id(&both).as_str(), "e1");
    assert_eq!(id(&only_webhook).as_str(), "w1");
}

#[test]
fn slack_uses_the_body_event_id_else_the_body_hash() {
    let spec = EnvelopeSpec::for_scheme(&SignatureScheme::default_for(SchemeKind::Slack));
    let with_id = br#"{"event_id":"Ev1","type":"event_callback"}"#;
    let envelope = parse_envelope(with_id, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "Ev1");
    let form = b"command=%2Fweather&text=94070";
    let envelope = parse_envelope(form, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), BodyDigest::of(form).to_hex());
    assert_eq!(envelope.event_type, None);
    // A repeated key is still refused: two parsers could disagree.
    let twice = br#"{"event_id":"a","event_id":"b"}"#;
    assert!(matches!(
        parse_envelope(twice, &NO_HEADERS, &spec),
        Err(PayloadError::DuplicateKey(_))
    ));
}

#[test]
fn stripe_reads_the_body_id() {
    let spec = EnvelopeSpec::for_scheme(&SignatureScheme::default_for(SchemeKind::Stripe));
    let body = br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"invoice.paid"}"#;
    let envelope = parse_envelope(body, &NO_HEADERS, &spec).unwrap();
    assert_eq!(envelope.event_id.as_str(), "evt_1NG8Du2eZvKYlo2CUI79vXWy");
    assert_eq!(envelope.event_type.as_deref(), Some("invoice.paid"));
}

#[test]
fn pointers_are_validated() {
    for good in ["/id", "/data/id", "/a~0b", "/a~1b", "/"] {
        assert_eq!(validate_pointer(good), Ok(()), "{good}");
    }
    for bad in ["", "id", "/a~2", "/a~"] {
        assert_eq!(validate_pointer(bad), Err(InvalidPointer), "{bad}");
    }
}

#[test]
fn only_schemes_that_read_the_id_from_the_body_require_json() {
    let requires =
        |kind| EnvelopeSpec::for_scheme(&SignatureScheme::default_for(kind)).requires_json_body();
    assert!(requires(SchemeKind::HmacHex));
    assert!(requires(SchemeKind::Stripe));
    assert!(!requires(SchemeKind::StandardWebhooks));
    assert!(!requires(SchemeKind::Github));
    assert!(!requires(SchemeKind::Shopify));
    assert!(!requires(SchemeKind::Slack));
}

#[test]
fn one_key_may_be_both_the_id_and_the_type() {
    // Found by the payload_envelope fuzz target: the fast path filled only
    // the id's slot, so the type was lost when both pointers named one key.
    let body = br#"{"type":"invoice.paid"}"#;
    let envelope = parse_envelope(body, &NO_HEADERS, &spec(pointer("/type"), "/type")).unwrap();
    assert_eq!(envelope.event_id.as_str(), "invoice.paid");
    assert_eq!(envelope.event_type.as_deref(), Some("invoice.paid"));
    let twice = br#"{"type":"a","type":"b"}"#;
    assert_eq!(
        parse_envelope(twice, &NO_HEADERS, &spec(pointer("/type"), "/type")),
        Err(PayloadError::DuplicateKey("type".to_owned()))
    );
}
