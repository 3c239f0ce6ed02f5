//! `[sources.NAME]`: the forms of `secrets`, and refusing to start on
//! anything that could not verify safely.

use std::io::Write as _;

use chrono::{DateTime, Utc};
use domain::signature::SchemeKind;

use super::*;
use crate::sources;

const LONG: &str = "a-receiver-chosen-secret-of-32-bytes";

fn load(toml: &str) -> anyhow::Result<Settings> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    Settings::load_with_env(Some(file.path()), Some(config::Map::new()))
}

fn error_of(toml: &str) -> String {
    format!("{:#}", load(toml).unwrap_err())
}

#[test]
fn secrets_may_be_strings_or_tables_and_secret_is_a_one_element_list() {
    let settings = load(&format!(
        r#"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_old", {{ value = "whsec_new", label = "2026-12", not_after = "2027-01-31T00:00:00Z" }}]
tolerance_seconds = 60
[sources.internal]
secret = "{LONG}"
"#
    ))
    .unwrap();
    let built = sources::from_settings(&settings).unwrap();
    let stripe = built.iter().find(|s| s.name.as_str() == "stripe").unwrap();
    assert_eq!(stripe.scheme.kind(), SchemeKind::Stripe);
    let labels: Vec<_> = stripe.secrets.iter().map(|s| s.label()).collect();
    assert_eq!(labels, ["0", "2026-12"]);
    assert_eq!(stripe.secrets[0].not_after(), None);
    assert_eq!(
        stripe.secrets[1].not_after(),
        Some("2027-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap())
    );
    assert_eq!(
        stripe.scheme,
        domain::SignatureScheme::Stripe {
            tolerance: std::time::Duration::from_secs(60)
        }
    );
    let internal = built
        .iter()
        .find(|s| s.name.as_str() == "internal")
        .unwrap();
    assert_eq!(internal.scheme.kind(), SchemeKind::HmacHex);
    assert_eq!(internal.secrets.len(), 1);
    assert_eq!(internal.secrets[0].expose(), LONG.as_bytes());
}

#[test]
fn a_signature_prefix_no_request_could_carry_is_refused() {
    // Found by fuzzing: signed as ` sha256=<hex>`, read trimmed, never verified.
    let error = error_of(&format!(
        "[sources.internal]\nsecret = \"{LONG}\"\nsignature_prefix = \" sha256=\"\n"
    ));
    assert!(
        error.contains("sources.internal.signature_prefix"),
        "{error}"
    );
}

#[test]
fn hmac_hex_reads_its_header_prefix_and_pointers() {
    let settings = load(&format!(
        r#"
[sources.internal]
scheme = "hmac-hex"
secrets = ["{LONG}"]
signature_header = "X-Hub-Sig"
signature_prefix = "sha256="
event_id_header = "X-Request-Id"
event_type_pointer = "/meta/type"
"#
    ))
    .unwrap();
    let source = sources::from_settings(&settings).unwrap().remove(0);
    assert_eq!(
        source.scheme,
        domain::SignatureScheme::HmacHex {
            header: "X-Hub-Sig".into(),
            prefix: "sha256=".into()
        }
    );
    assert_eq!(
        source.envelope.event_id,
        domain::signature::EventIdSource::Header("X-Request-Id".into())
    );
    assert_eq!(
        source.envelope.event_type,
        domain::EventTypeSource::JsonPointer("/meta/type".into())
    );
}

#[test]
fn a_source_without_a_valid_secret_refuses_to_start() {
    let err = error_of("[sources.stripe]\nscheme = \"stripe\"\n");
    assert!(
        err.starts_with("sources.stripe.secrets: is required"),
        "{err}"
    );
    let err = error_of("[sources.stripe]\nscheme = \"stripe\"\nsecrets = []\n");
    assert!(
        err.starts_with("sources.stripe.secrets: is required"),
        "{err}"
    );
    let err = error_of(
        "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [{ value = \"whsec_x\", not_after = \"2020-01-01T00:00:00Z\" }]\n",
    );
    assert!(err.contains("every secret is past its not_after"), "{err}");
    let err = error_of("[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"\"]\n");
    assert!(
        err.starts_with("sources.stripe.secrets[0]: the secret is empty"),
        "{err}"
    );
}

#[test]
fn a_bad_scheme_name_refuses_to_start() {
    let err = error_of(&format!(
        "[sources.x]\nscheme = \"Stripe\"\nsecret = \"{LONG}\"\n"
    ));
    assert!(
        err.starts_with("sources.x.scheme: unknown signature scheme"),
        "{err}"
    );
}

#[test]
fn a_too_short_secret_refuses_to_start_except_the_development_default() {
    let err = error_of("[sources.internal]\nsecrets = [\"short\"]\n");
    assert!(
        err.starts_with("sources.internal.secrets[0]: shorter than 24 bytes"),
        "{err}"
    );
    let err = error_of(
        "[sources.sw]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La\"]\n",
    );
    assert!(
        err.starts_with("sources.sw.secrets[0]: shorter than 24 bytes"),
        "{err}"
    );
    // The seed's development default still starts.
    assert!(load("[sources.default]\nsecret = \"supersecret\"\n").is_ok());
    // Provider-chosen secrets have no minimum here.
    assert!(load("[sources.gh]\nscheme = \"github\"\nsecrets = [\"short\"]\n").is_ok());
}

#[test]
fn settings_that_do_not_fit_the_scheme_are_refused() {
    let cases = [
        (
            "scheme = \"github\"\nsecrets = [\"s\"]\ntolerance_seconds = 10",
            "sources.x.tolerance_seconds: the github scheme signs no timestamp",
        ),
        (
            "scheme = \"stripe\"\nsecrets = [\"s\"]\nevent_id_pointer = \"/x\"",
            "sources.x.event_id_pointer: only for scheme = \"hmac-hex\"",
        ),
        (
            "secrets = [\"a-receiver-chosen-secret-of-32-bytes\"]\nevent_id_pointer = \"id\"",
            "sources.x.event_id_pointer: a JSON pointer starts with '/'",
        ),
        (
            "scheme = \"stripe\"\nsecrets = [\"a\", { value = \"b\", label = \"0\" }]",
            "sources.x.secrets[1].label: \"0\" is used twice",
        ),
        (
            "scheme = \"stripe\"\nsecret = \"a\"\nsecrets = [\"b\"]",
            "sources.x: give `secret` or `secrets`, not both",
        ),
        (
            "scheme = \"standard-webhooks\"\nsecrets = [\"not base64!\"]",
            "sources.x.secrets[0]: the secret is not base64",
        ),
    ];
    for (body, expected) in cases {
        let err = error_of(&format!("[sources.x]\n{body}\n"));
        assert!(err.starts_with(expected), "{body}: {err}");
    }
}

#[test]
fn an_unknown_key_in_a_secret_table_is_refused() {
    let err = error_of(
        "[sources.x]\nscheme = \"stripe\"\nsecrets = [{ value = \"a\", lable = \"b\" }]\n",
    );
    assert!(err.contains("sources"), "{err}");
}

#[test]
fn development_secrets_are_found_in_secrets_lists_too() {
    let settings = load("[sources.default]\nsecrets = [\"supersecret\"]\n").unwrap();
    assert_eq!(
        settings.development_secrets_in_use(),
        ["sources.default.secrets[0]"]
    );
}

#[test]
fn the_quarantine_defaults_to_100_a_minute_for_7_days() {
    let settings = Settings::defaults().unwrap();
    assert_eq!(settings.quarantine.per_source_per_minute, 100);
    assert_eq!(settings.quarantine.retention_days, 7);
}
