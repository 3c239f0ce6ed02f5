//! Rotation: several secrets at once, each refused after its `not_after`,
//! checked for every scheme through `SignatureScheme::verify`.

use chrono::{DateTime, Duration, Utc};

use super::{SchemeKind, SignatureError, SignatureScheme, Verified};
use crate::SigningSecret;

const BODY: &[u8] = br#"{"event_id":"evt_1","id":"evt_1","type":"t"}"#;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp")
}

fn pair(kind: SchemeKind) -> (SigningSecret, SigningSecret) {
    match kind {
        SchemeKind::StandardWebhooks => (
            SigningSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "old"),
            SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "new"),
        ),
        _ => (
            SigningSecret::new("the-old-secret-of-24-bytes-or-more", "old"),
            SigningSecret::new("the-new-secret-of-24-bytes-or-more", "new"),
        ),
    }
}

fn verify_signed_by(
    kind: SchemeKind,
    signer: &SigningSecret,
    secrets: &[SigningSecret],
    signed_at: DateTime<Utc>,
) -> Result<Verified, SignatureError> {
    let scheme = SignatureScheme::default_for(kind);
    let headers = scheme
        .sign(signer, BODY, signed_at, Some("evt_1"))
        .expect("signs");
    scheme.verify(secrets, &headers, BODY, now())
}

#[test]
fn during_a_rotation_both_secrets_verify_with_their_own_index() {
    for kind in SchemeKind::ALL {
        let (old, new) = pair(kind);
        let old = old.with_not_after(now() + Duration::days(1));
        let secrets = [old.clone(), new.clone()];
        assert_eq!(
            verify_signed_by(kind, &old, &secrets, now()),
            Ok(Verified { secret_index: 0 }),
            "{kind}"
        );
        assert_eq!(
            verify_signed_by(kind, &new, &secrets, now()),
            Ok(Verified { secret_index: 1 }),
            "{kind}"
        );
    }
}

#[test]
fn after_not_after_the_old_secret_is_an_expired_secret() {
    for kind in SchemeKind::ALL {
        let (old, new) = pair(kind);
        let old = old.with_not_after(now() - Duration::seconds(1));
        let secrets = [old.clone(), new.clone()];
        assert_eq!(
            verify_signed_by(kind, &old, &secrets, now()),
            Err(SignatureError::ExpiredSecret),
            "{kind}"
        );
        // The index still points into the list as configured.
        assert_eq!(
            verify_signed_by(kind, &new, &secrets, now()),
            Ok(Verified { secret_index: 1 }),
            "{kind}"
        );
    }
}

#[test]
fn a_stranger_is_a_mismatch_even_when_a_secret_expired() {
    for kind in SchemeKind::ALL {
        let (old, new) = pair(kind);
        let stranger = match kind {
            SchemeKind::StandardWebhooks => {
                SigningSecret::new("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", "x")
            }
            _ => SigningSecret::new("someone-else-entirely-and-long", "x"),
        };
        let secrets = [old.with_not_after(now() - Duration::seconds(1)), new];
        assert_eq!(
            verify_signed_by(kind, &stranger, &secrets, now()),
            Err(SignatureError::Mismatch),
            "{kind}"
        );
    }
}

#[test]
fn an_old_timestamp_signed_with_an_expired_secret_is_still_an_expired_secret() {
    let (old, new) = pair(SchemeKind::Stripe);
    let secrets = [old.clone().with_not_after(now() - Duration::days(1)), new];
    let long_ago = now() - Duration::hours(2);
    assert_eq!(
        verify_signed_by(SchemeKind::Stripe, &old, &secrets, long_ago),
        Err(SignatureError::ExpiredSecret)
    );
}

#[test]
fn with_every_secret_expired_nothing_verifies() {
    let (old, _) = pair(SchemeKind::HmacHex);
    let secrets = [old.clone().with_not_after(now() - Duration::days(1))];
    assert_eq!(
        verify_signed_by(SchemeKind::HmacHex, &old, &secrets, now()),
        Err(SignatureError::ExpiredSecret)
    );
}
