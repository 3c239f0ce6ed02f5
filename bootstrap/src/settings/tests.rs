use std::io::Write as _;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Option<config::Map<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

/// Random-looking values of 64 hex characters, as `hookd secret` prints.
const RANDOM_A: &str = "3f9c1e0b7a5d48e2c6f1a09b8d7e3c2154a6b9f0e8d7c6b5a4938271605f4e3d";
const RANDOM_B: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00";

fn error_of(result: anyhow::Result<Settings>) -> String {
    format!("{:#}", result.unwrap_err())
}

#[test]
fn defaults_run_on_sqlite_with_development_secrets() {
    let settings = Settings::defaults().unwrap();
    assert_eq!(settings.environment, Environment::Development);
    assert_eq!(settings.server.bind.port(), 8000);
    // Only this machine can reach a development instance.
    assert!(settings.server.bind.ip().is_loopback());
    // Generated at start, beside the database (crate::dev_secret).
    assert!(settings.auth.jwt_secret.is_none());
    assert_eq!(
        settings.database.url.expose_secret(),
        "sqlite://data/hookd.db?mode=rwc"
    );
    assert_eq!(settings.processing.workers, 4);
    assert_eq!(
        settings.development_secrets_in_use(),
        ["sources.default.secret"]
    );
}

#[test]
fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
    let toml = file(
        "[server]\nbind = \"127.0.0.1:9000\"\n[processing]\nworkers = 2\n[sources.default]\nsecret = \"from-file\"\n",
    );
    let settings = Settings::load_with_env(
        Some(toml.path()),
        env(&[
            ("HOOKD__PROCESSING__WORKERS", "7"),
            ("HOOKD__AUTH__ISSUER", "hookd"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.server.bind.port(), 9000);
    assert_eq!(settings.processing.workers, 7);
    assert_eq!(settings.auth.issuer.as_deref(), Some("hookd"));
    assert_eq!(
        settings.sources["default"]
            .secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "from-file"
    );
}

#[test]
fn booleans_and_keys_with_underscores_come_from_the_environment() {
    let settings =
        Settings::load_with_env(None, env(&[("HOOKD__DATABASE__AUTO_MIGRATE", "false")])).unwrap();
    assert!(!settings.database.auto_migrate);
}

#[test]
fn a_wrongly_typed_value_names_its_key() {
    let err = error_of(Settings::load_with_env(
        None,
        env(&[("HOOKD__PROCESSING__WORKERS", "many")]),
    ));
    assert!(err.contains("workers"), "{err}");
}

#[test]
fn an_unknown_key_is_refused() {
    let toml = file("[server]\nbnid = \"127.0.0.1:9000\"\n");
    let err = error_of(Settings::load_with_env(Some(toml.path()), None));
    assert!(err.contains("bnid"), "{err}");
}

#[test]
fn the_lease_must_outlive_the_handler_timeout() {
    let err = error_of(Settings::load_with_env(
        None,
        env(&[("HOOKD__PROCESSING__LEASE_SECONDS", "30")]),
    ));
    assert!(err.starts_with("processing.lease_seconds:"), "{err}");
}

#[test]
fn production_refuses_development_secrets() {
    let err = error_of(Settings::load_with_env(
        None,
        env(&[("HOOKD__ENVIRONMENT", "production")]),
    ));
    assert!(err.contains("development secret"), "{err}");
}

#[test]
fn production_refuses_short_secrets() {
    let long = RANDOM_A;
    let err = error_of(Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__AUTH__JWT_SECRET", long),
            ("HOOKD__SOURCES__DEFAULT__SECRET", "short-random-9f8e"),
        ]),
    ));
    assert!(
        err.starts_with("sources.default.secret: must be at least 32 bytes"),
        "{err}"
    );
}

#[test]
fn production_starts_with_long_secrets() {
    let settings = Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__AUTH__JWT_SECRET", RANDOM_A),
            ("HOOKD__SOURCES__DEFAULT__SECRET", RANDOM_B),
        ]),
    )
    .unwrap();
    assert!(settings.development_secrets_in_use().is_empty());
}

#[test]
fn debug_output_never_shows_secrets() {
    let settings = Settings::defaults().unwrap();
    let shown = format!("{settings:?}");
    assert!(!shown.contains(DEV_WEBHOOK_SECRET), "{shown}");
}

