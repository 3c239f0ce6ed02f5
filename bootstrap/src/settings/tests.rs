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

fn error_of(result: anyhow::Result<Settings>) -> String {
    format!("{:#}", result.unwrap_err())
}

#[test]
fn defaults_run_on_sqlite_with_development_secrets() {
    let settings = Settings::defaults().unwrap();
    assert_eq!(settings.environment, Environment::Development);
    assert_eq!(settings.server.bind.port(), 8000);
    assert_eq!(
        settings.database.url.expose_secret(),
        "sqlite://data/hookd.db?mode=rwc"
    );
    assert_eq!(settings.processing.workers, 4);
    assert_eq!(
        settings.development_secrets_in_use(),
        ["auth.jwt_secret", "sources.default.secret"]
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
    let long = "x".repeat(32);
    let err = error_of(Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__AUTH__JWT_SECRET", &long),
            ("HOOKD__SOURCES__DEFAULT__SECRET", "short-secret"),
        ]),
    ));
    assert!(
        err.starts_with("sources.default.secret: must be at least 32 bytes"),
        "{err}"
    );
}

#[test]
fn production_starts_with_long_secrets() {
    let long = "x".repeat(32);
    let settings = Settings::load_with_env(
        None,
        env(&[
            ("HOOKD__ENVIRONMENT", "production"),
            ("HOOKD__AUTH__JWT_SECRET", &long),
            ("HOOKD__SOURCES__DEFAULT__SECRET", &long),
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
    assert!(!shown.contains(DEV_JWT_SECRET), "{shown}");
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
