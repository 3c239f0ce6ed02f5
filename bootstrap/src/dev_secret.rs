//! The development JWT secret: generated on first start when none is
//! configured, kept beside the SQLite database with mode 0600, so that
//! `hookd token` run with the same configuration finds it and nobody else
//! can read it. Production never gets here: it requires `auth.jwt_secret`.

use std::{
    io::{ErrorKind, Write as _},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};

use crate::settings::{Environment, JwtAlgorithm, Settings};

/// Random bytes in a generated secret (hex-encoded: 64 characters).
pub const SECRET_BYTES: usize = 32;

/// A strong random value, hex-encoded (what `hookd secret` prints).
pub fn random_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    hex::encode(bytes)
}

/// Fills `auth.jwt_secret` from the development secret file (creating it
/// when missing) if HS256 is used without a configured secret in development.
/// Returns the file used, if any.
///
/// # Errors
/// When the file cannot be read or written, or is readable by others.
pub fn ensure_jwt_secret(settings: &mut Settings) -> anyhow::Result<Option<PathBuf>> {
    if settings.environment != Environment::Development
        || settings.auth.algorithm != JwtAlgorithm::Hs256
        || settings.auth.jwt_secret.is_some()
    {
        return Ok(None);
    }
    let path = secret_path(settings.database.url.expose_secret());
    let secret = read_or_create(&path)?;
    settings.auth.jwt_secret = Some(SecretString::from(secret));
    Ok(Some(path))
}

/// `<database file>.jwt-secret` for a SQLite file, else `data/hookd.jwt-secret`.
pub fn secret_path(database_url: &str) -> PathBuf {
    match crate::startup::sqlite_file(database_url) {
        Some(file) => {
            let mut name = file.as_os_str().to_owned();
            name.push(".jwt-secret");
            PathBuf::from(name)
        }
        None => PathBuf::from("data/hookd.jwt-secret"),
    }
}

fn read_or_create(path: &Path) -> anyhow::Result<String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::startup::create_private_dir(parent)?;
    }
    let fresh = random_secret();
    match private_file(path) {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = ?path, "generated a development JWT secret");
            Ok(fresh)
        }
        // Another process created it first, or an earlier start did.
        Err(err) if err.kind() == ErrorKind::AlreadyExists => read_existing(path),
        Err(err) => Err(err).with_context(|| format!("creating {}", path.display())),
    }
}

fn read_existing(path: &Path) -> anyhow::Result<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode();
        anyhow::ensure!(
            mode & 0o077 == 0,
            "{} is readable by other users (mode {:o}): delete it to get a new secret",
            path.display(),
            mode & 0o777
        );
    }
    let secret = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned();
    anyhow::ensure!(
        secret.len() >= SECRET_BYTES,
        "{} is too short to be a generated secret: delete it to get a new one",
        path.display()
    );
    Ok(secret)
}

/// Creates `path` (which must not exist) readable and writable by its owner only.
pub(crate) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_sits_beside_the_sqlite_file() {
        assert_eq!(
            secret_path("sqlite://data/hookd.db?mode=rwc"),
            PathBuf::from("data/hookd.db.jwt-secret")
        );
        assert_eq!(
            secret_path("postgres://u@h/db"),
            PathBuf::from("data/hookd.jwt-secret")
        );
    }

    #[test]
    fn random_secrets_are_long_and_differ() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 2 * SECRET_BYTES);
        assert_ne!(a, b);
    }

    #[cfg(unix)]
    #[test]
    fn created_once_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hookd.db.jwt-secret");
        let first = read_or_create(&path).unwrap();
        assert_eq!(read_or_create(&path).unwrap(), first);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_or_create(&path).is_err());
    }
}
