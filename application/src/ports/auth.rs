//! Who may read the dashboard API, and what they may do.

use std::fmt;

/// What a dashboard token allows. A route needs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `GET /events`, `GET /events/{id}`.
    EventsRead,
    /// `POST /events/{id}/replay`, `POST /events/replay`.
    EventsReplay,
    /// `GET /rejections`.
    RejectionsRead,
    /// `GET /stats`, `GET /sources`.
    StatsRead,
}

impl Scope {
    pub const ALL: [Self; 4] = [
        Self::EventsRead,
        Self::EventsReplay,
        Self::RejectionsRead,
        Self::StatsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventsRead => "events:read",
            Self::EventsReplay => "events:replay",
            Self::RejectionsRead => "rejections:read",
            Self::StatsRead => "stats:read",
        }
    }

    /// `None` for a scope hookd does not know (ignored in tokens, refused on
    /// the command line).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == raw)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller of the dashboard API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    /// What the token allows; empty when it carries no scope claim.
    pub scopes: Vec<Scope>,
    /// The sources the token is restricted to; `None`: every source.
    pub sources: Option<Vec<String>>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn may_see(&self, source: &str) -> bool {
        self.sources
            .as_ref()
            .is_none_or(|sources| sources.iter().any(|allowed| allowed == source))
    }
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
    /// [`AuthError::Invalid`] for anything else that is wrong with it. A
    /// valid token without scopes is `Ok`: the caller decides (403).
    fn verify(&self, token: &str) -> Result<Principal, AuthError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_unknown_ones_are_none() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("events:write"), None);
    }

    #[test]
    fn a_source_restriction_limits_what_is_seen() {
        let mut caller = Principal {
            subject: "a".into(),
            scopes: vec![Scope::EventsRead],
            sources: None,
        };
        assert!(caller.may_see("stripe"));
        caller.sources = Some(vec!["github".into()]);
        assert!(!caller.may_see("stripe"));
        assert!(caller.may_see("github"));
        assert!(caller.has(Scope::EventsRead) && !caller.has(Scope::EventsReplay));
    }
}
