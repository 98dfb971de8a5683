//! The ledger's tables in the broker's SQLite store, on a connection of their
//! own: every installation's forwarded records (the bytes it signed, never
//! re-serialised), its chain head and status, and the refused records kept as
//! evidence.

use crate::audit::GENESIS_PREV_HASH;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_installations (
    name TEXT PRIMARY KEY,
    audit_key TEXT NOT NULL,
    head_seq INTEGER NOT NULL DEFAULT 0,
    head_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    detail TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_records (
    installation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    user TEXT NOT NULL,
    decision TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at TEXT NOT NULL,
    request_id TEXT,
    PRIMARY KEY (installation, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_records_time ON ledger_records(time);
CREATE INDEX IF NOT EXISTS ledger_records_request ON ledger_records(request_id)
    WHERE request_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ledger_refused (
    id INTEGER PRIMARY KEY,
    installation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL
);
";

/// A store failure, naming the database file.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An installation's chain as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// Hex of the audit public key its records are signed with.
    pub audit_key: String,
    pub head_seq: u64,
    pub head_hash: String,
    /// `ok`, or `broken` once a record that did not extend the chain arrived.
    pub status: String,
    /// Why it is broken.
    pub detail: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
}

/// One record to store, already verified.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub kind: &'a str,
    pub user: &'a str,
    pub decision: &'a str,
    pub body: &'a str,
    pub signature: &'a str,
    pub hash: &'a str,
    /// The broker request this record is about: named by the broker's own
    /// signed decision in a decision record (verified with the broker's key), or
    /// by the decision record an outcome record closes.
    pub request_id: Option<String>,
    /// For an outcome record: the decision record it closes.
    pub decision_seq: Option<u64>,
}

/// A refused record, kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub installation: String,
    pub seq: u64,
    pub body: String,
    pub signature: String,
    pub hash: String,
    pub reason: String,
    pub received_at: String,
}

#[derive(Debug)]
pub struct LedgerStore {
    conn: Connection,
    path: PathBuf,
}

impl LedgerStore {
    pub fn open(path: &Path) -> Result<LedgerStore, StoreError> {
        let fail = |e: rusqlite::Error| StoreError(format!("broker store {}: {e}", path.display()));
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| {
                conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            })
            .and_then(|()| conn.execute_batch(SCHEMA))
            .map_err(fail)?;
        Ok(LedgerStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn fail(&self, e: rusqlite::Error) -> StoreError {
        StoreError(format!("broker store {}: {e}", self.path.display()))
    }

    pub fn chain(&self, name: &str) -> Result<Option<Chain>, StoreError> {
        self.conn
            .query_row(
                "SELECT name, audit_key, head_seq, head_hash, status, detail, first_seen, last_seen
                 FROM ledger_installations WHERE name = ?1",
                [name],
                chain_row,
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    pub fn chains(&self) -> Result<Vec<Chain>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, audit_key, head_seq, head_hash, status, detail, first_seen, last_seen
                 FROM ledger_installations ORDER BY name",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt.query_map([], chain_row).map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Register `name`'s audit key with an empty chain.
    pub fn register(&self, name: &str, audit_key: &str, now: &str) -> Result<Chain, StoreError> {
        self.conn
            .execute(
                "INSERT INTO ledger_installations (name, audit_key, head_hash, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO NOTHING",
                params![name, audit_key, GENESIS_PREV_HASH, now],
            )
            .map_err(|e| self.fail(e))?;
        self.chain(name)?
            .ok_or_else(|| StoreError(format!("installation {name} vanished")))
    }

    /// The stored hash of `name`'s record `seq`.
    pub fn hash_at(&self, name: &str, seq: u64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT hash FROM ledger_records WHERE installation = ?1 AND seq = ?2",
                params![name, seq as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Store verified records that extend `name`'s chain, the refused one (if
    /// any) as evidence, and the new head, in one transaction.
    pub fn commit(
        &mut self,
        name: &str,
        records: &[Verified<'_>],
        refused: Option<&Refused>,
        now: &str,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| StoreError(format!("broker store {}: {e}", path.display()));
        let tx = self.conn.transaction().map_err(fail)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO ledger_records (installation, seq, time, kind, user, decision,
                        body, signature, hash, received_at, request_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(fail)?;
            let mut closes = tx
                .prepare_cached(
                    "SELECT request_id FROM ledger_records WHERE installation = ?1 AND seq = ?2",
                )
                .map_err(fail)?;
            for r in records {
                let request_id = match (&r.request_id, r.decision_seq) {
                    (Some(id), _) => Some(id.clone()),
                    (None, Some(seq)) => closes
                        .query_row(params![name, seq as i64], |row| row.get(0))
                        .optional()
                        .map_err(fail)?
                        .flatten(),
                    (None, None) => None,
                };
                insert
                    .execute(params![
                        name,
                        r.seq as i64,
                        r.time,
                        r.kind,
                        r.user,
                        r.decision,
                        r.body,
                        r.signature,
                        r.hash,
                        now,
                        request_id
                    ])
                    .map_err(fail)?;
            }
        }
        if let Some(last) = records.last() {
            tx.execute(
                "UPDATE ledger_installations SET head_seq = ?2, head_hash = ?3 WHERE name = ?1",
                params![name, last.seq as i64, last.hash],
            )
            .map_err(fail)?;
        }
        if let Some(refused) = refused {
            tx.execute(
                "INSERT INTO ledger_refused (installation, seq, body, signature, hash, reason,
                    received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    refused.installation,
                    refused.seq as i64,
                    refused.body,
                    refused.signature,
                    refused.hash,
                    refused.reason,
                    refused.received_at
                ],
            )
            .map_err(fail)?;
            tx.execute(
                "UPDATE ledger_installations SET status = 'broken',
                    detail = COALESCE(detail, ?2) WHERE name = ?1",
                params![name, refused.reason],
            )
            .map_err(fail)?;
        }
        tx.execute(
            "UPDATE ledger_installations SET last_seen = ?2 WHERE name = ?1",
            params![name, now],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// The refused records of `name` (all installations when `None`), newest first.
    pub fn refused(&self, name: Option<&str>) -> Result<Vec<Refused>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT installation, seq, body, signature, hash, reason, received_at
                 FROM ledger_refused WHERE (?1 IS NULL OR installation = ?1) ORDER BY id DESC",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([name], |row| {
                Ok(Refused {
                    installation: row.get(0)?,
                    seq: row.get::<_, i64>(1)? as u64,
                    body: row.get(2)?,
                    signature: row.get(3)?,
                    hash: row.get(4)?,
                    reason: row.get(5)?,
                    received_at: row.get(6)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// How many records the broker holds for `name`.
    pub fn count(&self, name: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM ledger_records WHERE installation = ?1",
                [name],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.fail(e))
    }
}

fn chain_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Chain> {
    Ok(Chain {
        name: row.get(0)?,
        audit_key: row.get(1)?,
        head_seq: row.get::<_, i64>(2)? as u64,
        head_hash: row.get(3)?,
        status: row.get(4)?,
        detail: row.get(5)?,
        first_seen: row.get(6)?,
        last_seen: row.get(7)?,
    })
}
