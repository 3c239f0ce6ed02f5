//! Turning `[sources.NAME]` settings into the domain's sources.

use domain::{SignatureScheme, SigningSecret, Source, SourceName};
use secrecy::ExposeSecret;

use crate::settings::Settings;

/// # Errors
/// When a source name or secret is invalid (validation normally caught it).
pub fn from_settings(settings: &Settings) -> anyhow::Result<Vec<Source>> {
    settings
        .sources
        .iter()
        .map(|(name, source)| {
            let name =
                SourceName::parse(name).map_err(|err| anyhow::anyhow!("sources.{name}: {err}"))?;
            let secret = source
                .secret
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("sources.{name}.secret is required"))?;
            Ok(Source {
                name,
                scheme: SignatureScheme::default(),
                secrets: vec![SigningSecret::new(secret.expose_secret().as_bytes(), "0")],
            })
        })
        .collect()
}
