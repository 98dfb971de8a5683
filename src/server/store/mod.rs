//! Where the broker keeps what must outlive it: requests with their votes, the
//! broker-wide version, approver tokens (only their SHA-256), where approval
//! channels posted each request, and the published policy versions.
//!
//! Two stores, one interface ([`Store`]): SQLite (`sqlite`, the default: one
//! file under `$GATE_HOME/broker`, one broker process) and PostgreSQL
//! (`postgres`, `[store] url`: one database that several broker replicas share).
//!
//! Every change is a compare-and-set: [`Store::save`] writes a request only if the
//! stored one is still at the version the change was made from, and assigns the
//! next broker version. On one process that never conflicts (the broker's writer
//! lock already orders changes); across replicas it is what makes the first final
//! decision win, a claim happen once and an expiry fire once: the loser re-reads
//! the request and applies its rule again.

pub mod notes;
pub mod postgres;
pub mod sqlite;

#[cfg(test)]
#[path = "../../../tests/it/support/postgres.rs"]
pub(crate) mod pg_harness;

pub use sqlite::{SqliteStore, read_request, read_votes};

use super::rules::Request;
use crate::approval::protocol::PolicyVersionView;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A store failure, naming the store.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a change was not stored.
#[derive(Debug)]
pub enum SaveError {
    /// The request changed since it was read (another replica decided, claimed or
    /// expired it, or another process wrote it): read it again and retry.
    Conflict,
    Failed(StoreError),
}

/// One approver token as `gate serve token list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub person: String,
    /// The first 8 hex digits of the token's SHA-256, to tell tokens apart.
    pub id: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// One published version of the organisation's policy: what the history lists,
/// with its text and its place in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub seq: i64,
    pub text: String,
    pub view: PolicyVersionView,
}

/// How a channel message row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Write it over what is there: where a channel posted a request.
    Replace,
    /// Write it only when there is none: a one-time task (such as a request's
    /// final Slack reply) that exactly one replica takes.
    IfAbsent,
}

/// The broker's store: the SQLite file or a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite {
        store: Arc<Mutex<SqliteStore>>,
        path: PathBuf,
    },
    Postgres(Box<postgres::PgStore>),
}

/// Run `work` on the SQLite store off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<Mutex<SqliteStore>>,
    work: impl FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&mut store.lock().expect("store lock")))
        .await
        .map_err(|e| StoreError(format!("broker store: {e}")))?
}

impl Store {
    /// The SQLite store at `path`, created with private permissions.
    pub fn sqlite(path: &Path) -> Result<Store, StoreError> {
        let store = SqliteStore::open(path)?;
        Ok(Store::Sqlite {
            store: Arc::new(Mutex::new(store)),
            path: path.to_path_buf(),
        })
    }

    /// The store `[store]` names, else the SQLite file at `path`; the
    /// PostgreSQL schema is brought up to date (never down).
    pub async fn open(
        config: Option<&crate::server::config::StoreConfig>,
        path: &Path,
    ) -> Result<Store, StoreError> {
        match config {
            Some(config) => Ok(Store::Postgres(Box::new(
                postgres::PgStore::connect(config).await?,
            ))),
            None => Store::sqlite(path),
        }
    }

