//! The `Authorization: Bearer <JWT>` guard of the dashboard API.

use application::ports::{AuthError, Principal};
use axum::{extract::FromRequestParts, http::header, http::request::Parts};

use super::{AppState, error::ApiError};

/// An authenticated dashboard caller; extracting it verifies the token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(AuthError::Missing)?;
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let principal = state.tokens.verify(token)?;
        Ok(Self(principal))
    }
}
