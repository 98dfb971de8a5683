//! Enrolled installations: one-time codes an admin makes (`gate serve enroll
//! NAME`), the installation keys registered with them (`POST /v1/enroll`), and
//! checking the signature on every request, claim and cancel a requester sends
//! (`extract`). The store is read on every request, so a revocation holds at once.
//! The tables live in the broker's store: `store` (SQLite, on a connection of
//! its own) or `postgres` (the database the replicas share).
//!
//! Owns who a requester's machine is. Never takes a request's `requester.host`
//! for it: a verified request's host is the enrolled name, an unverified one is
//! marked so.

mod extract;
mod postgres;
mod store;

pub use extract::{Caller, Signed};
pub use store::{CodeRefusal, EnrollmentStore, InstallationRow};

use super::rules::Refusal;
use super::store::Store;
use super::token;
use crate::approval::protocol::{EnrollBody, Enrolled, ErrorCode};
use crate::approval::signature::{self, SignedHeaders, WINDOW};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use postgres::PgEnrollments;
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
    backend: Backend,
}

/// Where the tables are: each operation is written once per backend.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Arc<Mutex<EnrollmentStore>>),
    Postgres(PgEnrollments),
}

impl Enrollments {
    /// Enrollment's tables in the broker's store: beside it in the SQLite
    /// file (added when missing), or in its PostgreSQL database.
    pub fn open(store: &Store) -> Result<Enrollments, String> {
        let backend = match store {
            Store::Sqlite { path, .. } => {
                let store = EnrollmentStore::open(path).map_err(|e| e.to_string())?;
                Backend::Sqlite(Arc::new(Mutex::new(store)))
            }
            Store::Postgres(pg) => Backend::Postgres(PgEnrollments::new(pg.clone())),
        };
        Ok(Enrollments { backend })
    }

    /// Run `work` on the SQLite store off the async threads.
    async fn blocking<T: Send + 'static>(
        store: &Arc<Mutex<EnrollmentStore>>,
        work: impl FnOnce(&mut EnrollmentStore) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = store.clone();
        tokio::task::spawn_blocking(move || work(&mut store.lock().expect("enrollment lock")))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    async fn add_code(
        &self,
        hash: String,
        name: String,
        now: u64,
        expires: u64,
    ) -> Result<(), String> {
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, move |s| s.add_code(&hash, &name, now, expires)).await
            }
            Backend::Postgres(pg) => pg
                .add_code(&hash, &name, now, expires)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn use_code(
        &self,
        hash: String,
        key: [u8; 32],
        now: u64,
    ) -> Result<Result<String, CodeRefusal>, String> {
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, move |s| s.enroll(&hash, &key, now)).await
            }
            Backend::Postgres(pg) => pg.enroll(&hash, &key, now).await.map_err(|e| e.to_string()),
        }
    }

    async fn installation(&self, name: String) -> Result<Option<InstallationRow>, String> {
        match &self.backend {
            Backend::Sqlite(store) => Self::blocking(store, move |s| s.installation(&name)).await,
            Backend::Postgres(pg) => pg.installation(&name).await.map_err(|e| e.to_string()),
        }
    }

    /// Every installation, by name.
    pub async fn installations(&self) -> Result<Vec<InstallationRow>, String> {
        match &self.backend {
            Backend::Sqlite(store) => Self::blocking(store, |s| s.installations()).await,
            Backend::Postgres(pg) => pg.installations().await.map_err(|e| e.to_string()),
        }
    }

    /// Revoke installation `name` now; false when none has that name.
    pub async fn revoke(&self, name: &str) -> Result<bool, String> {
        let (name, now) = (name.to_string(), seconds(SystemTime::now()));
        match &self.backend {
            Backend::Sqlite(store) => Self::blocking(store, move |s| s.revoke(&name, now)).await,
            Backend::Postgres(pg) => pg.revoke(&name, now).await.map_err(|e| e.to_string()),
        }
    }

    /// Record a signature's nonce, and the installation seen at `now`; false
    /// for a nonce seen before.
    async fn first_use(
        &self,
        name: String,
        nonce: String,
        timestamp: u64,
        now: u64,
    ) -> Result<bool, String> {
        let forget_before = now.saturating_sub(WINDOW.as_secs());
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, move |store| {
                    let first = store.first_use(&name, &nonce, timestamp, forget_before)?;
                    if first {
                        store.seen(&name, now)?;
                    }
                    Ok(first)
                })
                .await
            }
            Backend::Postgres(pg) => pg
                .first_use(&name, &nonce, timestamp, forget_before, now)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// A new code for installation `name`, good for `lifetime`; only its
    /// SHA-256 is stored. For `gate serve enroll NAME`.
    pub async fn create_code(&self, name: &str, lifetime: Duration) -> Result<String, CodeError> {
        if !signature::valid_name(name) || ["list", "revoke"].contains(&name) {
            return Err(CodeError::Name(format!(
                "\"{name}\" is not a usable installation name: use 1 to 63 letters, digits, \
                 '.', '_' or '-', starting with a letter or digit (not \"list\" or \"revoke\")"
            )));
        }
        let code = format!(
            "gate-enroll_{}",
            hex::encode(token::random::<24>().map_err(CodeError::Store)?)
        );
        let now = seconds(SystemTime::now());
        let expires = now.saturating_add(lifetime.as_secs());
        self.add_code(
            hex::encode(token::hash(&code)),
            name.to_string(),
            now,
            expires,
        )
        .await
        .map_err(CodeError::Store)?;
        Ok(code)
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
            .use_code(hash, bytes, seconds(now))
            .await
            .map_err(internal)?;
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
            .installation(name)
            .await
            .map_err(internal)?
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
        let first = self
            .first_use(
                row.name.clone(),
                signed.nonce,
                signed.timestamp,
                seconds(now),
            )
            .await
            .map_err(internal)?;
        if !first {
            return Err(bad_signature(
                "this signature was already used (a replayed request); sign each request anew",
            ));
        }
        Ok(Caller::Enrolled(row.name))
    }
}

/// Why no code was made.
#[derive(Debug)]
pub enum CodeError {
    /// The name is not one an installation can have.
    Name(String),
    Store(String),
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