    /// What the store is, for messages: the file, or the database (never its
    /// password).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite { path, .. } => path.display().to_string(),
            Store::Postgres(pg) => pg.describe(),
        }
    }

    /// The broker-wide change counter.
    pub async fn version(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite { store, .. } => blocking(store, |s| s.version()).await,
            Store::Postgres(pg) => pg.version().await,
        }
    }

    /// Store `request`: new when `previous` is `None`, else changed from the
    /// stored version `previous`. The broker version it was stored under.
    pub async fn save(
        &self,
        request: &Arc<Request>,
        previous: Option<u64>,
    ) -> Result<u64, SaveError> {
        match self {
            Store::Sqlite { store, .. } => {
                let (store, request) = (store.clone(), request.clone());
                tokio::task::spawn_blocking(move || {
                    store.lock().expect("store lock").save(&request, previous)
                })
                .await
                .map_err(|e| SaveError::Failed(StoreError(format!("broker store: {e}"))))?
            }
            Store::Postgres(pg) => pg.save(request, previous).await,
        }
    }

    /// Every pending request.
    pub async fn pending(&self, public_url: &str) -> Result<Vec<Request>, StoreError> {
        let url = public_url.to_string();
        match self {
            Store::Sqlite { store, .. } => blocking(store, move |s| s.pending(&url)).await,
            Store::Postgres(pg) => pg.pending(&url).await,
        }
    }

    /// One request by id.
    pub async fn get(&self, id: &str, public_url: &str) -> Result<Option<Request>, StoreError> {
        let (id, url) = (id.to_string(), public_url.to_string());
        match self {
            Store::Sqlite { store, .. } => blocking(store, move |s| s.get(&id, &url)).await,
            Store::Postgres(pg) => pg.get(&id, &url).await,
        }
    }

    /// Remember a new approver token by its SHA-256 (hex).
    pub async fn add_token(
        &self,
        person: &str,
        hash: &str,
        created: &str,
    ) -> Result<(), StoreError> {
        let (person, hash, created) = (person.to_string(), hash.to_string(), created.to_string());
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| s.add_token(&person, &hash, &created)).await
            }
            Store::Postgres(pg) => pg.add_token(&person, &hash, &created).await,
        }
    }

    /// The person behind a token that is not revoked; notes its use at `now`.
    pub async fn token_person(&self, hash: &str, now: &str) -> Result<Option<String>, StoreError> {
        let (hash, now) = (hash.to_string(), now.to_string());
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| s.token_person(&hash, &now)).await
            }
            Store::Postgres(pg) => pg.token_person(&hash, &now).await,
        }
    }

    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        match self {
            Store::Sqlite { store, .. } => blocking(store, |s| s.tokens()).await,
            Store::Postgres(pg) => pg.tokens().await,
        }
    }

    /// Revoke every token of `person` still in force; how many.
    pub async fn revoke_tokens(&self, person: &str, at: &str) -> Result<usize, StoreError> {
        let (person, at) = (person.to_string(), at.to_string());
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| s.revoke_tokens(&person, &at)).await
            }
            Store::Postgres(pg) => pg.revoke_tokens(&person, &at).await,
        }
    }

    /// Write that `channel` posted request `request_id` at `address` (or, under
    /// [`Put::IfAbsent`], took a one-time task for it): whether this call wrote it.
    pub async fn put_message(
        &self,
        request_id: &str,
        channel: &str,
        address: &str,
        put: Put,
    ) -> Result<bool, StoreError> {
        let (id, channel, address) = (
            request_id.to_string(),
            channel.to_string(),
            address.to_string(),
        );
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| s.put_message(&id, &channel, &address, put)).await
            }
            Store::Postgres(pg) => pg.put_message(&id, &channel, &address, put).await,
        }
    }

    /// Where `channel` posted request `request_id`, if it did.
    pub async fn message(
        &self,
        request_id: &str,
        channel: &str,
    ) -> Result<Option<String>, StoreError> {
        let (id, channel) = (request_id.to_string(), channel.to_string());
        match self {
            Store::Sqlite { store, .. } => blocking(store, move |s| s.message(&id, &channel)).await,
            Store::Postgres(pg) => pg.message(&id, &channel).await,
        }
    }

    /// Record a published version awaiting its approval request's decision.
    pub async fn add_policy(
        &self,
        version: &str,
        text: &str,
        published_by: &str,
        published_at: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        let owned = [version, text, published_by, published_at, request_id].map(str::to_string);
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| {
                    let [v, t, by, at, id] = &owned;
                    s.add_policy(v, t, by, at, id)
                })
                .await
            }
            Store::Postgres(pg) => {
                let [v, t, by, at, id] = &owned;
                pg.add_policy(v, t, by, at, id).await
            }
        }
    }

    /// Settle the version published with `request_id`: in force, or refused.
    /// Returns it when it was pending (so only one replica settles it).
    pub async fn settle_policy(
        &self,
        request_id: &str,
        approved: bool,
        approved_by: &[String],
        at: &str,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        let (id, by, at) = (request_id.to_string(), approved_by.to_vec(), at.to_string());
        match self {
            Store::Sqlite { store, .. } => {
                blocking(store, move |s| s.settle_policy(&id, approved, &by, &at)).await
            }
            Store::Postgres(pg) => pg.settle_policy(&id, approved, &by, &at).await,
        }
    }

    /// The version in force, if one was ever published and approved.
    pub async fn active_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        Ok(self
            .policies()
            .await?
            .into_iter()
            .find(|p| p.view.state == "active"))
    }

    /// Every published version, newest first.
    pub async fn policies(&self) -> Result<Vec<PolicyVersion>, StoreError> {
        match self {
            Store::Sqlite { store, .. } => blocking(store, |s| s.policies()).await,
            Store::Postgres(pg) => pg.policies().await,
        }
    }
}

#[cfg(test)]
mod tests;
