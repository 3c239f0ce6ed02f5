use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{SignatureScheme, SigningSecret, SourceName, signature::hmac_hex};
use mockall::predicate::always;

use super::*;
use crate::{
    ports::{MockClock, MockEventStore, MockRejectionSink},
    quarantine::Quarantine,
};

const BODY: &str = r#"{"event_id":"evt_123","type":"invoice.paid"}"#;

fn source() -> Source {
    Source::new(
        SourceName::parse("default").unwrap(),
        SignatureScheme::default(),
        vec![SigningSecret::new("supersecret", "0")],
    )
}

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .returning(|| DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap());
    Arc::new(clock)
}

fn use_case(store: MockEventStore, new_work: Arc<Notify>) -> ReceiveWebhook {
    ReceiveWebhook::new([source()], Arc::new(store), clock(), new_work)
}

/// Request headers as a plain list.
struct TestHeaders(Vec<(&'static str, String)>);

impl Headers for TestHeaders {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(key, _)| *key).collect()
    }
}

async fn deliver(
    use_case: &ReceiveWebhook,
    body: &str,
    signature: &str,
) -> Result<Receipt, ReceiveError> {
    let headers = TestHeaders(vec![
        ("X-Signature", signature.to_owned()),
        ("Content-Type", "application/json".to_owned()),
    ]);
    use_case
        .execute(Delivery {
            source: "default",
            headers: &headers,
            body: Bytes::copy_from_slice(body.as_bytes()),
            remote_addr: Some("192.0.2.7:4321".parse().unwrap()),
        })
        .await
}

fn sign(body: &str) -> String {
    hmac_hex::sign(&source().secrets[0], body.as_bytes())
}

async fn was_woken(new_work: &Notify) -> bool {
    // `Notify` keeps one permit: a notification sent earlier completes at once.
    tokio::time::timeout(Duration::ZERO, new_work.notified())
        .await
        .is_ok()
}

#[tokio::test]
async fn a_bad_signature_never_reaches_the_store() {
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().never();
    let use_case = use_case(store, Arc::new(Notify::new()));

    let err = deliver(&use_case, BODY, &"0".repeat(64)).await.unwrap_err();
    assert!(matches!(
        err,
        ReceiveError::InvalidSignature(SignatureError::Mismatch)
    ));
}

#[tokio::test]
async fn a_signed_but_invalid_payload_never_reaches_the_store() {
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().never();
    let use_case = use_case(store, Arc::new(Notify::new()));

    let body = r#"{"type":"invoice.paid"}"#;
    let err = deliver(&use_case, body, &sign(body)).await.unwrap_err();
    assert!(matches!(
        err,
        ReceiveError::InvalidPayload(PayloadError::MissingEventId)
    ));
}

#[tokio::test]
async fn an_unknown_source_is_refused() {
    let use_case = use_case(MockEventStore::new(), Arc::new(Notify::new()));
    let err = use_case
        .execute(Delivery {
            source: "nope",
            headers: &TestHeaders(Vec::new()),
            body: Bytes::new(),
            remote_addr: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ReceiveError::UnknownSource));
}

#[tokio::test]
async fn a_new_event_is_stored_as_received_and_wakes_a_worker() {
    let mut store = MockEventStore::new();
    store
        .expect_insert_if_absent()
        .withf(|event| {
            event.source.as_str() == "default"
                && event.event_id.as_str() == "evt_123"
                && event.event_type.as_deref() == Some("invoice.paid")
                && &event.body[..] == BODY.as_bytes()
                && event.body_digest == BodyDigest::of(BODY.as_bytes())
                && event.content_type.as_deref() == Some("application/json")
                && event.secret_label.as_deref() == Some("0")
        })
        .times(1)
        .returning(|event| Ok(Insertion::Inserted(event.key)));
    let new_work = Arc::new(Notify::new());
    let use_case = use_case(store, new_work.clone());

    let receipt = deliver(&use_case, BODY, &sign(BODY)).await.unwrap();
    assert!(
        matches!(receipt, Receipt::Accepted { ref event_id, .. } if event_id.as_str() == "evt_123")
    );
    assert!(was_woken(&new_work).await);
}

#[tokio::test]
async fn a_duplicate_is_never_enqueued() {
    let existing = EventKey::generate();
    let mut store = MockEventStore::new();
    store
        .expect_insert_if_absent()
        .with(always())
        .times(1)
        .returning(move |_| {
            Ok(Insertion::Duplicate {
                existing,
                same_body: true,
            })
        });
    let new_work = Arc::new(Notify::new());
    let use_case = use_case(store, new_work.clone());

    let receipt = deliver(&use_case, BODY, &sign(BODY)).await.unwrap();
    assert_eq!(
        receipt,
        Receipt::Duplicate {
            key: existing,
            event_id: EventId::parse("evt_123").unwrap(),
            conflict: false,
            secret_label: Some("0".into()),
        }
    );
    assert!(!was_woken(&new_work).await);
}