#[test]
fn exactly_one_way_to_verify_tokens_is_configured() {
    let asymmetric_without_key =
        Settings::load_with_env(None, env(&[("HOOKD__AUTH__ALGORITHM", "EdDSA")]));
    assert!(error_of(asymmetric_without_key).contains("auth.public_key_file"));
    let both = Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__AUTH__ALGORITHM", "RS256"),
            ("HOOKD__AUTH__PUBLIC_KEY_FILE", "/tmp/key.pem"),
            (
                "HOOKD__AUTH__JWT_SECRET",
                "a-secret-that-is-long-enough-for-anything",
            ),
        ]),
    );
    assert!(error_of(both).contains("auth.jwt_secret"));
    let key_with_hs256 = Settings::load_with_env(
        None,
        env(&[("HOOKD__AUTH__PUBLIC_KEY_FILE", "/tmp/key.pem")]),
    );
    assert!(error_of(key_with_hs256).contains("auth.public_key_file"));
    let unknown = Settings::load_with_env(None, env(&[("HOOKD__AUTH__ALGORITHM", "HS384")]));
    assert!(unknown.is_err());
    // An asymmetric algorithm needs no development JWT secret.
    let eddsa = Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__AUTH__ALGORITHM", "EdDSA"),
            ("HOOKD__AUTH__PUBLIC_KEY_FILE", "/tmp/key.pem"),
        ]),
    )
    .unwrap();
    assert_eq!(
        eddsa.development_secrets_in_use(),
        ["sources.default.secret"]
    );
}

#[test]
fn hardening_settings_must_be_positive() {
    for key in [
        "HOOKD__SERVER__HEADER_READ_TIMEOUT_SECONDS",
        "HOOKD__SERVER__REQUEST_TIMEOUT_SECONDS",
        "HOOKD__SERVER__MAX_CONCURRENT_REQUESTS",
    ] {
        assert!(
            Settings::load_with_env(None, env(&[(key, "0")])).is_err(),
            "{key}"
        );
    }
}

#[test]
fn production_requires_a_jwt_secret() {
    let err = error_of(Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__SOURCES__DEFAULT__SECRET", RANDOM_B),
        ]),
    ));
    assert!(err.starts_with("auth.jwt_secret: is required"), "{err}");
}

/// The docker-compose.yml placeholders of old, and values with too little
/// variety, do not start a production instance.
#[test]
fn production_refuses_placeholder_and_low_variety_secrets() {
    for (key, value, expected) in [
        (
            "HOOKD__AUTH__JWT_SECRET",
            "change-me-to-a-random-secret-of-32-bytes-or-more",
            "auth.jwt_secret: looks like a placeholder",
        ),
        (
            "HOOKD__SOURCES__DEFAULT__SECRET",
            "change-me-to-the-webhook-secret-of-32-bytes-or-more",
            "sources.default.secret: looks like a placeholder",
        ),
        (
            "HOOKD__AUTH__JWT_SECRET",
            "abababababababababababababababababab",
            "auth.jwt_secret: has fewer than 10 distinct bytes",
        ),
    ] {
        let mut pairs = vec![
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__AUTH__JWT_SECRET", RANDOM_A),
            ("HOOKD__SOURCES__DEFAULT__SECRET", RANDOM_B),
        ];
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value));
        let err = error_of(Settings::load_with_env(None, env(&pairs)));
        assert!(err.starts_with(expected), "{value}: {err}");
    }
}

/// The 32-byte minimum applies to every source and scheme in production,
/// not only to the source `default`.
#[test]
fn production_applies_the_minimum_to_every_scheme() {
    for scheme in ["github", "shopify", "slack", "stripe", "hmac-hex"] {
        let config = file(&format!(
            "environment = \"production\"\n[auth]\njwt_secret = \"{RANDOM_A}\"\n\
             [sources.other]\nscheme = \"{scheme}\"\nsecret = \"x\"\n"
        ));
        let err = error_of(Settings::load_with_env(Some(config.path()), None));
        assert!(
            err.starts_with("sources.other.secret: must be at least 32 bytes"),
            "{scheme}: {err}"
        );
    }
    let config = file(&format!(
        "environment = \"production\"\n[auth]\njwt_secret = \"{RANDOM_A}\"\n\
         [sources.other]\nscheme = \"github\"\nsecret = \"{RANDOM_B}\"\n"
    ));
    assert!(Settings::load_with_env(Some(config.path()), None).is_ok());
}
