//! The audit signing key file: create it once (PKCS#8 PEM, mode 0600, never
//! overwriting), load it, and read/write the public half as SPKI PEM for verifiers.
//!
//! Never overwrites an existing key, never accepts a key file that others could
//! change or read, and never prints private key material.

use super::{AuditError, files};
use crate::paths::ensure_private_write;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Load the signing key at `path`, generating it first when no file exists.
pub fn load_or_create(path: &Path) -> Result<SigningKey, AuditError> {
    match fs::metadata(path) {
        Ok(_) => load_signing_key(path),
        Err(err) if err.kind() == ErrorKind::NotFound => create(path),
        Err(err) => Err(AuditError::io(path, err)),
    }
}

/// Load an existing signing key, refusing one that others could change or read.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, AuditError> {
    let pem = read_key_file(path)?;
    let mode = fs::metadata(path)
        .map_err(|err| AuditError::io(path, err))?
        .mode();
    if mode & 0o044 != 0 {
        return Err(AuditError::KeyReadable {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    SigningKey::from_pkcs8_pem(&pem).map_err(|err| AuditError::KeyInvalid {
        path: path.to_path_buf(),
        detail: format!("expected a PKCS#8 \"PRIVATE KEY\" PEM: {err}"),
    })
}

/// The public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----"), for `--key PUB.pem`.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    // Encoding a 32-byte key into a fixed-size DER structure cannot fail.
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// Load a verifying key from an SPKI public key PEM, or from the private key PEM
/// itself (so `gate audit verify --key` accepts either file).
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let pem = read_key_file(path)?;
    if let Ok(key) = VerifyingKey::from_public_key_pem(&pem) {
        return Ok(key);
    }
    match SigningKey::from_pkcs8_pem(&pem) {
        Ok(signing) => Ok(signing.verifying_key()),
        Err(err) => Err(AuditError::KeyInvalid {
            path: path.to_path_buf(),
            detail: format!("expected a \"PUBLIC KEY\" PEM: {err}"),
        }),
    }
}

/// Read a key file after checking that only its owner can write it.
fn read_key_file(path: &Path) -> Result<String, AuditError> {
    let meta = fs::metadata(path).map_err(|err| match err.kind() {
        ErrorKind::NotFound => AuditError::KeyMissing {
            path: path.to_path_buf(),
        },
        _ => AuditError::io(path, err),
    })?;
    ensure_private_write(path, &meta)?;
    fs::read_to_string(path).map_err(|err| match err.kind() {
        ErrorKind::InvalidData => AuditError::KeyInvalid {
            path: path.to_path_buf(),
            detail: "not text".into(),
        },
        _ => AuditError::io(path, err),
    })
}

/// Generate a key and publish it atomically without ever replacing an existing file:
/// write a private temporary file, then hard-link it into place (link fails if the
/// name exists). A racing `gate` that wins keeps its key; we load that one.
fn create(path: &Path) -> Result<SigningKey, AuditError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    files::create_private_dir(dir)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| AuditError::Random(err.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| AuditError::KeyInvalid {
            path: path.to_path_buf(),
            detail: err.to_string(),
        })?;
    let tmp = temp_name(path)?;
    if let Err(err) = files::write_new(&tmp, pem.as_bytes()) {
        let _ = fs::remove_file(&tmp);
        return Err(AuditError::io(&tmp, err));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            files::sync_dir(dir);
            Ok(key)
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => load_signing_key(path),
        Err(err) => Err(AuditError::io(path, err)),
    }
}

/// A sibling name no other process or thread will pick.
fn temp_name(path: &Path) -> Result<PathBuf, AuditError> {
    let mut salt = [0u8; 8];
    getrandom::fill(&mut salt).map_err(|err| AuditError::Random(err.to_string()))?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp.{}", super::record::hex(&salt)));
    Ok(PathBuf::from(name))
}