#[tokio::test]
async fn a_reused_id_with_another_body_is_a_conflict() {
    let existing = EventKey::generate();
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().returning(move |_| {
        Ok(Insertion::Duplicate {
            existing,
            same_body: false,
        })
    });
    let use_case = use_case(store, Arc::new(Notify::new()));

    let receipt = deliver(&use_case, BODY, &sign(BODY)).await.unwrap();
    assert!(matches!(receipt, Receipt::Duplicate { conflict: true, .. }));
}

#[tokio::test]
async fn an_unavailable_store_gives_unavailable() {
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().returning(|_| {
        Err(StoreError::Unavailable(anyhow::anyhow!(
            "connection refused"
        )))
    });
    let use_case = use_case(store, Arc::new(Notify::new()));

    let err = deliver(&use_case, BODY, &sign(BODY)).await.unwrap_err();
    assert!(matches!(err, ReceiveError::Unavailable(_)));
}

fn quarantined(sink: MockRejectionSink) -> ReceiveWebhook {
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().never();
    use_case(store, Arc::new(Notify::new())).with_quarantine(Quarantine::new(Arc::new(sink), 100))
}

#[tokio::test]
async fn a_bad_signature_is_quarantined_without_its_value() {
    let signature = "0".repeat(64);
    let expected_signature = signature.clone();
    let mut sink = MockRejectionSink::new();
    sink.expect_record()
        .withf(move |r| {
            r.source == "default"
                && r.reason == RejectionReason::BadSignature
                && r.remote_addr.as_deref() == Some("192.0.2.7:4321")
                && r.body_sha256 == BodyDigest::of(BODY.as_bytes())
                && r.body_size == BODY.len() as u64
                && r.header_names == ["content-type", "x-signature"]
                && !format!("{r:?}").contains(&expected_signature)
        })
        .times(1)
        .return_const(());
    let use_case = quarantined(sink);
    let err = deliver(&use_case, BODY, &signature).await.unwrap_err();
    assert!(matches!(err, ReceiveError::InvalidSignature(_)));
}

#[tokio::test]
async fn a_missing_signature_and_an_unknown_source_have_their_reasons() {
    let mut sink = MockRejectionSink::new();
    sink.expect_record()
        .withf(|r| r.reason == RejectionReason::MissingSignature)
        .times(1)
        .return_const(());
    sink.expect_record()
        .withf(|r| r.reason == RejectionReason::UnknownSource && r.source == "nope")
        .times(1)
        .return_const(());
    let use_case = quarantined(sink);
    deliver(&use_case, BODY, "").await.unwrap_err();
    let headers = TestHeaders(Vec::new());
    use_case
        .execute(Delivery {
            source: "nope",
            headers: &headers,
            body: Bytes::new(),
            remote_addr: None,
        })
        .await
        .unwrap_err();
}

#[tokio::test]
async fn a_signed_but_malformed_body_is_quarantined_as_malformed() {
    let mut sink = MockRejectionSink::new();
    sink.expect_record()
        .withf(|r| r.reason == RejectionReason::Malformed)
        .times(1)
        .return_const(());
    let use_case = quarantined(sink);
    deliver(&use_case, "not json", &sign("not json"))
        .await
        .unwrap_err();
}

#[tokio::test]
async fn an_expired_secret_is_refused_and_quarantined() {
    let mut store = MockEventStore::new();
    store.expect_insert_if_absent().never();
    let expired = SigningSecret::new("supersecret", "old")
        .with_not_after(DateTime::<Utc>::from_timestamp(1_600_000_000, 0).unwrap());
    let source = Source::new(
        SourceName::parse("default").unwrap(),
        SignatureScheme::default(),
        vec![expired, SigningSecret::new("the-new-secret", "new")],
    );
    let mut sink = MockRejectionSink::new();
    sink.expect_record()
        .withf(|r| r.reason == RejectionReason::ExpiredSecret)
        .times(1)
        .return_const(());
    let use_case = ReceiveWebhook::new([source], Arc::new(store), clock(), Arc::new(Notify::new()))
        .with_quarantine(Quarantine::new(Arc::new(sink), 100));
    let err = deliver(&use_case, BODY, &sign(BODY)).await.unwrap_err();
    assert!(matches!(
        err,
        ReceiveError::InvalidSignature(SignatureError::ExpiredSecret)
    ));
}
