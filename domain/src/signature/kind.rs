//! Scheme names as they appear in configuration (`scheme = "stripe"`).

use std::fmt;
use std::str::FromStr;

use super::SignatureScheme;

/// Which scheme a source uses, without its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemeKind {
    HmacHex,
    StandardWebhooks,
    Stripe,
    Github,
    Shopify,
    Slack,
}

/// A configured scheme name that hookd does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signature scheme {0:?}; expected one of hmac-hex, standard-webhooks, stripe, github, shopify, slack"
)]
pub struct UnknownScheme(pub String);

impl SchemeKind {
    /// Every scheme, in the order the docs list them.
    pub const ALL: [Self; 6] = [
        Self::HmacHex,
        Self::StandardWebhooks,
        Self::Stripe,
        Self::Github,
        Self::Shopify,
        Self::Slack,
    ];

    /// The configuration name, e.g. `standard-webhooks`.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacHex => "hmac-hex",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Stripe => "stripe",
            Self::Github => "github",
            Self::Shopify => "shopify",
            Self::Slack => "slack",
        }
    }

    /// Parses a configuration name; exact, lower-case names only, so a typo
    /// fails at startup instead of silently picking a scheme.
    ///
    /// # Errors
    /// [`UnknownScheme`] for any other string.
    pub fn parse(name: &str) -> Result<Self, UnknownScheme> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownScheme(name.to_owned()))
    }
}

impl FromStr for SchemeKind {
    type Err = UnknownScheme;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
    }
}

impl fmt::Display for SchemeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<&SignatureScheme> for SchemeKind {
    fn from(scheme: &SignatureScheme) -> Self {
        scheme.kind()
    }
}

impl SignatureScheme {
    /// Which scheme this is, without its parameters.
    pub fn kind(&self) -> SchemeKind {
        match self {
            Self::HmacHex { .. } => SchemeKind::HmacHex,
            Self::StandardWebhooks { .. } => SchemeKind::StandardWebhooks,
            Self::Stripe { .. } => SchemeKind::Stripe,
            Self::Github => SchemeKind::Github,
            Self::Shopify => SchemeKind::Shopify,
            Self::Slack { .. } => SchemeKind::Slack,
        }
    }

    /// The configuration name, e.g. `stripe`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_name_parses_to_its_kind() {
        let names = [
            ("hmac-hex", SchemeKind::HmacHex),
            ("standard-webhooks", SchemeKind::StandardWebhooks),
            ("stripe", SchemeKind::Stripe),
            ("github", SchemeKind::Github),
            ("shopify", SchemeKind::Shopify),
            ("slack", SchemeKind::Slack),
        ];
        for (name, kind) in names {
            assert_eq!(SchemeKind::parse(name), Ok(kind));
            assert_eq!(kind.name(), name);
        }
    }

    #[test]
    fn names_round_trip_through_display_and_from_str() {
        for kind in SchemeKind::ALL {
            assert_eq!(kind.to_string().parse::<SchemeKind>(), Ok(kind));
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_rejected() {
        for bad in ["", "hmac", "Stripe", "standard_webhooks", " github"] {
            assert_eq!(
                SchemeKind::parse(bad),
                Err(UnknownScheme(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_scheme_reports_its_config_name() {
        assert_eq!(SignatureScheme::default().name(), "hmac-hex");
        assert_eq!(SignatureScheme::Github.name(), "github");
    }
}
