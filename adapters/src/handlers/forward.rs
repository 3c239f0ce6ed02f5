//! `forward`: POSTs the stored body, byte-identical, to an internal URL,
//! signed with Standard Webhooks headers so the receiver can verify hookd.

use std::time::Duration;

use application::ports::{ClaimedEvent, EventHandler, HandlerError};
use async_trait::async_trait;
use chrono::Utc;
use domain::{SigningSecret, signature::standard_webhooks};
use reqwest::{StatusCode, header};

/// Most bytes of a refusing response's body kept in the error message.
const MAX_ERROR_BODY: usize = 256;

pub struct ForwardHandler {
    client: reqwest::Client,
    url: String,
    secret: SigningSecret,
}

impl std::fmt::Debug for ForwardHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardHandler")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ForwardHandler {
    /// `secret` is a `whsec_…` Standard Webhooks secret.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: String, secret: SigningSecret, timeout: Duration) -> anyhow::Result<Self> {
        // Server certificates are checked against the platform's roots.
        crate::tls::ensure_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            // A redirect would turn the POST into something else; report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Self {
            client,
            url,
            secret,
        })
    }
}

#[async_trait]
impl EventHandler for ForwardHandler {
    async fn handle(&self, event: &ClaimedEvent) -> Result<(), HandlerError> {
        let signed = standard_webhooks::sign(
            &self.secret,
            &event.key.to_string(),
            Utc::now(),
            &event.body,
        )
        .map_err(|err| {
            HandlerError::Permanent(format!("cannot sign with forward_secret: {err}"))
        })?;
        let content_type = event
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let mut request = self
            .client
            .post(&self.url)
            .header(header::CONTENT_TYPE, content_type)
            .body(event.body.clone());
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|err| {
            HandlerError::retryable(format!("POST {}: {}", self.url, describe(&err)))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let message = format!("POST {} answered {status}: {}", self.url, snippet(&body));
        if is_retryable(status) {
            Err(HandlerError::Retryable {
                message,
                retry_after,
            })
        } else {
            Err(HandlerError::Permanent(message))
        }
    }
}

/// 408, 409, 425, 429 and 5xx may succeed later; other refusals will not.
fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || matches!(status.as_u16(), 408 | 409 | 425 | 429)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        err.to_string()
    }
}

fn snippet(body: &str) -> &str {
    let mut end = body.len().min(MAX_ERROR_BODY);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    &body[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_for_https_targets_can_be_built() {
        let secret = SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "forward");
        let handler = ForwardHandler::new(
            "https://example.test/in".into(),
            secret,
            Duration::from_secs(5),
        );
        assert!(handler.is_ok());
    }

    #[test]
    fn only_transient_statuses_are_retryable() {
        for code in [408, 409, 425, 429, 500, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [301, 400, 401, 403, 404, 410, 422] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        headers.insert(header::RETRY_AFTER, later.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
