//! Who may read the dashboard API.

/// The authenticated caller of the dashboard API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
}

/// Why a bearer token was refused. Every variant means 401; the message is
/// safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("an `Authorization: Bearer` token is required")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// Verifies dashboard bearer tokens. CPU-only, hence synchronous.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenVerifier: Send + Sync {
    /// # Errors
    /// [`AuthError::Expired`] for a token past `exp` (plus leeway),
    /// [`AuthError::Invalid`] for anything else that is wrong with it.
    fn verify(&self, token: &str) -> Result<Principal, AuthError>;
}
