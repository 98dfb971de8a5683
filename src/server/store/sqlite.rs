//! The broker's SQLite store (`$GATE_HOME/broker/broker.db`, WAL), the default:
//! requests with their votes, approver tokens (only their SHA-256), the
//! broker-wide version, and where approval channels posted each request (so
//! updates survive a restart).
//!
//! Only one broker process uses it; `super::Store` calls it one write at a time. A final decision is committed with
//! `synchronous = FULL` before the answer goes out, so an approval the broker has
//! announced survives a crash; other changes use NORMAL (durable at checkpoint).
//! Never stores a token in the clear.

use super::{PolicyVersion, Put, SaveError, StoreError, TokenInfo};
use crate::approval::SignedDecision;
use crate::approval::protocol::{PolicyVersionView, RequestView, Status, Vote};
use crate::files::{create_private_dir, create_private_file};
use crate::server::rules::Request;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    token_hash BLOB NOT NULL,
    claimed INTEGER NOT NULL,
    requester TEXT NOT NULL,
    requester_person TEXT,
    argv TEXT NOT NULL,
    cwd TEXT NOT NULL,
    action_digest TEXT NOT NULL,
    rules TEXT NOT NULL,
    rule_reason TEXT NOT NULL,
    reason TEXT,
    approvers TEXT NOT NULL,
    quorum INTEGER NOT NULL,
    break_glass INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decision_payload TEXT,
    decision_signature TEXT
);
CREATE INDEX IF NOT EXISTS requests_pending ON requests(status) WHERE status = 'pending';
-- Metrics over a period (server::insights) select requests by creation time.
CREATE INDEX IF NOT EXISTS requests_created ON requests(created_at);
CREATE TABLE IF NOT EXISTS votes (
    request_id TEXT NOT NULL,
    person TEXT NOT NULL,
    channel TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (request_id, person)
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    created TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_messages (
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (request_id, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS policies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,
    text TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    request_id TEXT,
    state TEXT NOT NULL,
    decided_at TEXT,
    approved_by TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS policies_request ON policies(request_id);
";

/// The schema this gate writes (`PRAGMA user_version`); a store written by a
/// newer gate is refused rather than half understood.
pub const SCHEMA_VERSION: i64 = 1;

fn check_schema(conn: &Connection) -> Result<(), String> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if found > SCHEMA_VERSION {
        return Err(format!(
            "its schema is version {found}, newer than this gate's ({SCHEMA_VERSION}); \
             upgrade gate, or serve from another store"
        ));
    }
    Ok(())
}

/// Columns added after the first schema, which older stores get on opening:
/// the policy version, and the CI identity verified from an ID token (JSON).
const ADDED_COLUMNS: &[&str] = &["policy_version", "ci_identity"];

fn add_columns(conn: &Connection) -> rusqlite::Result<()> {
    for column in ADDED_COLUMNS {
        let has: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('requests') WHERE name = ?1")?
            .exists([column])?;
        if !has {
            conn.execute_batch(&format!("ALTER TABLE requests ADD COLUMN {column} TEXT"))?;
        }
    }
    Ok(())
}

/// Stores made before tokens could be revoked get the columns.
fn add_token_columns(conn: &Connection) -> rusqlite::Result<()> {
    let has: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'revoked'")?
        .exists([])?;
    if !has {
        conn.execute_batch(
            "ALTER TABLE tokens ADD COLUMN last_used TEXT;
             ALTER TABLE tokens ADD COLUMN revoked TEXT;",
        )?;
    }
    Ok(())
}

#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Open (creating with private permissions) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let fail =
            |e: &dyn std::fmt::Display| StoreError(format!("broker store {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| fail(&e))?;
        }
        create_private_file(path).map_err(|e| fail(&e))?;
        let conn = Connection::open(path).map_err(|e| fail(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| fail(&e))?;
        check_schema(&conn).map_err(|e| fail(&e))?;
        conn.execute_batch(SCHEMA)
            .and_then(|()| add_columns(&conn))
            .and_then(|()| add_token_columns(&conn))
            .and_then(|()| conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}")))
            .map_err(|e| fail(&e))?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, err: rusqlite::Error) -> StoreError {
        StoreError(format!("broker store {}: {err}", self.path.display()))
    }

    /// The broker-wide change counter.
    pub fn version(&self) -> Result<u64, StoreError> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(found.unwrap_or(0) as u64)
    }

    /// Write `request` (new, when `previous` is `None`, or changed from the
    /// version `previous`) under the next broker version, in one transaction;
    /// fsync'd before returning when the request is final. The version it was
    /// stored under; [`SaveError::Conflict`] when the stored request is no longer
    /// at `previous`.
    pub fn save(&mut self, request: &Request, previous: Option<u64>) -> Result<u64, SaveError> {
        let durable = request.view.status.is_final();
        if durable {
            self.conn
                .execute_batch("PRAGMA synchronous = FULL")
                .map_err(|e| SaveError::Failed(self.fail(e)))?;
        }
        let result = self.write(request, previous);
        if durable {
            let _ = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        }
        match result {
            Ok(Some(version)) => Ok(version),
            Ok(None) => Err(SaveError::Conflict),
            Err(e) => Err(SaveError::Failed(self.fail(e))),
        }
    }

    fn write(
        &mut self,
        request: &Request,
        previous: Option<u64>,
    ) -> Result<Option<u64>, rusqlite::Error> {
        let view = &request.view;
        let tx = self.conn.transaction()?;
        let stored: Option<i64> = tx
            .query_row(
                "SELECT version FROM requests WHERE id = ?1",
                [&view.id],
                |r| r.get(0),
            )
            .optional()?;
        if stored.map(|v| v as u64) != previous {
            return Ok(None);
        }
        let current: Option<i64> = tx
            .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let version = current.unwrap_or(0) as u64 + 1;
        tx.execute(
            "INSERT INTO requests (id, status, version, token_hash, claimed, requester,
                requester_person, argv, cwd, action_digest, rules, rule_reason, reason,
                approvers, quorum, break_glass, created_at, expires_at, decision_payload,
                decision_signature, policy_version, ci_identity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                version = excluded.version, claimed = excluded.claimed,
                decision_payload = excluded.decision_payload,
                decision_signature = excluded.decision_signature",
            params![
                view.id,
                view.status.as_str(),
                version as i64,
                &request.token_hash[..],
                view.claimed,
                json(&view.requester),
                json(&request.requester_people),
                json(&view.argv),
                view.cwd,
                view.action_digest,
                json(&view.rules),
                view.rule_reason,
                view.reason,
                json(&view.approvers),
                view.quorum,
                view.break_glass,
                view.created_at,
                view.expires_at,
                view.decision.as_ref().map(|d| &d.payload),
                view.decision.as_ref().map(|d| &d.signature),
                view.policy_version,
                view.ci_identity.as_ref().map(json),
            ],
        )?;
        for vote in &view.votes {
            tx.execute(
                "INSERT OR IGNORE INTO votes (request_id, person, channel, verdict, reason, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    view.id,
                    vote.person,
                    vote.channel,
                    vote.verdict.as_str(),
                    vote.reason,
                    vote.at
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            params![version as i64],
        )?;
        tx.commit()?;
        Ok(Some(version))
    }

    /// Every pending request (kept in memory while the broker runs).
    pub fn pending(&self, public_url: &str) -> Result<Vec<Request>, StoreError> {
        self.select("WHERE status = 'pending'", [], public_url)
    }

    /// One request by id.
    pub fn get(&self, id: &str, public_url: &str) -> Result<Option<Request>, StoreError> {
        Ok(self.select("WHERE id = ?1", [id], public_url)?.pop())
    }

    fn select<P: rusqlite::Params>(
        &self,
        filter: &str,
        params: P,
        public_url: &str,
    ) -> Result<Vec<Request>, StoreError> {
        let sql = format!("SELECT * FROM requests {filter}");
        let mut statement = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let mut requests = statement
            .query_map(params, |row| read_request(row, public_url))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.fail(e))?;
        for request in &mut requests {
            request.view.votes = self.votes(&request.view.id)?;
        }
        Ok(requests)
    }

    fn votes(&self, id: &str) -> Result<Vec<Vote>, StoreError> {
        read_votes(&self.conn, id).map_err(|e| self.fail(e))
    }

    /// Remember a new approver token by its SHA-256 (hex).
    pub fn add_token(&self, person: &str, hash: &str, created: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO tokens (hash, person, created) VALUES (?1, ?2, ?3)",
                params![hash, person, created],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Write that `channel` posted request `request_id` at `address` (e.g. a
    /// Slack channel and message ts), as `put` says: whether it was written.
    pub fn put_message(
        &self,
        request_id: &str,
        channel: &str,
        address: &str,
        put: Put,
    ) -> Result<bool, StoreError> {
        let verb = match put {
            Put::Replace => "INSERT OR REPLACE",
            Put::IfAbsent => "INSERT OR IGNORE",
        };
        self.conn
            .execute(
                &format!(
                    "{verb} INTO channel_messages (request_id, channel, address) VALUES (?1, ?2, ?3)"
                ),
                params![request_id, channel, address],
            )
            .map(|written| written == 1)
            .map_err(|e| self.fail(e))
    }

    /// Where `channel` posted request `request_id`, if it did.
    pub fn message(&self, request_id: &str, channel: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT address FROM channel_messages WHERE request_id = ?1 AND channel = ?2",
            )
            .and_then(|mut s| s.query_row([request_id, channel], |r| r.get(0)).optional())
            .map_err(|e| self.fail(e))
    }

    /// The person a token hash belongs to.
    /// The person behind a token that is not revoked; notes its use at `now`.
    pub fn token_person(&self, hash: &str, now: &str) -> Result<Option<String>, StoreError> {
        let person: Option<String> = self
            .conn
            .prepare_cached("SELECT person FROM tokens WHERE hash = ?1 AND revoked IS NULL")
            .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
            .map_err(|e| self.fail(e))?;
        if person.is_some() {
            self.conn
                .prepare_cached("UPDATE tokens SET last_used = ?2 WHERE hash = ?1")
                .and_then(|mut s| s.execute([hash, now]))
                .map_err(|e| self.fail(e))?;
        }
        Ok(person)
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT person, hash, created, last_used, revoked FROM tokens ORDER BY created",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], |row| {
                let hash: String = row.get(1)?;
                Ok(TokenInfo {
                    person: row.get(0)?,
                    id: hash.chars().take(8).collect(),
                    created: row.get(2)?,
                    last_used: row.get(3)?,
                    revoked: row.get(4)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Revoke every token of `person` still in force; how many.
    pub fn revoke_tokens(&self, person: &str, at: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE tokens SET revoked = ?2 WHERE person = ?1 AND revoked IS NULL",
                params![person, at],
            )
            .map_err(|e| self.fail(e))
    }
}

/// The votes on request `id`, in the order they were cast.
pub fn read_votes(conn: &Connection, id: &str) -> rusqlite::Result<Vec<Vote>> {
    let mut statement = conn.prepare_cached(
        "SELECT person, channel, verdict, reason, at FROM votes
         WHERE request_id = ?1 ORDER BY rowid",
    )?;
    statement
        .query_map([id], |row| {
            Ok(Vote {
                person: row.get(0)?,
                channel: row.get(1)?,
                verdict: from_json(&format!("\"{}\"", row.get::<_, String>(2)?))?,
                reason: row.get(3)?,
                at: row.get(4)?,
            })
        })?
        .collect()
}

/// A request from a `SELECT *` row of `requests` (votes not read).
pub fn read_request(row: &Row<'_>, public_url: &str) -> rusqlite::Result<Request> {
    let id: String = row.get("id")?;
    let status: String = row.get("status")?;
    let token_hash: Vec<u8> = row.get("token_hash")?;
    let expires_at: String = row.get("expires_at")?;
    let expires = humantime::parse_rfc3339(&expires_at).map_err(|e| bad(e.to_string()))?;
    let payload: Option<String> = row.get("decision_payload")?;
    let signature: Option<String> = row.get("decision_signature")?;
    let view = RequestView {
        url: format!("{public_url}/r/{id}"),
        status: from_json::<Status>(&format!("\"{status}\""))?,
        version: row.get::<_, i64>("version")? as u64,
        requester: from_json(&row.get::<_, String>("requester")?)?,
        argv: from_json(&row.get::<_, String>("argv")?)?,
        cwd: row.get("cwd")?,
        action_digest: row.get("action_digest")?,
        rules: from_json(&row.get::<_, String>("rules")?)?,
        rule_reason: row.get("rule_reason")?,
        policy_version: row
            .get::<_, Option<String>>("policy_version")?
            .unwrap_or_default(),
        ci_identity: row
            .get::<_, Option<String>>("ci_identity")?
            .map(|text| from_json(&text))
            .transpose()?,
        reason: row.get("reason")?,
        approvers: from_json(&row.get::<_, String>("approvers")?)?,
        quorum: row.get("quorum")?,
        break_glass: row.get("break_glass")?,
        created_at: row.get("created_at")?,
        expires_at,
        votes: Vec::new(),
        decision: payload
            .zip(signature)
            .map(|(payload, signature)| SignedDecision { payload, signature }),
        claimed: row.get("claimed")?,
        id,
    };
    Ok(Request {
        view,
        token_hash: token_hash
            .try_into()
            .map_err(|_| bad("token hash".into()))?,
        requester_people: people(row.get("requester_person")?)?,
        expires,
    })
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| bad(e.to_string()))
}

fn bad(detail: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("damaged request row: {detail}").into(),
    )
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The `requester_person` column: a JSON array of person names; a store written
/// before requesters could be several people holds one bare name (or NULL).
/// A damaged array is an error, never an empty set: that would let the
/// requester approve.
fn people(column: Option<String>) -> rusqlite::Result<std::collections::BTreeSet<String>> {
    match column {
        None => Ok(Default::default()),
        Some(text) if text.starts_with('[') => from_json(&text),
        Some(name) => Ok([name].into()),
    }
}

impl SqliteStore {
    /// Record a published version awaiting its approval request's decision.
    pub fn add_policy(
        &self,
        version: &str,
        text: &str,
        published_by: &str,
        published_at: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO policies (version, text, published_by, published_at, request_id, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
                params![version, text, published_by, published_at, request_id],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Settle the version published with `request_id`: it comes into force (the
    /// active one is superseded) or is refused. Returns it when it was pending.
    pub fn settle_policy(
        &mut self,
        request_id: &str,
        approved: bool,
        approved_by: &[String],
        at: &str,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError(e.to_string()))?;
        let pending: Option<i64> = tx
            .query_row(
                "SELECT seq FROM policies WHERE request_id = ?1 AND state = 'pending'",
                params![request_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| StoreError(e.to_string()))?;
        let Some(seq) = pending else {
            return Ok(None);
        };
        let state = if approved { "active" } else { "refused" };
        if approved {
            tx.execute(
                "UPDATE policies SET state = 'superseded' WHERE state = 'active'",
                [],
            )
            .map_err(|e| StoreError(e.to_string()))?;
        }
        tx.execute(
            "UPDATE policies SET state = ?1, decided_at = ?2, approved_by = ?3 WHERE seq = ?4",
            params![state, at, json(&approved_by), seq],
        )
        .map_err(|e| StoreError(e.to_string()))?;
        tx.commit().map_err(|e| StoreError(e.to_string()))?;
        Ok(self.policies()?.into_iter().find(|p| p.seq == seq))
    }

    /// Every published version, newest first.
    pub fn policies(&self) -> Result<Vec<PolicyVersion>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT seq, version, text, published_by, published_at, request_id, state,
                        decided_at, approved_by FROM policies ORDER BY seq DESC",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(PolicyVersion {
                    seq: row.get(0)?,
                    text: row.get(2)?,
                    view: PolicyVersionView {
                        version: row.get(1)?,
                        published_by: row.get(3)?,
                        published_at: row.get(4)?,
                        request_id: row.get(5)?,
                        state: row.get(6)?,
                        decided_at: row.get(7)?,
                        approved_by: from_json(&row.get::<_, String>(8)?)?,
                    },
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }
}
