//! Reads `docker-compose.yml`, `.env.example` and the `Dockerfile` and checks
//! their wiring without an engine: every `HOOKD__…` variable is a real
//! configuration key and, with the `${VAR}` references resolved from an
//! `.env` of random secrets, the whole environment passes validation in
//! production mode; every secret comes from the environment; ports (loopback
//! only), health checks, the database dependency and the named volume line up.
//! `scripts/compose-smoke.sh` runs the real thing under Docker.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde_yaml::Value;

fn repo_file(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(name)).unwrap()
}

fn compose() -> Value {
    serde_yaml::from_str(&repo_file("docker-compose.yml")).unwrap()
}

/// A test `.env`: random-looking values of 64 hex digits, as the README's
/// `openssl rand -hex 32` makes them.
fn test_env() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "POSTGRES_PASSWORD",
            "5be1c0a7d93f2e8146b0c5d7a9e3f12c84d6b0a1e7c3952f6d08b4e1a7c39d25",
        ),
        (
            "HOOKD_JWT_SECRET",
            "a04f9e7c2b815d36e9f0c4b7a12d8e53f6b9c07d41e2a8539c6f0b7e2d14a8c3",
        ),
        (
            "HOOKD_WEBHOOK_SECRET",
            "e7d2a91c4f6b08e35a7c1d9f2b4e60a8c3f5d17b9e2a46c08d1f3b5a7e9c24f6",
        ),
    ])
}

/// Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, from `env`.
/// A `:?` reference to an unset name is an error, as in compose.
fn interpolate(text: &str, env: &BTreeMap<&str, &str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("unclosed ${")? + start;
        let reference = &rest[start + 2..end];
        let (name, fallback) = match reference.find(':') {
            Some(colon) => (&reference[..colon], Some(&reference[colon..])),
            None => (reference, None),
        };
        match (env.get(name), fallback) {
            (Some(value), _) if !value.is_empty() => out.push_str(value),
            (_, Some(default)) if default.starts_with(":-") => out.push_str(&default[2..]),
            (_, Some(error)) if error.starts_with(":?") => {
                return Err(format!("{name}: {}", &error[2..]));
            }
            _ => {}
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The hookd service's environment, resolved from `env`.
fn hookd_environment(env: &BTreeMap<&str, &str>) -> Result<serde_yaml::Mapping, String> {
    let compose = compose();
    let mut resolved = serde_yaml::Mapping::new();
    for (key, value) in compose["services"]["hookd"]["environment"]
        .as_mapping()
        .unwrap()
    {
        let value = match value {
            Value::String(text) => Value::String(interpolate(text, env)?),
            other => other.clone(),
        };
        resolved.insert(key.clone(), value);
    }
    Ok(resolved)
}

fn load_settings(environment: &serde_yaml::Mapping) -> anyhow::Result<bootstrap::Settings> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::io::Write::write_all(&mut file, as_toml(environment).as_bytes()).unwrap();
    bootstrap::Settings::load(Some(file.path()))
}

/// `.env.example` as name → value.
fn env_example() -> BTreeMap<String, String> {
    repo_file(".env.example")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains('='))
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

/// `HOOKD__SECTION__KEY: value` as a TOML file the settings loader reads.
fn as_toml(environment: &serde_yaml::Mapping) -> String {
    let mut toml = String::new();
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (key, value) in environment {
        let key = key.as_str().unwrap();
        let path = key.strip_prefix("HOOKD__").expect("only HOOKD__ variables");
        let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        let value = match value {
            Value::String(text) => text.clone(),
            other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
        };
        match parts.as_slice() {
            [top] => writeln!(toml, "{top} = {value:?}").unwrap(),
            [section, rest @ ..] => {
                sections
                    .entry(section.clone())
                    .or_default()
                    .push((rest.join("."), value));
            }
            [] => unreachable!(),
        }
    }
    for (section, entries) in sections {
        writeln!(toml, "[{section}]").unwrap();
        for (key, value) in entries {
            // Values stay strings, as environment variables are; the loader parses them.
            writeln!(toml, "{key} = {value:?}").unwrap();
        }
    }
    toml
}

#[test]
fn the_hookd_service_environment_is_valid_production_configuration() {
    let environment = hookd_environment(&test_env()).unwrap();
    assert_eq!(environment["HOOKD__ENVIRONMENT"], "production");
    let settings = load_settings(&environment)
        .unwrap_or_else(|err| panic!("{err:#}\n{}", as_toml(&environment)));
    assert_eq!(settings.server.bind.port(), 8000);
    let url = environment["HOOKD__DATABASE__URL"].as_str().unwrap();
    let password = test_env()["POSTGRES_PASSWORD"];
    assert_eq!(
        url,
        format!("postgres://hookd:{password}@postgres:5432/hookd")
    );
}

#[test]
fn every_secret_comes_from_the_environment_and_compose_refuses_to_start_without_it() {
    let compose = compose();
    let services = &compose["services"];
    for (service, key) in [
        ("postgres", "POSTGRES_PASSWORD"),
        ("hookd", "HOOKD__AUTH__JWT_SECRET"),
        ("hookd", "HOOKD__SOURCES__DEFAULT__SECRET"),
        ("hookd", "HOOKD__DATABASE__URL"),
    ] {
        let raw = services[service]["environment"][key].as_str().unwrap();
        assert!(raw.contains(":?set it in .env}"), "{service} {key}: {raw}");
    }
    for name in test_env().keys() {
        let mut without = test_env();
        without.remove(name);
        let postgres = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
            .as_str()
            .unwrap();
        let refused =
            interpolate(postgres, &without).is_err() || hookd_environment(&without).is_err();
        assert!(refused, "compose would start without {name}");
    }
}

#[test]
fn env_example_names_every_variable_and_its_placeholders_are_refused() {
    let example = env_example();
    let mut names: Vec<&str> = test_env().keys().copied().collect();
    names.sort_unstable();
    let mut listed: Vec<&str> = example.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(listed, names);
    // Copying .env.example as it is must not give a running production hookd.
    let placeholders: BTreeMap<&str, &str> = example
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let environment = hookd_environment(&placeholders).unwrap();
    assert!(load_settings(&environment).is_err());
}

#[test]
fn ports_health_checks_and_the_database_dependency_line_up() {
    let compose = compose();
    let services = &compose["services"];
    let postgres = &services["postgres"];
    assert!(
        postgres["image"]
            .as_str()
            .unwrap()
            .starts_with("postgres:16")
    );
    assert!(
        strings(&postgres["healthcheck"]["test"])
            .join(" ")
            .contains("pg_isready")
    );
    let volume = strings(&postgres["volumes"])[0].clone();
    let (name, mount) = volume.split_once(':').unwrap();
    assert_eq!(mount, "/var/lib/postgresql/data");
    assert!(
        compose["volumes"].get(name).is_some(),
        "named volume {name}"
    );

    let hookd = &services["hookd"];
    assert_eq!(
        hookd["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    // Published on loopback only; HOOKD_PORT (default 8000) picks the host port.
    let ports: Vec<String> = strings(&hookd["ports"])
        .iter()
        .map(|port| interpolate(port, &test_env()).unwrap())
        .collect();
    assert_eq!(ports, ["127.0.0.1:8000:8000"]);
    let mut elsewhere = test_env();
    elsewhere.insert("HOOKD_PORT", "18000");
    assert_eq!(
        interpolate(&strings(&hookd["ports"])[0], &elsewhere).unwrap(),
        "127.0.0.1:18000:8000"
    );
    assert!(
        postgres.get("ports").is_none(),
        "PostgreSQL is not published"
    );
    assert_eq!(
        strings(&hookd["healthcheck"]["test"]),
        ["CMD", "hookd", "healthcheck"]
    );

    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains("EXPOSE 8000"));
    assert!(dockerfile.contains(r#"CMD ["hookd", "healthcheck"]"#));
    assert!(
        !dockerfile
            .lines()
            .any(|line| !line.trim_start().starts_with('#') && line.contains("curl")),
        "the runtime image needs no curl"
    );
    assert!(
        !dockerfile
            .lines()
            .any(|line| line.replace(' ', "").starts_with("#syntax=")),
        "BuildKit would fetch a frontend image for a syntax directive"
    );
    assert!(dockerfile.contains("\nUSER hookd"), "non-root runtime user");
    assert!(dockerfile.matches("\nFROM ").count() >= 2, "multi-stage");
    assert!(
        repo_file(".dockerignore")
            .lines()
            .any(|line| line == "target")
    );
    assert!(
        repo_file(".dockerignore")
            .lines()
            .any(|line| line == ".env"),
        "secrets stay out of the build context"
    );
}
