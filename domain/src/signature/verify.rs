//! [`SignatureScheme::verify`]: dispatch to the scheme's verifier, over the
//! secrets still valid at `now`, telling a signature made with an expired
//! secret (`ExpiredSecret`) from a stranger's (`Mismatch`), after refusing a
//! request that offers too many signatures (`TooManySignatures`).

use chrono::{DateTime, Utc};

use super::{
    DEFAULT_MAX_CANDIDATES, Headers, SignatureError, SignatureScheme, Verified, github, hmac_hex,
    shopify, slack, standard_webhooks, stripe,
};
use crate::SigningSecret;

impl SignatureScheme {
    /// Checks a request's signature against every secret in `secrets` that
    /// is still valid at `now`. `secret_index` indexes `secrets` as given.
    ///
    /// For timed schemes the signature is checked before the timestamp's age,
    /// so `Stale` and `Future` only ever describe genuinely signed requests.
    ///
    /// # Errors
    /// [`SignatureError`] says why the request is refused; `ExpiredSecret`
    /// when no valid secret matches but one past its `not_after` would have.
    pub fn verify(
        &self,
        secrets: &[SigningSecret],
        headers: &dyn Headers,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, SignatureError> {
        self.verify_bounded(secrets, headers, body, now, DEFAULT_MAX_CANDIDATES)
    }

    /// [`SignatureScheme::verify`], refusing a request that offers more than
    /// `max_candidates` signatures before checking any of them.
    ///
    /// # Errors
    /// [`SignatureError::TooManySignatures`] over the limit, otherwise as
    /// [`SignatureScheme::verify`].
    pub fn verify_bounded(
        &self,
        secrets: &[SigningSecret],
        headers: &dyn Headers,
        body: &[u8],
        now: DateTime<Utc>,
        max_candidates: usize,
    ) -> Result<Verified, SignatureError> {
        if self.candidate_count(headers) > max_candidates {
            return Err(SignatureError::TooManySignatures);
        }
        // The common case, no secret expired: no copies.
        if secrets.iter().all(|secret| secret.is_valid_at(now)) {
            return self.verify_with(secrets, headers, body, now);
        }
        let (valid_indexes, valid): (Vec<usize>, Vec<SigningSecret>) = secrets
            .iter()
            .enumerate()
            .filter(|(_, secret)| secret.is_valid_at(now))
            .map(|(index, secret)| (index, secret.clone()))
            .unzip();
        match self.verify_with(&valid, headers, body, now) {
            Ok(Verified { secret_index }) => Ok(Verified {
                secret_index: valid_indexes[secret_index],
            }),
            Err(SignatureError::Mismatch) => {
                let expired: Vec<SigningSecret> = secrets
                    .iter()
                    .filter(|secret| !secret.is_valid_at(now))
                    .cloned()
                    .collect();
                // Stale/Future also mean the expired secret signed it.
                match self.verify_with(&expired, headers, body, now) {
                    Ok(_) | Err(SignatureError::Stale | SignatureError::Future) => {
                        Err(SignatureError::ExpiredSecret)
                    }
                    Err(_) => Err(SignatureError::Mismatch),
                }
            }
            Err(other) => Err(other),
        }
    }

    fn verify_with(
        &self,
        secrets: &[SigningSecret],
        headers: &dyn Headers,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, SignatureError> {
        match self {
            Self::HmacHex { header, prefix } => {
                let value = headers.get(header).unwrap_or_default();
                hmac_hex::verify(secrets, value, prefix, body)
            }
            Self::StandardWebhooks { tolerance } => {
                standard_webhooks::verify(secrets, headers, body, now, *tolerance)
            }
            Self::Stripe { tolerance } => stripe::verify(secrets, headers, body, now, *tolerance),
            Self::Github => github::verify(secrets, headers, body),
            Self::Shopify => shopify::verify(secrets, headers, body),
            Self::Slack { tolerance } => slack::verify(secrets, headers, body, now, *tolerance),
        }
    }
}
