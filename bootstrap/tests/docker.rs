//! No Docker engine runs where hookd is developed, so this reads
//! `docker-compose.yml` and the `Dockerfile` and checks their wiring: every
//! `HOOKD__…` variable is a real configuration key and the whole environment
//! passes validation in production mode; ports, health checks, the database
//! dependency and the named volume line up.
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
    let compose = compose();
    let environment = compose["services"]["hookd"]["environment"]
        .as_mapping()
        .unwrap();
    assert_eq!(environment["HOOKD__ENVIRONMENT"], "production");
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::io::Write::write_all(&mut file, as_toml(environment).as_bytes()).unwrap();
    let settings = bootstrap::Settings::load(Some(file.path()))
        .unwrap_or_else(|err| panic!("{err:#}\n{}", as_toml(environment)));
    assert_eq!(settings.server.bind.port(), 8000);
    let url = environment["HOOKD__DATABASE__URL"].as_str().unwrap();
    assert!(url.contains("@postgres:5432/"), "{url}");
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
    assert_eq!(strings(&hookd["ports"]), ["8000:8000"]);
    assert!(
        strings(&hookd["healthcheck"]["test"])
            .join(" ")
            .contains("http://127.0.0.1:8000/healthz")
    );

    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains("EXPOSE 8000"));
    assert!(dockerfile.contains("/healthz"));
    assert!(dockerfile.contains("\nUSER hookd"), "non-root runtime user");
    assert!(dockerfile.matches("\nFROM ").count() >= 2, "multi-stage");
    assert!(
        repo_file(".dockerignore")
            .lines()
            .any(|line| line == "target")
    );
}
