//! Dashboard tokens: HS256 JWTs, verified strictly and issued for operators.

use std::time::Duration;

use application::ports::{AuthError, Principal, TokenVerifier};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

/// Who may be issued or verify tokens, and how strictly.
#[derive(Clone)]
pub struct JwtSettings {
    pub secret: Vec<u8>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway: Duration,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Verifies HS256 tokens: `exp` required, `nbf` checked, `iss`/`aud`
/// required and checked when configured, no other algorithm accepted.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// # Errors
    /// When the secret is empty.
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = settings.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &settings.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &settings.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            key: DecodingKey::from_secret(&settings.secret)?,
            validation,
        })
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = decode::<Claims>(token, &self.key, &self.validation).map_err(|err| match err
            .kind()
        {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => {
                AuthError::Invalid("the token is not valid yet (nbf)".into())
            }
            ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
            ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
            ErrorKind::InvalidAlgorithm => AuthError::Invalid("algorithm not accepted".into()),
            ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
            ErrorKind::MissingRequiredClaim(claim) => {
                AuthError::Invalid(format!("missing claim `{claim}`"))
            }
            _ => AuthError::Invalid("malformed token".into()),
        })?;
        Ok(Principal {
            subject: data.claims.sub,
        })
    }
}

/// Issues a token for `subject`, valid for `ttl`, with the configured iss/aud.
///
/// # Errors
/// Only if the claims cannot be encoded, which does not happen for HS256.
pub fn issue_token(
    settings: &JwtSettings,
    subject: &str,
    ttl: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let issued_at = u64::try_from(now.timestamp()).unwrap_or(0);
    let claims = Claims {
        sub: subject.to_owned(),
        exp: issued_at + ttl.as_secs(),
        iat: Some(issued_at),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&settings.secret)?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwtSettings {
        JwtSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: Some("hookd".into()),
            audience: Some("dashboard".into()),
            leeway: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_issued_token_verifies() {
        let token = issue_token(
            &settings(),
            "alice",
            Duration::from_secs(60),
            chrono::Utc::now(),
        )
        .unwrap();
        let principal = JwtVerifier::new(&settings())
            .unwrap()
            .verify(&token)
            .unwrap();
        assert_eq!(principal.subject, "alice");
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let other = JwtSettings {
            audience: Some("other".into()),
            ..settings()
        };
        let token =
            issue_token(&other, "alice", Duration::from_secs(60), chrono::Utc::now()).unwrap();
        assert_eq!(
            JwtVerifier::new(&settings()).unwrap().verify(&token),
            Err(AuthError::Invalid("wrong audience".into()))
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", settings()).contains("0123456789"));
    }
}
