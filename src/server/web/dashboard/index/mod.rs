//! The dashboard's reads of the broker store: the history index and its
//! queries, requests with their votes, forwarded audit records and the
//! metrics. One interface ([`Index`]), two stores: the SQLite file (`sqlite`:
//! FTS5 and facet tables kept by SQLite triggers) and PostgreSQL (`postgres`:
//! the same tables kept by a plpgsql trigger, the search by `ILIKE`). The plan
//! that turns a history query into SQL is written once (`plan`); each backend
//! counts its own ranges and runs it. Nothing here writes a request, a vote or
//! a ledger record.

mod plan;
mod postgres;
mod sqlite;

#[cfg(test)]
mod tests;

use crate::server::insights::Metrics;
use crate::server::rules::Request;
use crate::server::store::Store;
use postgres::PgIndex;
use sqlite::SqliteIndex;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The facets a history filter may name, as query parameters.
pub const FACETS: &[(&str, &str)] = &[
    ("person", "person"),
    ("requester", "user"),
    ("host", "host"),
    ("agent", "agent"),
    ("repo", "repo"),
    ("rule", "rule"),
    ("decision", "status"),
    ("break_glass", "break_glass"),
];

/// What to list: facet values that must all hold, a time range, a search.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// (facet, value) pairs, every one required.
    pub facets: Vec<(&'static str, String)>,
    /// Inclusive lower bound on the creation time (RFC 3339, milliseconds).
    pub from: Option<String>,
    /// Exclusive upper bound on the creation time.
    pub until: Option<String>,
    /// Substring of the redacted command.
    pub text: Option<String>,
    /// Only requests before this order key (after it when `ascending`): the
    /// next page.
    pub before: Option<i64>,
    /// Oldest first (the evidence report) instead of newest first.
    pub ascending: bool,
}

/// One forwarded record as the ledger verified and stored it.
#[derive(Debug, Clone)]
pub struct LedgerRecord {
    pub installation: String,
    pub seq: u64,
    pub time: String,
    pub kind: String,
    pub decision: String,
    /// The signed JSON body, as the installation signed it.
    pub body: String,
    pub hash: String,
    pub received_at: String,
}

/// The dashboard's reads, on the broker's store.
#[derive(Debug, Clone)]
pub enum Index {
    Sqlite(Arc<Mutex<SqliteIndex>>),
    Postgres(PgIndex),
}

impl Index {
    /// The index on the broker's `store`: in the SQLite file, added (and
    /// filled) when missing; in PostgreSQL, made by the store's migrations.
    pub fn open(store: &Store, public_url: &str) -> Result<Index, String> {
        match store {
            Store::Sqlite { path, .. } => Ok(Index::Sqlite(Arc::new(Mutex::new(
                SqliteIndex::open(path, public_url)?,
            )))),
            Store::Postgres(pg) => Ok(Index::Postgres(PgIndex::new(pg.clone(), public_url))),
        }
    }

    /// Run `work` on the SQLite index off the async threads.
    async fn blocking<T: Send + 'static>(
        index: &Arc<Mutex<SqliteIndex>>,
        work: impl FnOnce(&SqliteIndex) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let index = index.clone();
        tokio::task::spawn_blocking(move || work(&index.lock().expect("dashboard index lock")))
            .await
            .map_err(|e| format!("dashboard index: {e}"))?
    }

    /// Up to `limit` request ids with their order keys matching `query`,
    /// newest first (oldest first when `ascending`).
    pub async fn ids(&self, query: Query, limit: usize) -> Result<Vec<(String, i64)>, String> {
        match self {
            Index::Sqlite(index) => Self::blocking(index, move |i| i.ids(&query, limit)).await,
            Index::Postgres(index) => index.ids(&query, limit).await,
        }
    }

    /// The requests with these ids, in this order, with their votes.
    pub async fn requests(&self, ids: Vec<(String, i64)>) -> Result<Vec<Request>, String> {
        match self {
            Index::Sqlite(index) => Self::blocking(index, move |i| i.requests(&ids)).await,
            Index::Postgres(index) => index.requests(&ids).await,
        }
    }

    /// Up to `limit` requests matching `query`, in its order.
    pub async fn find(&self, query: Query, limit: usize) -> Result<Vec<Request>, String> {
        let ids = self.ids(query, limit).await?;
        self.requests(ids).await
    }

    /// One request with its votes.
    pub async fn request(&self, id: &str) -> Result<Option<Request>, String> {
        let id = id.to_string();
        match self {
            Index::Sqlite(index) => Self::blocking(index, move |i| i.request(&id)).await,
            Index::Postgres(index) => index.request(&id).await,
        }
    }

    /// The forwarded audit records about request `id`, by installation and seq.
    pub async fn records(&self, id: &str) -> Result<Vec<LedgerRecord>, String> {
        let id = id.to_string();
        match self {
            Index::Sqlite(index) => Self::blocking(index, move |i| i.records(&id)).await,
            Index::Postgres(index) => index.records(&id).await,
        }
    }

    /// The forwarded audit records about each of `ids`, in their order.
    pub async fn records_of(&self, ids: Vec<String>) -> Result<Vec<Vec<LedgerRecord>>, String> {
        match self {
            Index::Sqlite(index) => {
                Self::blocking(index, move |i| ids.iter().map(|id| i.records(id)).collect()).await
            }
            Index::Postgres(index) => index.records_of(&ids).await,
        }
    }

    /// The metrics of requests created in `[from, to)`.
    pub async fn metrics(&self, from: SystemTime, to: SystemTime) -> Result<Metrics, String> {
        match self {
            Index::Sqlite(index) => {
                Self::blocking(index, move |i| {
                    Metrics::compute(i.connection(), from, to).map_err(|e| format!("metrics: {e}"))
                })
                .await
            }
            Index::Postgres(index) => index.metrics(from, to).await,
        }
    }
}
