//! This machine's enrolled installation: its ed25519 key
//! (`$GATE_HOME/installation.key`, PKCS#8 PEM, 0600) and the name the broker
//! enrolled it under (`installation.toml` beside it). Requests, claims and
//! cancels are signed with the key (`super::signature`).
//!
//! The key is refused, like the audit key, when others can read or write it.
//! Never prints private key material; `Debug` shows only the name.

use crate::keys::{self, KeyError};
use crate::paths::Home;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// An enrolled installation: its name at the broker and its signing key.
#[derive(Clone)]
pub struct Installation {
    pub name: String,
    pub key: SigningKey,
}

impl std::fmt::Debug for Installation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installation")
            .field("name", &self.name)
            .field("key", &"****")
            .finish()
    }
}

/// `installation.toml`: what enrolling recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallationRecord {
    /// The name the broker enrolled this installation under.
    pub name: String,
    /// The broker it enrolled with.
    pub server: String,
    /// RFC 3339 UTC.
    pub enrolled_at: String,
}

/// Why the installation could not be used.
#[derive(Debug)]
pub enum InstallationError {
    Key(KeyError),
    /// `installation.toml` could not be read or is damaged.
    Record {
        path: PathBuf,
        detail: String,
    },
}

impl std::fmt::Display for InstallationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallationError::Key(KeyError::Readable { path, mode }) => write!(
                f,
                "installation key {} is readable by others (mode {mode:o}), so anyone who \
                 reads it can sign requests as this installation; run `chmod 600 {}`, or \
                 enroll again with a new code",
                path.display(),
                path.display()
            ),
            InstallationError::Key(err) => write!(f, "installation key: {err}"),
            InstallationError::Record { path, detail } => write!(
                f,
                "{}: {detail}; enroll again with `gate enroll --server URL CODE`",
                path.display()
            ),
        }
    }
}

pub fn key_path(home: &Home) -> PathBuf {
    home.data.join("installation.key")
}

pub fn record_path(home: &Home) -> PathBuf {
    home.data.join("installation.toml")
}

/// The enrolled installation under `home`; `None` when this machine never
/// enrolled (no `installation.toml`).
pub fn load(home: &Home) -> Result<Option<Installation>, InstallationError> {
    Ok(load_with_record(home)?.map(|(installation, _)| installation))
}

/// [`load`], with the record it was read from (which broker it enrolled with).
pub fn load_with_record(
    home: &Home,
) -> Result<Option<(Installation, InstallationRecord)>, InstallationError> {
    let path = record_path(home);
    let record = match read_record(&path)? {
        Some(record) => record,
        None => return Ok(None),
    };
    let key = keys::load_signing_key(&key_path(home)).map_err(InstallationError::Key)?;
    let installation = Installation {
        name: record.name.clone(),
        key,
    };
    Ok(Some((installation, record)))
}

/// The record under `home`, if there is one.
pub fn read_record(path: &Path) -> Result<Option<InstallationRecord>, InstallationError> {
    let bad = |detail: String| InstallationError::Record {
        path: path.to_path_buf(),
        detail,
    };
    let text = match crate::files::read_trusted(path) {
        Ok(text) => text,
        Err(crate::files::FileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None);
        }
        Err(err) => return Err(bad(err.to_string())),
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

/// Write `installation.toml` (0600), replacing an earlier one.
pub fn write_record(home: &Home, record: &InstallationRecord) -> Result<(), InstallationError> {
    let path = record_path(home);
    let bad = |detail: String| InstallationError::Record {
        path: path.clone(),
        detail,
    };
    let text = toml::to_string(record).map_err(|e| bad(e.to_string()))?;
    let tmp = path.with_extension("toml.tmp");
    let _ = std::fs::remove_file(&tmp);
    crate::files::write_new(&tmp, text.as_bytes()).map_err(|e| bad(e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn home(dir: &Path) -> Home {
        Home {
            data: dir.to_path_buf(),
            config: dir.to_path_buf(),
            cache: dir.join("cache"),
        }
    }

    #[test]
    fn no_record_is_no_installation_and_a_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = home(dir.path());
        assert!(load(&home).unwrap().is_none());
        keys::load_or_create(&key_path(&home)).unwrap();
        let record = InstallationRecord {
            name: "laptop-7".into(),
            server: "http://b".into(),
            enrolled_at: "2026-01-01T00:00:00Z".into(),
        };
        write_record(&home, &record).unwrap();
        let loaded = load(&home).unwrap().unwrap();
        assert_eq!(loaded.name, "laptop-7");
        assert!(!format!("{loaded:?}").contains("PRIVATE"));

        std::fs::set_permissions(key_path(&home), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&home).unwrap_err().to_string();
        assert!(
            err.contains("readable by others") && err.contains("chmod 600"),
            "{err}"
        );
    }
}
