//! ed25519 key files: the audit log's signing key and the broker's. Create one
//! once (PKCS#8 PEM, mode 0600, never overwriting), load it, and read/write the
//! public half as SPKI PEM for verifiers.
//!
//! Keys are written as RFC 8410 PKCS#8 v1 (the private key only), the form OpenSSL
//! and Python `cryptography` load; v2 files (public key embedded), which earlier
//! versions of gate wrote, are still read.
//!
//! Never overwrites an existing key, never accepts a key file that others could
//! change or read, and never prints private key material.

use crate::files::{self, FileError};
use crate::paths::{InsecureFile, ensure_private_write};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why a key file could not be used. Each `Display` is one line that names the
/// file and says the fix.
#[derive(Debug)]
pub enum KeyError {
    /// Creating, reading or writing the file or its directory failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The key file or its directory could be changed by others.
    Insecure(InsecureFile),
    /// A private key file readable by group or others.
    Readable { path: PathBuf, mode: u32 },
    /// No key file where one was expected.
    Missing { path: PathBuf },
    /// The key file exists but is not a PEM key of the expected kind.
    Invalid { path: PathBuf, detail: String },
    /// The operating system's random source failed while generating a key.
    Random(String),
}

impl KeyError {
    fn io(path: &Path, source: std::io::Error) -> KeyError {
        KeyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<InsecureFile> for KeyError {
    fn from(insecure: InsecureFile) -> KeyError {
        KeyError::Insecure(insecure)
    }
}

impl From<FileError> for KeyError {
    fn from(err: FileError) -> KeyError {
        match err {
            FileError::Io { path, source } => KeyError::Io { path, source },
            FileError::Insecure(insecure) => KeyError::Insecure(insecure),
        }
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            KeyError::Insecure(insecure) => write!(f, "{insecure}"),
            KeyError::Readable { path, mode } => write!(
                f,
                "signing key {} is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
            KeyError::Missing { path } => write!(
                f,
                "no signing key at {}; run `gate init` to create one",
                path.display()
            ),
            KeyError::Invalid { path, detail } => write!(
                f,
                "{} is not a valid ed25519 PEM key ({detail}); restore it, or move it away and run `gate init`",
                path.display()
            ),
            KeyError::Random(detail) => {
                write!(f, "cannot generate a signing key: no randomness ({detail})")
            }
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Load the signing key at `path`, generating it first when no file exists.
pub fn load_or_create(path: &Path) -> Result<SigningKey, KeyError> {
    match fs::metadata(path) {
        Ok(_) => load_signing_key(path),
        Err(err) if err.kind() == ErrorKind::NotFound => create(path),
        Err(err) => Err(KeyError::io(path, err)),
    }
}

/// Load an existing signing key, refusing one that others could change or read.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = read_key_file(path)?;
    let mode = fs::metadata(path)
        .map_err(|err| KeyError::io(path, err))?
        .mode();
    if mode & 0o044 != 0 {
        return Err(KeyError::Readable {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    SigningKey::from_pkcs8_pem(&pem).map_err(|err| KeyError::Invalid {
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
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = read_key_file(path)?;
    if let Ok(key) = VerifyingKey::from_public_key_pem(&pem) {
        return Ok(key);
    }
    match SigningKey::from_pkcs8_pem(&pem) {
        Ok(signing) => Ok(signing.verifying_key()),
        Err(err) => Err(KeyError::Invalid {
            path: path.to_path_buf(),
            detail: format!("expected a \"PUBLIC KEY\" PEM: {err}"),
        }),
    }
}

/// Read a key file after checking that only its owner can write it.
fn read_key_file(path: &Path) -> Result<String, KeyError> {
    let meta = fs::metadata(path).map_err(|err| match err.kind() {
        ErrorKind::NotFound => KeyError::Missing {
            path: path.to_path_buf(),
        },
        _ => KeyError::io(path, err),
    })?;
    ensure_private_write(path, &meta)?;
    fs::read_to_string(path).map_err(|err| match err.kind() {
        ErrorKind::InvalidData => KeyError::Invalid {
            path: path.to_path_buf(),
            detail: "not text".into(),
        },
        _ => KeyError::io(path, err),
    })
}

/// Generate a key and publish it atomically without ever replacing an existing file:
/// write a private temporary file, then hard-link it into place (link fails if the
/// name exists). A racing `gate` that wins keeps its key; we load that one.
fn create(path: &Path) -> Result<SigningKey, KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    files::create_private_dir(dir)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| KeyError::Random(err.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let pem = private_key_pem(&key).map_err(|err| KeyError::Invalid {
        path: path.to_path_buf(),
        detail: err.to_string(),
    })?;
    let tmp = temp_name(path)?;
    if let Err(err) = files::write_new(&tmp, pem.as_bytes()) {
        let _ = fs::remove_file(&tmp);
        return Err(KeyError::io(&tmp, err));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            files::sync_dir(dir);
            Ok(key)
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => load_signing_key(path),
        Err(err) => Err(KeyError::io(path, err)),
    }
}

/// The private key as an RFC 8410 PKCS#8 v1 PEM ("-----BEGIN PRIVATE KEY-----"):
/// no embedded public key, which OpenSSL 3 and Python `cryptography` refuse.
pub fn private_key_pem(
    key: &SigningKey,
) -> Result<ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing<String>, ed25519_dalek::pkcs8::Error>
{
    KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
}

/// A sibling name no other process or thread will pick.
fn temp_name(path: &Path) -> Result<PathBuf, KeyError> {
    let mut salt = [0u8; 8];
    getrandom::fill(&mut salt).map_err(|err| KeyError::Random(err.to_string()))?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp.{}", hex::encode(salt)));
    Ok(PathBuf::from(name))
}
