//! Dashboard tokens: JWTs (HS256 with a shared secret, or RS256 / ES256 /
//! EdDSA with a PEM public key), verified strictly, carrying scopes and an
//! optional source restriction; HS256 ones can be issued for operators.

use std::time::Duration;

use anyhow::Context as _;
use application::ports::{AuthError, Principal, Scope, TokenVerifier};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

/// Who may be issued or verify tokens, and how strictly.
#[derive(Clone)]
pub struct JwtSettings {
    /// The one accepted algorithm: HS256, RS256, ES256 or EdDSA.
    pub algorithm: Algorithm,
    /// The HS256 secret, or the PEM public key of the others.
    pub key: Vec<u8>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway: Duration,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
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
    /// One audience or several (RFC 7519 §4.1.3); jsonwebtoken checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    /// Space-separated, as in OAuth 2.0 (RFC 8693 `scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// The same as an array; both are read when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    /// Restricts the token to these sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Claims {
    /// Known scopes from both claims; unknown ones are ignored.
    fn known_scopes(&self) -> Vec<Scope> {
        let spaced = self.scope.iter().flat_map(|s| s.split_ascii_whitespace());
        let listed = self.scopes.iter().flatten().map(String::as_str);
        let mut scopes: Vec<Scope> = spaced.chain(listed).filter_map(Scope::parse).collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }
}

/// Verifies tokens of the one configured algorithm: `exp` required, `nbf`
/// checked, `iss`/`aud` required and checked when configured, and a token
/// carrying an `aud` refused when no audience is configured.
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
    /// An algorithm other than HS256, RS256, ES256 or EdDSA, or a key that is
    /// not a PEM public key of the algorithm.
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let key = match settings.algorithm {
            Algorithm::HS256 => DecodingKey::from_secret(&settings.key)?,
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&settings.key)?,
            Algorithm::ES256 => DecodingKey::from_ec_pem(&settings.key)?,
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&settings.key)?,
            other => anyhow::bail!("the JWT algorithm {other:?} is not supported"),
        };
        let mut validation = Validation::new(settings.algorithm);
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
        // `aud` is always validated: without a configured audience a token
        // that names one is for someone else and is refused (RFC 7519 §4.1.3).
        validation.validate_aud = true;
        validation.aud = None;
        if let Some(audience) = &settings.audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Ok(Self { key, validation })
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
            scopes: data.claims.known_scopes(),
            subject: data.claims.sub,
            sources: data.claims.sources,
        })
    }
}

/// What a token is issued for.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub subject: &'a str,
    pub ttl: Duration,
    pub scopes: &'a [Scope],
    /// `None`: every source.
    pub sources: Option<&'a [String]>,
}

/// Issues an HS256 token with the configured iss/aud and `scope` claim.
///
/// # Errors
/// When the configured algorithm is not HS256: the holder of the private
/// key issues those tokens, not hookd.
pub fn issue_token(
    settings: &JwtSettings,
    request: &TokenRequest<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        settings.algorithm == Algorithm::HS256,
        "hookd issues HS256 tokens only; with auth.algorithm = {:?}, tokens come from the private key's holder",
        settings.algorithm
    );
    let issued_at = u64::try_from(now.timestamp()).unwrap_or(0);
    let scope = request
        .scopes
        .iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let claims = Claims {
        sub: request.subject.to_owned(),
        exp: issued_at + request.ttl.as_secs(),
        iat: Some(issued_at),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone().map(Audience::One),
        scope: Some(scope),
        scopes: None,
        sources: request.sources.map(<[String]>::to_vec),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&settings.key)?,
    )
    .context("encoding the token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwtSettings {
        JwtSettings {
            algorithm: Algorithm::HS256,
            key: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: Some("hookd".into()),
            audience: Some("dashboard".into()),
            leeway: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_issued_token_verifies() {
        let sources = ["github".to_owned()];
        let token = issue_token(
            &settings(),
            &TokenRequest {
                sources: Some(&sources),
                ..request(&[Scope::StatsRead, Scope::EventsRead])
            },
            chrono::Utc::now(),
        )
        .unwrap();
        let principal = JwtVerifier::new(&settings())
            .unwrap()
            .verify(&token)
            .unwrap();
        assert_eq!(principal.subject, "alice");
        assert_eq!(principal.scopes, [Scope::EventsRead, Scope::StatsRead]);
        assert_eq!(principal.sources.as_deref(), Some(&sources[..]));
    }

    fn request(scopes: &[Scope]) -> TokenRequest<'_> {
        TokenRequest {
            subject: "alice",
            ttl: Duration::from_secs(60),
            scopes,
            sources: None,
        }
    }

    #[test]
    fn scopes_are_read_from_both_claims_and_unknown_ones_ignored() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "sub": "a", "exp": 1,
            "scope": "events:read  admin",
            "scopes": ["rejections:read", "events:read"]
        }))
        .unwrap();
        assert_eq!(
            claims.known_scopes(),
            [Scope::EventsRead, Scope::RejectionsRead]
        );
    }

    #[test]
    fn only_hs256_tokens_are_issued() {
        let rs256 = JwtSettings {
            algorithm: Algorithm::RS256,
            ..settings()
        };
        assert!(issue_token(&rs256, &request(&Scope::ALL), chrono::Utc::now()).is_err());
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let other = JwtSettings {
            audience: Some("other".into()),
            ..settings()
        };
        let token = issue_token(&other, &request(&Scope::ALL), chrono::Utc::now()).unwrap();
        assert_eq!(
            JwtVerifier::new(&settings()).unwrap().verify(&token),
            Err(AuthError::Invalid("wrong audience".into()))
        );
    }

    fn hs256_token(claims: &serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&settings().key).unwrap(),
        )
        .unwrap()
    }

    fn claims_with_aud(aud: serde_json::Value) -> serde_json::Value {
        let exp = chrono::Utc::now().timestamp() + 600;
        serde_json::json!({"sub": "a", "exp": exp, "iss": "hookd", "aud": aud})
    }

    #[test]
    fn a_token_naming_an_audience_is_refused_when_none_is_configured() {
        let unconfigured = JwtSettings {
            audience: None,
            ..settings()
        };
        let verifier = JwtVerifier::new(&unconfigured).unwrap();
        for aud in [
            serde_json::json!("another-service"),
            serde_json::json!(["another-service"]),
        ] {
            let token = hs256_token(&claims_with_aud(aud.clone()));
            assert_eq!(
                verifier.verify(&token),
                Err(AuthError::Invalid("wrong audience".into())),
                "{aud}"
            );
        }
        // Without `aud` the token is fine.
        let exp = chrono::Utc::now().timestamp() + 600;
        let plain = hs256_token(&serde_json::json!({"sub": "a", "exp": exp, "iss": "hookd"}));
        assert!(verifier.verify(&plain).is_ok());
    }

    #[test]
    fn an_array_audience_is_accepted_when_one_element_matches() {
        let verifier = JwtVerifier::new(&settings()).unwrap();
        let token = hs256_token(&claims_with_aud(serde_json::json!(["other", "dashboard"])));
        assert_eq!(verifier.verify(&token).unwrap().subject, "a");
        let token = hs256_token(&claims_with_aud(serde_json::json!(["other", "third"])));
        assert_eq!(
            verifier.verify(&token),
            Err(AuthError::Invalid("wrong audience".into()))
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", settings()).contains("0123456789"));
    }
}
