//! `hookd sign` and `hookd send`: signing a payload the way a source's
//! sender would, for trying hookd out and for scripts.

use anyhow::Context as _;
use chrono::Utc;
use domain::{
    SignatureScheme, SigningSecret, Source,
    signature::{EventIdSource, SchemeKind, hmac_hex, standard_webhooks},
};

use crate::{settings::Settings, sources};

/// What `hookd sign` was asked for.
#[derive(Debug)]
pub struct SignRequest<'a> {
    pub secret: Option<&'a str>,
    pub source: &'a str,
    pub scheme: Option<&'a str>,
    pub id: Option<&'a str>,
}

/// The text `hookd sign` prints: the bare `X-Signature` value when no
/// `--scheme` is given for an `hmac-hex` source or a `--secret` (so that
/// `$(hookd sign)` pipes into curl as before), else one `Name: value` line
/// per header.
///
/// # Errors
/// An unknown scheme or source, or a secret that cannot sign.
pub fn sign(settings: &Settings, request: &SignRequest<'_>, body: &[u8]) -> anyhow::Result<String> {
    let Some(name) = request.scheme else {
        // Today's behaviour first: the bare value, ready for `-H "X-Signature: …"`.
        if let Some(secret) = request.secret {
            return Ok(hmac_hex::sign(&SigningSecret::new(secret, "cli"), body));
        }
        let source = configured(settings, request.source)?;
        let secret = first_valid_secret(&source)?;
        if let SignatureScheme::HmacHex { prefix, .. } = &source.scheme {
            return Ok(format!("{prefix}{}", hmac_hex::sign(&secret, body)));
        }
        return Ok(lines(&signed_headers(
            &source.scheme,
            &secret,
            body,
            request.id,
        )?));
    };
    let scheme = SignatureScheme::default_for(SchemeKind::parse(name)?);
    let secret = match request.secret {
        Some(secret) => SigningSecret::new(secret, "cli"),
        None => first_valid_secret(&configured(settings, request.source)?)?,
    };
    Ok(lines(&signed_headers(&scheme, &secret, body, request.id)?))
}

fn lines(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Signs `body` with `source`'s first valid secret and posts it to `url`;
/// returns the answer's status and body.
///
/// # Errors
/// An unknown source, a secret that cannot sign, or no answer.
pub async fn send(
    settings: &Settings,
    url: &str,
    source: &str,
    id: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<(reqwest::StatusCode, String)> {
    let source = configured(settings, source)?;
    let secret = first_valid_secret(&source)?;
    let headers = signed_headers(&source.scheme, &secret, &body, id)?;
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("posting to {url}"))?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    Ok((status, text))
}

fn configured(settings: &Settings, name: &str) -> anyhow::Result<Source> {
    sources::from_settings(settings)?
        .into_iter()
        .find(|source| source.name.as_str() == name)
        .with_context(|| format!("no source {name:?} is configured"))
}

fn first_valid_secret(source: &Source) -> anyhow::Result<SigningSecret> {
    let now = Utc::now();
    source
        .secrets
        .iter()
        .find(|secret| secret.is_valid_at(now))
        .cloned()
        .with_context(|| format!("source {:?} has no unexpired secret", source.name.as_str()))
}

/// The scheme's headers; schemes that carry the event id in a header get
/// `id`, or one derived from the body (so re-sending a body is a replay).
fn signed_headers(
    scheme: &SignatureScheme,
    secret: &SigningSecret,
    body: &[u8],
    id: Option<&str>,
) -> anyhow::Result<Vec<(String, String)>> {
    let derived = match scheme.event_id_source() {
        EventIdSource::Header(_) | EventIdSource::HeaderElseHeader(..) => {
            Some(standard_webhooks::derived_id(body))
        }
        EventIdSource::JsonPointer(_) | EventIdSource::JsonPointerElseBodySha256(_) => None,
    };
    let id = id.or(derived.as_deref());
    scheme
        .sign(secret, body, Utc::now(), id)
        .context("signing the payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event_id":"evt_123","type":"invoice.paid"}"#;
    // printf '%s' "$BODY" | openssl dgst -sha256 -hmac supersecret
    const VECTOR: &str = "658a30ffb12901daf4c64c490d8303d8a1fb38660fcf1aa866ff39cdccfdd27c";

    fn request<'a>(secret: Option<&'a str>, scheme: Option<&'a str>) -> SignRequest<'a> {
        SignRequest {
            secret,
            source: "default",
            scheme,
            id: Some("guid-1"),
        }
    }

    #[test]
    fn without_a_scheme_only_the_hex_is_printed_as_before() {
        let settings = Settings::defaults().unwrap();
        assert_eq!(sign(&settings, &request(None, None), BODY).unwrap(), VECTOR);
        let with_secret = request(Some("supersecret"), None);
        assert_eq!(sign(&settings, &with_secret, BODY).unwrap(), VECTOR);
    }

    #[test]
    fn with_a_scheme_every_header_is_printed() {
        let settings = Settings::defaults().unwrap();
        let printed = sign(&settings, &request(Some("s"), Some("github")), BODY).unwrap();
        let lines: Vec<_> = printed.lines().collect();
        assert_eq!(lines.len(), 2, "{printed}");
        assert!(lines[0].starts_with("X-Hub-Signature-256: sha256="));
        assert_eq!(lines[1], "X-GitHub-Delivery: guid-1");
    }

    #[test]
    fn an_unknown_scheme_or_source_is_an_error() {
        let settings = Settings::defaults().unwrap();
        assert!(sign(&settings, &request(Some("s"), Some("Stripe")), BODY).is_err());
        let unknown = SignRequest {
            source: "nope",
            ..request(None, None)
        };
        assert!(sign(&settings, &unknown, BODY).is_err());
    }
}
