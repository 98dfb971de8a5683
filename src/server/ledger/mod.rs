//! Every installation's audit trail, at the broker (`POST /v1/audit/records`,
//! `POST /v1/audit/head`). Installations forward their signed records exactly as
//! stored; the broker verifies each one (the signature with the installation's
//! audit key, the hash, and that it extends the chain from the head it holds)
//! before storing it.
//!
//! A record that does not extend the chain (the local log was truncated,
//! rewritten or forked after it was forwarded) is refused, kept as evidence, and
//! the installation is marked `broken` in the broker log and on its head. A
//! record the broker already holds, byte for byte, is acknowledged again.
//!
//! Which audit key is an installation's: for an enrolled installation, the one
//! its first signed push registered; for a broker without enrollment, the key
//! pinned in broker.toml (`[installations.NAME] audit_key`). Files: `ingest`
//! (judging a batch against a chain), `store` (the tables in SQLite),
//! `postgres` (the same in the database broker replicas share).

mod ingest;
mod postgres;
mod store;

pub use store::{Chain, LedgerStore, Refused};

use super::rules::Refusal;
use crate::approval::protocol::{ChainHead, ErrorCode, ForwardBody};
use crate::audit::GENESIS_PREV_HASH;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ingest::{Keys, check_all, ingest_checked};
use postgres::PgLedger;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The running broker's ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    backend: Backend,
    /// `[installations.NAME] audit_key` from broker.toml: name -> key.
    pinned: Arc<BTreeMap<String, VerifyingKey>>,
    /// The broker's own key: a decision record's approval that verifies with
    /// it names the request the record is about.
    broker_key: VerifyingKey,
}

/// Where the tables are: each operation is written once per backend.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Arc<Mutex<LedgerStore>>),
    Postgres(PgLedger),
}

impl Ledger {
    /// The ledger's tables in the broker's store: beside it in the SQLite file
    /// (added when missing), or in its PostgreSQL database.
    pub fn open(
        store: &crate::server::store::Store,
        pinned: BTreeMap<String, VerifyingKey>,
        broker_key: VerifyingKey,
    ) -> Result<Ledger, String> {
        use crate::server::store::Store;
        let backend = match store {
            Store::Sqlite { path, .. } => {
                let store = LedgerStore::open(path).map_err(|e| e.to_string())?;
                Backend::Sqlite(Arc::new(Mutex::new(store)))
            }
            Store::Postgres(pg) => Backend::Postgres(PgLedger::new(pg.clone())),
        };
        Ok(Ledger {
            backend,
            pinned: Arc::new(pinned),
            broker_key,
        })
    }

    /// Run `work` on the SQLite store off the async threads.
    async fn blocking<T: Send + 'static>(
        store: &Arc<Mutex<LedgerStore>>,
        work: impl FnOnce(&mut LedgerStore) -> Result<T, Refusal> + Send + 'static,
    ) -> Result<T, Refusal> {
        let store = store.clone();
        tokio::task::spawn_blocking(move || work(&mut store.lock().expect("ledger lock")))
            .await
            .map_err(|e| internal(e.to_string()))?
    }

    /// Take a batch of forwarded records: the head after it, or the refusal.
    /// `enrolled`: the installation whose signature the push carries; `None`
    /// for an unsigned push, whose records are taken only from an installation
    /// pinned in broker.toml, on their own signatures.
    pub async fn ingest(
        &self,
        enrolled: Option<String>,
        body: ForwardBody,
        now: String,
    ) -> Result<ChainHead, Refusal> {
        let name = enrolled
            .clone()
            .unwrap_or_else(|| body.installation.clone());
        if let Some(name) = &enrolled
            && body.installation != *name
        {
            return Err(Refusal::field(
                "installation",
                format!(
                    "the request is signed by installation \"{name}\", not \"{}\"",
                    body.installation
                ),
            ));
        }
        let offered =
            VerifyingKey::from_public_key_pem(body.audit_public_key.trim()).map_err(|_| {
                Refusal::field("audit_public_key", "not an ed25519 public key in SPKI PEM")
            })?;
        let pinned = self.pinned.get(&name).copied();
        if enrolled.is_none() && pinned.is_none() {
            return Err(Refusal::new(
                401,
                ErrorCode::NotEnrolled,
                format!(
                    "installation \"{name}\" is neither enrolled nor pinned in broker.toml \
                     ([installations.{name}] audit_key); sign the push as an enrolled installation"
                ),
            ));
        }
        let keys = Keys {
            pinned,
            offered,
            broker: self.broker_key,
        };
        // Signatures are checked before the store is locked, so pushes from
        // several installations verify on every core at once; a batch signed
        // with another key than the registered one is refused whatever they say.
        let (records, broker) = (body.records, keys.broker);
        let (records, checked) = tokio::task::spawn_blocking(move || {
            let checked = check_all(&records, &offered, &broker);
            (records, checked)
        })
        .await
        .map_err(|e| internal(e.to_string()))?;
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, move |store| {
                    ingest_checked(store, &name, &keys, &records, checked, &now)
                })
                .await
            }
            Backend::Postgres(pg) => pg.ingest(&name, &keys, &records, checked, &now).await,
        }
    }

    /// The head the broker holds for `name`.
    pub async fn head(&self, name: String) -> Result<ChainHead, Refusal> {
        let chain = match &self.backend {
            Backend::Sqlite(store) => {
                let name = name.clone();
                Self::blocking(store, move |store| {
                    store.chain(&name).map_err(|e| internal(e.to_string()))
                })
                .await?
            }
            Backend::Postgres(pg) => pg.chain(&name).await.map_err(|e| internal(e.to_string()))?,
        };
        Ok(match chain {
            Some(chain) => head_of(&chain),
            None => ChainHead {
                installation: name,
                seq: 0,
                hash: GENESIS_PREV_HASH.to_string(),
                status: "ok".into(),
            },
        })
    }

    /// Every installation's chain, by name.
    pub async fn chains(&self) -> Result<Vec<Chain>, Refusal> {
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, |store| {
                    store.chains().map_err(|e| internal(e.to_string()))
                })
                .await
            }
            Backend::Postgres(pg) => pg.chains().await.map_err(|e| internal(e.to_string())),
        }
    }

    /// Refused records kept as evidence, newest first.
    pub async fn refused(&self, name: Option<String>) -> Result<Vec<Refused>, Refusal> {
        match &self.backend {
            Backend::Sqlite(store) => {
                Self::blocking(store, move |store| {
                    store
                        .refused(name.as_deref())
                        .map_err(|e| internal(e.to_string()))
                })
                .await
            }
            Backend::Postgres(pg) => pg
                .refused(name.as_deref())
                .await
                .map_err(|e| internal(e.to_string())),
        }
    }
}

fn head_of(chain: &Chain) -> ChainHead {
    ChainHead {
        installation: chain.name.clone(),
        seq: chain.head_seq,
        hash: chain.head_hash.clone(),
        status: chain.status.clone(),
    }
}

pub(super) fn internal(detail: String) -> Refusal {
    crate::serve_log!("gate serve: ledger: {detail}");
    Refusal::new(
        500,
        ErrorCode::Internal,
        "the broker failed to store the records",
    )
}
