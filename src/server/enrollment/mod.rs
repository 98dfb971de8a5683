//! Enrolled installations: one-time codes an admin makes (`gate serve enroll
//! NAME`), the installation keys registered with them (`POST /v1/enroll`), and
//! checking the signature on every request, claim and cancel a requester sends
//! (`extract`). The store is read on every request, so a revocation holds at once.
//!
//! Owns who a requester's machine is. Never takes a request's `requester.host`
//! for it: a verified request's host is the enrolled name, an unverified one is
//! marked so.

mod extract;
mod store;

pub use extract::{Caller, Signed};
pub use store::{CodeRefusal, EnrollmentStore, InstallationRow};

use super::rules::Refusal;
use super::token;
use crate::approval::protocol::{EnrollBody, Enrolled, ErrorCode};
use crate::approval::signature::{self, SignedHeaders, WINDOW};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a code is good for unless `--expires` says otherwise.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(3600);

/// The line every refusal of an unenrolled requester ends with.
pub const HOW_TO_ENROLL: &str = "enroll this machine with `gate enroll --server URL CODE`, \
     using a code an admin makes on the broker host with `gate serve enroll NAME`";

/// The running broker's view of enrollment.
#[derive(Debug, Clone)]
pub struct Enrollments {
    store: Arc<Mutex<EnrollmentStore>>,
}

impl Enrollments {
    pub fn open(path: &Path) -> Result<Enrollments, String> {
        let store = EnrollmentStore::open(path).map_err(|e| e.to_string())?;
        Ok(Enrollments {
            store: Arc::new(Mutex::new(store)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut EnrollmentStore) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Result<T, Refusal> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&mut store.lock().expect("enrollment lock")))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// `POST /v1/enroll`: use a code once to register a public key.
    pub async fn enroll(&self, body: EnrollBody) -> Result<Enrolled, Refusal> {
        let key = VerifyingKey::from_public_key_pem(body.public_key.trim()).map_err(|_| {
            Refusal::field(
                "public_key",
                "public_key must be an ed25519 \"PUBLIC KEY\" PEM",
            )
        })?;
        let hash = hex::encode(token::hash(body.code.trim()));
        let now = SystemTime::now();
        let bytes = key.to_bytes();
        let enrolled = self
            .with(move |store| store.enroll(&hash, &bytes, seconds(now)))
            .await?;
        match enrolled {
            Ok(name) => {
                crate::serve_log!("gate serve: enrolled installation {name}");
                Ok(Enrolled {
                    name,
                    enrolled_at: super::rules::rfc3339(now),
                })
            }
            Err(refusal) => {
                let why = match refusal {
                    CodeRefusal::Unknown => "is not a code this broker made",
                    CodeRefusal::Used => "was already used",
                    CodeRefusal::Expired => "has expired",
                };
                crate::serve_log!("gate serve: refused an enrollment: the code {why}");
                Err(Refusal::new(
                    401,
                    ErrorCode::InvalidEnrollmentCode,
                    format!(
                        "the enrollment code {why}; ask an admin for a new one \
                         (`gate serve enroll NAME` on the broker host)"
                    ),
                ))
            }
        }
    }

    /// Who sent a request: the enrolled installation whose valid, fresh,
    /// never-seen signature it carries, or (only when enrollment is not
    /// required) nobody verified. A bad signature is refused either way.
    pub async fn authenticate(
        &self,
        signed: Option<SignedHeaders>,
        method: &str,
        path: &str,
        body: &[u8],
        required: bool,
    ) -> Result<Caller, Refusal> {
        let Some(signed) = signed else {
            if required {
                return Err(not_enrolled(format!(
                    "this broker only accepts requests signed by an enrolled installation; \
                     {HOW_TO_ENROLL}"
                )));
            }
            return Ok(Caller::Unverified);
        };
        let now = SystemTime::now();
        if !signature::within_window(signed.timestamp, now) {
            return Err(bad_signature(
                "the signature's timestamp is more than 5 minutes from the broker's clock; \
                 check this machine's clock",
            ));
        }
        let name = signed.installation.clone();
        let row = self
            .with(move |store| store.installation(&name))
            .await?
            .ok_or_else(|| {
                not_enrolled(format!(
                    "no installation \"{}\" is enrolled with this broker; {HOW_TO_ENROLL}",
                    signed.installation
                ))
            })?;
        if row.revoked_at.is_some() {
            return Err(not_enrolled(format!(
                "installation \"{}\" was revoked; {HOW_TO_ENROLL}",
                row.name
            )));
        }
        let key = VerifyingKey::from_bytes(&row.public_key).map_err(internal)?;
        if !signature::verify(&key, &signed, method, path, body) {
            return Err(bad_signature(
                "the signature does not match this request and the installation's key",
            ));
        }
        let forget_before = seconds(now).saturating_sub(WINDOW.as_secs());
        let (name, nonce, timestamp) = (row.name.clone(), signed.nonce, signed.timestamp);
        let first = self
            .with(move |store| {
                let first = store.first_use(&name, &nonce, timestamp, forget_before)?;
                if first {
                    store.seen(&name, seconds(now))?;
                }
                Ok(first)
            })
            .await?;
        if !first {
            return Err(bad_signature(
                "this signature was already used (a replayed request); sign each request anew",
            ));
        }
        Ok(Caller::Enrolled(row.name))
    }
}

/// A new code for installation `name`, good for `lifetime`; only its SHA-256
/// is stored. For `gate serve enroll NAME`.
pub fn create_code(path: &Path, name: &str, lifetime: Duration) -> Result<String, String> {
    if !signature::valid_name(name) || ["list", "revoke"].contains(&name) {
        return Err(format!(
            "\"{name}\" is not a usable installation name: use 1 to 63 letters, digits, \
             '.', '_' or '-', starting with a letter or digit (not \"list\" or \"revoke\")"
        ));
    }
    let code = format!("gate-enroll_{}", hex::encode(token::random::<24>()?));
    let now = seconds(SystemTime::now());
    let expires = now.saturating_add(lifetime.as_secs());
    EnrollmentStore::open(path)
        .and_then(|store| store.add_code(&hex::encode(token::hash(&code)), name, now, expires))
        .map_err(|e| e.to_string())?;
    Ok(code)
}

/// Every installation, for `gate serve enroll list`.
pub fn list(path: &Path) -> Result<Vec<InstallationRow>, String> {
    EnrollmentStore::open(path)
        .and_then(|store| store.installations())
        .map_err(|e| e.to_string())
}

/// Revoke installation `name`; false when none has that name.
pub fn revoke(path: &Path, name: &str) -> Result<bool, String> {
    EnrollmentStore::open(path)
        .and_then(|store| store.revoke(name, seconds(SystemTime::now())))
        .map_err(|e| e.to_string())
}

/// Unix seconds as RFC 3339 (whole seconds), for listings.
pub fn rfc3339(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

fn seconds(at: SystemTime) -> u64 {
    signature::unix_seconds(at)
}

fn not_enrolled(message: String) -> Refusal {
    Refusal::new(401, ErrorCode::NotEnrolled, message)
}

fn bad_signature(message: &str) -> Refusal {
    Refusal::new(401, ErrorCode::BadSignature, message)
}

fn internal(detail: impl std::fmt::Display) -> Refusal {
    crate::serve_log!("gate serve: error: {detail}");
    Refusal::new(
        500,
        ErrorCode::Internal,
        "the broker could not complete this; see its log",
    )
}
