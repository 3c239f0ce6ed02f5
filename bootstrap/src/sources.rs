//! Turning `[sources.NAME]` settings into the domain's sources, refusing
//! anything that could not verify safely (fail closed). Errors name the key:
//! `sources.stripe.secrets[1]: …`.

use std::{collections::HashSet, time::Duration};

use anyhow::bail;
use chrono::{DateTime, Utc};
use domain::{
    EnvelopeSpec, EventTypeSource, SignatureScheme, SigningSecret, Source, SourceName,
    payload::validate_pointer,
    signature::{EventIdSource, SchemeKind, hmac_hex, too_short, validate_secret},
};
use secrecy::ExposeSecret;

use crate::settings::{Environment, Settings, SourceSettings};

/// The source `POST /webhook` receives for; the development secret may be
/// short there outside production.
const DEFAULT_SOURCE: &str = "default";
/// Longest secret label (the column's width).
const MAX_LABEL_CHARS: usize = 64;

/// # Errors
/// The first rule a source breaks, naming its key.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Vec<Source>> {
    from_settings_at(settings, Utc::now())
}

/// [`from_settings`] as of `now` (which secrets have expired).
///
/// # Errors
/// As [`from_settings`].
pub fn from_settings_at(settings: &Settings, now: DateTime<Utc>) -> anyhow::Result<Vec<Source>> {
    settings
        .sources
        .iter()
        .map(|(name, source)| build(name, source, settings.environment, now))
        .collect()
}

fn build(
    name: &str,
    settings: &SourceSettings,
    environment: Environment,
    now: DateTime<Utc>,
) -> anyhow::Result<Source> {
    let key = format!("sources.{name}");
    let source_name = SourceName::parse(name).map_err(|err| anyhow::anyhow!("{key}: {err}"))?;
    let kind = SchemeKind::parse(settings.scheme.as_deref().unwrap_or("hmac-hex"))
        .map_err(|err| anyhow::anyhow!("{key}.scheme: {err}"))?;
    let scheme = scheme(&key, kind, settings)?;
    let strict = environment == Environment::Production || name != DEFAULT_SOURCE;
    let secrets = secrets(&key, name, kind, settings, strict, now)?;
    let envelope = envelope(&key, &scheme, settings)?;
    let source = Source::new(source_name, scheme, secrets).with_envelope(envelope);
    Ok(match settings.dedupe_by_body {
        Some(dedupe_by_body) => Source {
            dedupe_by_body,
            ..source
        },
        None => source,
    })
}

fn scheme(
    key: &str,
    kind: SchemeKind,
    settings: &SourceSettings,
) -> anyhow::Result<SignatureScheme> {
    let only_hmac_hex = [
        ("signature_header", settings.signature_header.is_some()),
        ("signature_prefix", settings.signature_prefix.is_some()),
        ("event_id_pointer", settings.event_id_pointer.is_some()),
        ("event_id_header", settings.event_id_header.is_some()),
    ];
    if kind != SchemeKind::HmacHex
        && let Some((field, _)) = only_hmac_hex.iter().find(|(_, given)| *given)
    {
        bail!("{key}.{field}: only for scheme = \"hmac-hex\"; {kind} fixes it");
    }
    let mut scheme = SignatureScheme::default_for(kind);
    match &mut scheme {
        SignatureScheme::HmacHex { header, prefix } => {
            if let Some(name) = &settings.signature_header {
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    bail!("{key}.signature_header: not a valid header name");
                }
                header.clone_from(name);
            }
            if let Some(given) = &settings.signature_prefix {
                if let Err(err) = hmac_hex::validate_prefix(given) {
                    bail!("{key}.signature_prefix: {err}");
                }
                prefix.clone_from(given);
            }
        }
        SignatureScheme::StandardWebhooks { tolerance }
        | SignatureScheme::Stripe { tolerance }
        | SignatureScheme::Slack { tolerance } => {
            if let Some(seconds) = settings.tolerance_seconds {
                if seconds == 0 {
                    bail!("{key}.tolerance_seconds: must be at least 1");
                }
                *tolerance = Duration::from_secs(seconds);
            }
        }
        SignatureScheme::Github | SignatureScheme::Shopify => {}
    }
    if settings.tolerance_seconds.is_some()
        && matches!(
            scheme,
            SignatureScheme::HmacHex { .. } | SignatureScheme::Github | SignatureScheme::Shopify
        )
    {
        bail!("{key}.tolerance_seconds: the {kind} scheme signs no timestamp");
    }
    Ok(scheme)
}

fn secrets(
    key: &str,
    name: &str,
    kind: SchemeKind,
    settings: &SourceSettings,
    strict: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<SigningSecret>> {
    if settings.secret.is_some() && settings.secrets.is_some() {
        bail!("{key}: give `secret` or `secrets`, not both");
    }
    let configured = settings.configured_secrets(name);
    if configured.is_empty() {
        bail!("{key}.secrets: is required: a source without a secret would accept forged requests");
    }
    let mut labels = HashSet::new();
    let mut secrets = Vec::with_capacity(configured.len());
    for entry in configured {
        let label_ok = !entry.label.is_empty() && entry.label.chars().count() <= MAX_LABEL_CHARS;
        if !label_ok {
            bail!(
                "{}.label: must be 1 to {MAX_LABEL_CHARS} characters",
                entry.key
            );
        }
        if !labels.insert(entry.label.clone()) {
            bail!(
                "{}.label: {:?} is used twice in {key}",
                entry.key,
                entry.label
            );
        }
        let mut secret = SigningSecret::new(entry.value.expose_secret().as_bytes(), entry.label);
        if let Some(not_after) = entry.not_after {
            secret = secret.with_not_after(not_after);
        }
        validate_secret(kind, &secret).map_err(|err| anyhow::anyhow!("{}: {err}", entry.key))?;
        if strict && too_short(kind, &secret) {
            bail!(
                "{}: shorter than {} bytes; use a longer random secret",
                entry.key,
                domain::signature::MIN_SECRET_LEN
            );
        }
        secrets.push(secret);
    }
    if !secrets.iter().any(|secret| secret.is_valid_at(now)) {
        bail!("{key}.secrets: every secret is past its not_after; every request would be refused");
    }
    Ok(secrets)
}

fn envelope(
    key: &str,
    scheme: &SignatureScheme,
    settings: &SourceSettings,
) -> anyhow::Result<EnvelopeSpec> {
    let mut spec = EnvelopeSpec::for_scheme(scheme);
    let pointer = |field: &str, value: &String| {
        validate_pointer(value).map_err(|err| anyhow::anyhow!("{key}.{field}: {err}"))
    };
    match (&settings.event_id_pointer, &settings.event_id_header) {
        (Some(_), Some(_)) => {
            bail!("{key}: give `event_id_pointer` or `event_id_header`, not both");
        }
        (Some(p), None) => {
            pointer("event_id_pointer", p)?;
            spec.event_id = EventIdSource::JsonPointer(p.clone());
        }
        (None, Some(header)) => {
            if header.trim().is_empty() {
                bail!("{key}.event_id_header: must not be empty");
            }
            spec.event_id = EventIdSource::Header(header.clone());
        }
        (None, None) => {}
    }
    if let Some(p) = &settings.event_type_pointer {
        pointer("event_type_pointer", p)?;
        spec.event_type = EventTypeSource::JsonPointer(p.clone());
    }
    Ok(spec)
}
