//! Where each scheme's sender puts the event id, so the application layer
//! knows what to deduplicate on. Only the mapping lives here; reading the
//! header or body is the application's job.

use super::{github, shopify, standard_webhooks};
use crate::signature::SignatureScheme;

/// Where to find a request's event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventIdSource {
    /// A JSON pointer (RFC 6901) into the body, e.g. `/id`.
    JsonPointer(String),
    /// A header, by case-insensitive name.
    Header(String),
    /// The first header when present and non-empty, else the second.
    HeaderElseHeader(String, String),
    /// A JSON pointer into the body when it resolves; otherwise the hex
    /// SHA-256 of the raw body (for senders such as Slack slash commands whose
    /// form-encoded bodies carry no id).
    JsonPointerElseBodySha256(String),
}

/// The pointer `hmac-hex` sources use unless their config names another
/// pointer or a header (the config layer builds that override itself).
pub const DEFAULT_JSON_POINTER: &str = "/event_id";

impl SignatureScheme {
    /// Where this scheme's sender puts the event id.
    pub fn event_id_source(&self) -> EventIdSource {
        match self {
            Self::HmacHex { .. } => EventIdSource::JsonPointer(DEFAULT_JSON_POINTER.to_owned()),
            Self::StandardWebhooks { .. } => {
                EventIdSource::Header(standard_webhooks::ID_HEADER.to_owned())
            }
            Self::Stripe { .. } => EventIdSource::JsonPointer("/id".to_owned()),
            Self::Github => EventIdSource::Header(github::DELIVERY_HEADER.to_owned()),
            Self::Shopify => EventIdSource::HeaderElseHeader(
                shopify::EVENT_ID_HEADER.to_owned(),
                shopify::WEBHOOK_ID_HEADER.to_owned(),
            ),
            Self::Slack { .. } => {
                EventIdSource::JsonPointerElseBodySha256(DEFAULT_JSON_POINTER.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SchemeKind;

    fn source_for(kind: SchemeKind) -> EventIdSource {
        SignatureScheme::default_for(kind).event_id_source()
    }

    #[test]
    fn hmac_hex_reads_the_body_event_id_by_default() {
        assert_eq!(
            source_for(SchemeKind::HmacHex),
            EventIdSource::JsonPointer("/event_id".to_owned())
        );
    }

    #[test]
    fn standard_webhooks_reads_the_webhook_id_header() {
        assert_eq!(
            source_for(SchemeKind::StandardWebhooks),
            EventIdSource::Header("webhook-id".to_owned())
        );
    }

    #[test]
    fn stripe_reads_the_body_id() {
        assert_eq!(
            source_for(SchemeKind::Stripe),
            EventIdSource::JsonPointer("/id".to_owned())
        );
    }

    #[test]
    fn github_reads_the_delivery_header() {
        assert_eq!(
            source_for(SchemeKind::Github),
            EventIdSource::Header("X-GitHub-Delivery".to_owned())
        );
    }

    #[test]
    fn shopify_prefers_the_event_id_over_the_webhook_id() {
        assert_eq!(
            source_for(SchemeKind::Shopify),
            EventIdSource::HeaderElseHeader(
                "X-Shopify-Event-Id".to_owned(),
                "X-Shopify-Webhook-Id".to_owned()
            )
        );
    }

    #[test]
    fn slack_reads_the_body_event_id_else_hashes_the_body() {
        assert_eq!(
            source_for(SchemeKind::Slack),
            EventIdSource::JsonPointerElseBodySha256("/event_id".to_owned())
        );
    }
}
