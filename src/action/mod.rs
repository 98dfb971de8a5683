//! The action a decision is bound to: the exact argv, the working directory and the
//! resolved executable, hashed into an [`ActionDigest`]. An approval for one action
//! can never be used to run another.
//!
//! The digest is keyed with a random [`DigestKey`] per request, which never leaves
//! the requester's machine except inside its ticket: the digest travels to the
//! broker and into every audit record, and an unkeyed hash of a command whose
//! secret was redacted (`mysql -p****`) would let anyone holding an export try
//! candidate secrets until one matched.

mod identify;

pub use identify::copy_of;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Hex HMAC-SHA256, keyed with a [`DigestKey`], over the length-prefixed argv,
/// cwd and resolved executable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionDigest(pub String);

/// The random key of one request's digest. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestKey([u8; 32]);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(****)")
    }
}

impl DigestKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<DigestKey, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(DigestKey(key))
    }

    /// A key from its 64 hex digits (as a ticket stores it).
    pub fn from_hex(text: &str) -> Option<DigestKey> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).ok()?;
        Some(DigestKey(key))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl ActionDigest {
    /// HMAC-SHA256 with `key` over `"gate-action-v2\0"`, then each field as an
    /// 8-byte big-endian length and its bytes: the argument count, each argument,
    /// the cwd, the executable.
    pub fn compute(
        key: &DigestKey,
        argv: &[String],
        cwd: &Path,
        executable: &Path,
    ) -> ActionDigest {
        let mut hasher =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).expect("HMAC takes a 32-byte key");
        hasher.update(b"gate-action-v2\0");
        let mut field = |bytes: &[u8]| {
            hasher.update(&(bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(&(argv.len() as u64).to_be_bytes());
        for arg in argv {
            field(arg.as_bytes());
        }
        field(cwd.as_os_str().as_bytes());
        field(executable.as_os_str().as_bytes());
        ActionDigest(hex::encode(hasher.finalize().into_bytes()))
    }
}

impl ActionDigest {
    /// The digest of an MCP tool call: HMAC-SHA256 with `key` over
    /// `"gate-mcp-tool-v1\0"`, then the server name, the tool name and the
    /// canonical JSON arguments (keys sorted, no whitespace), each as an 8-byte
    /// big-endian length and its bytes. The prefix keeps a tool call's digest
    /// from ever equalling a command's.
    pub fn tool(key: &DigestKey, server: &str, tool: &str, arguments: &str) -> ActionDigest {
        let mut hasher =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).expect("HMAC takes a 32-byte key");
        hasher.update(b"gate-mcp-tool-v1\0");
        for field in [server, tool, arguments] {
            hasher.update(&(field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        ActionDigest(hex::encode(hasher.finalize().into_bytes()))
    }
}

impl std::fmt::Display for ActionDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a program could not be resolved to an executable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    NotFound,
    NotExecutable(PathBuf),
}

/// Find the file `program` names, as `execvp` would: a name with `/` is used as is,
/// otherwise each `PATH` entry is tried in order. The result is canonical, so a
/// digest names the real file behind any symlink.
pub fn resolve_executable(
    program: &str,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, ResolveError> {
    if program.is_empty() {
        return Err(ResolveError::NotFound);
    }
    if program.contains('/') {
        return check_executable(Path::new(program));
    }
    let path_var = path_var.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    let mut not_executable = None;
    for dir in std::env::split_paths(path_var) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        match check_executable(&dir.join(program)) {
            Ok(found) => return Ok(found),
            Err(ResolveError::NotExecutable(path)) => {
                not_executable = not_executable.or(Some(path))
            }
            Err(ResolveError::NotFound) => {}
        }
    }
    Err(not_executable.map_or(ResolveError::NotFound, ResolveError::NotExecutable))
}

fn check_executable(candidate: &Path) -> Result<PathBuf, ResolveError> {
    let metadata = std::fs::metadata(candidate).map_err(|_| ResolveError::NotFound)?;
    if metadata.is_dir() || metadata.permissions().mode() & 0o111 == 0 {
        return Err(ResolveError::NotExecutable(candidate.to_path_buf()));
    }
    Ok(std::fs::canonicalize(candidate).unwrap_or_else(|_| candidate.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: DigestKey = DigestKey([7; 32]);

    #[test]
    fn digest_changes_with_every_part() {
        let argv = vec!["kubectl".to_string(), "delete".to_string()];
        let base = ActionDigest::compute(&KEY, &argv, Path::new("/a"), Path::new("/bin/kubectl"));
        let other_argv = vec!["kubectl".to_string(), "delete ".to_string()];
        assert_ne!(
            base,
            ActionDigest::compute(
                &KEY,
                &other_argv,
                Path::new("/a"),
                Path::new("/bin/kubectl")
            )
        );
        assert_ne!(
            base,
            ActionDigest::compute(&KEY, &argv, Path::new("/b"), Path::new("/bin/kubectl"))
        );
        assert_ne!(
            base,
            ActionDigest::compute(&KEY, &argv, Path::new("/a"), Path::new("/tmp/kubectl"))
        );
        // Length prefixes keep argument boundaries: ["ab","c"] differs from ["a","bc"].
        let split1 = vec!["ab".to_string(), "c".to_string()];
        let split2 = vec!["a".to_string(), "bc".to_string()];
        assert_ne!(
            ActionDigest::compute(&KEY, &split1, Path::new("/"), Path::new("/x")),
            ActionDigest::compute(&KEY, &split2, Path::new("/"), Path::new("/x"))
        );
        assert_eq!(base.0.len(), 64);
        // Another key, another digest: without the key, a digest reveals nothing.
        assert_ne!(
            base,
            ActionDigest::compute(
                &DigestKey([8; 32]),
                &argv,
                Path::new("/a"),
                Path::new("/bin/kubectl")
            )
        );
    }

    #[test]
    fn a_key_round_trips_through_hex_and_never_prints() {
        let key = DigestKey::random().unwrap();
        assert_eq!(DigestKey::from_hex(&key.to_hex()), Some(key.clone()));
        assert_eq!(format!("{key:?}"), "DigestKey(****)");
        assert_eq!(DigestKey::from_hex("abc"), None);
        assert_ne!(DigestKey::random().unwrap(), key);
    }

    #[test]
    fn resolves_through_path_and_reports_missing_or_not_executable() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path_var = dir.path().as_os_str();
        assert_eq!(
            resolve_executable("tool", Some(path_var)),
            Err(ResolveError::NotExecutable(tool.clone()))
        );
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = resolve_executable("tool", Some(path_var)).unwrap();
        assert_eq!(found, std::fs::canonicalize(&tool).unwrap());
        assert_eq!(
            resolve_executable("missing-tool", Some(path_var)),
            Err(ResolveError::NotFound)
        );
        assert_eq!(
            resolve_executable("", Some(path_var)),
            Err(ResolveError::NotFound)
        );
    }
}
