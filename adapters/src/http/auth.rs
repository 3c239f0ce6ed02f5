//! The `Authorization: Bearer <JWT>` guard of the dashboard API: 401 for a
//! missing or bad token, 403 for a valid one without the route's scope, and
//! the token's source restriction applied to what it asks for.

use std::marker::PhantomData;

use application::ports::{AuthError, Principal, Scope};
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};

use super::{AppState, error::ApiError};

/// The scope a route needs, as a type, so the extractor checks it.
pub trait RequiredScope {
    const SCOPE: Scope;
}

macro_rules! scopes {
    ($($name:ident => $scope:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl RequiredScope for $name {
            const SCOPE: Scope = Scope::$scope;
        }
    )*};
}

scopes!(
    EventsRead => EventsRead,
    EventsReplay => EventsReplay,
    RejectionsRead => RejectionsRead,
    StatsRead => StatsRead,
);

/// A dashboard caller whose token verified and carries the scope `S`.
#[derive(Debug, Clone)]
pub struct Authorized<S>(pub Principal, pub PhantomData<S>);

impl<S: RequiredScope + Send + Sync> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = state.tokens.verify(bearer_token(&parts.headers)?)?;
        if !principal.has(S::SCOPE) {
            return Err(ApiError::InsufficientScope(S::SCOPE));
        }
        Ok(Self(principal, PhantomData))
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme's
/// case does not matter), for the dashboard and `/metrics` alike.
///
/// # Errors
/// [`AuthError::Missing`] without such a header or with an empty token.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(AuthError::Missing)
}

/// The sources a request may look at: the one it asks for (if the token
/// allows it, else 403), otherwise the token's restriction (if any).
pub(super) struct SourceScope {
    pub one: Option<String>,
    pub only: Option<Vec<String>>,
}

pub(super) fn source_scope(
    caller: &Principal,
    requested: Option<String>,
) -> Result<SourceScope, ApiError> {
    match requested {
        Some(source) if !caller.may_see(&source) => Err(ApiError::SourceNotAllowed(source)),
        Some(source) => Ok(SourceScope {
            one: Some(source),
            only: None,
        }),
        None => Ok(SourceScope {
            one: None,
            only: caller.sources.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_tokens_are_read_in_any_scheme_case() {
        assert_eq!(bearer_token(&with_authorization("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(&with_authorization("bearer  abc ")), Ok("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer  ", "abc"] {
            assert_eq!(
                bearer_token(&with_authorization(bad)),
                Err(AuthError::Missing),
                "{bad}"
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new()), Err(AuthError::Missing));
    }
}
