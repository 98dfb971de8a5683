//! The dashboard's index and reads on the SQLite store (`postgres` keeps the
//! same tables in PostgreSQL; `plan` writes the history query for both).
//!
//! History is filtered over up to millions of requests, so every filter is an
//! index range, never a scan of JSON. Each request gets an order key, `ord`:
//! its creation time in milliseconds times 1024 plus the low bits of its row
//! id, so keys are unique and sort as the requests were created. Three tables
//! hold it:
//! - `dashboard_facets` (facet, value, ord, request_id): one row per value of
//!   the requester's user and host, agent, CI repository, each rule, the
//!   status, break-glass, every person involved (the requester's people and
//!   each voter) and every viewer (the approvers and the requester's people:
//!   what an approver may see). A host the broker marked "(unverified)" is
//!   found by its name. The primary key is the index.
//! - `dashboard_commands` (ord, request_id, command): every request newest
//!   first, with its redacted command as one line.
//! - `dashboard_text`: an FTS5 index of those commands with the trigram
//!   tokenizer, so a search finds any substring of three or more characters
//!   ("prod-db", "--force"), case-insensitive, as `LIKE '%…%'` would.
//!
//! A page walks the smallest range (the rarest facet, a rare search's matches,
//! or every request) newest first and checks the other conditions row by row:
//! facets by key, a common search on the row's command. It stops at the
//! page's last row, so its cost follows the rows it shows, not the store's size.
//!
//! SQLite triggers on `requests` and `votes` keep the index current, so the
//! broker's writer knows nothing of the dashboard; a store written before the
//! dashboard existed is indexed once when it is opened. This connection only
//! reads the broker's own tables; it never writes a request, a vote or a
//! ledger record.

use super::plan::{COUNT_CAP, Dialect, Param, needs_sizes, phrase, plan};
use super::{LedgerRecord, Query};
use crate::server::rules::Request;
use crate::server::store::read_request as read_request_row;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value};
use std::path::Path;

/// The order key of row `R` (`new`, `old`, or a table alias).
const ORD: &str = "((CAST(strftime('%s', substr(R.created_at, 1, 19)) AS INTEGER) * 1000 \
    + CAST(substr(R.created_at, 21, 3) AS INTEGER)) * 1024 + (R.rowid % 1024))";

/// The facet rows of request row `R`, as (facet, value).
const FACETS_OF: &str = "
            SELECT 'status' AS facet, R.status AS value
            UNION ALL SELECT 'user', json_extract(R.requester, '$.user')
            UNION ALL SELECT 'host', replace(json_extract(R.requester, '$.host'), ' (unverified)', '')
            UNION ALL SELECT 'agent', json_extract(R.requester, '$.agent.name')
            UNION ALL SELECT 'repo', json_extract(R.requester, '$.ci.repository')
            UNION ALL SELECT 'break_glass', CASE WHEN R.break_glass THEN 'yes' END
            UNION ALL SELECT 'rule', value FROM json_each(R.rules)
            UNION ALL SELECT 'viewer', value FROM json_each(R.approvers)
            UNION ALL SELECT f.facet, p.value FROM json_each(
                CASE WHEN json_valid(R.requester_person) THEN R.requester_person
                     ELSE json_array(R.requester_person) END) AS p,
                (SELECT 'viewer' AS facet UNION ALL SELECT 'person') AS f";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dashboard_facets (
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    ord INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (facet, value, ord)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dashboard_commands (
    ord INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    command TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS dashboard_text USING fts5(command,
    content = 'dashboard_commands', content_rowid = 'ord', tokenize = 'trigram');
CREATE TRIGGER IF NOT EXISTS dashboard_request_added AFTER INSERT ON requests BEGIN
    INSERT OR IGNORE INTO dashboard_facets (facet, value, ord, request_id)
        SELECT facet, value, ORD(new), new.id FROM (FACETS(new)) WHERE value IS NOT NULL;
    INSERT OR IGNORE INTO dashboard_commands (ord, request_id, command)
        SELECT ORD(new), new.id, group_concat(value, ' ') FROM json_each(new.argv);
    INSERT INTO dashboard_text (rowid, command)
        SELECT ord, command FROM dashboard_commands WHERE ord = ORD(new);
END;
CREATE TRIGGER IF NOT EXISTS dashboard_status_changed AFTER UPDATE OF status ON requests
WHEN old.status IS NOT new.status BEGIN
    DELETE FROM dashboard_facets WHERE facet = 'status' AND value = old.status AND ord = ORD(old);
    INSERT OR IGNORE INTO dashboard_facets VALUES ('status', new.status, ORD(new), new.id);
END;
CREATE TRIGGER IF NOT EXISTS dashboard_vote_added AFTER INSERT ON votes BEGIN
    INSERT OR IGNORE INTO dashboard_facets (facet, value, ord, request_id)
        SELECT 'person', new.person, ORD(r), r.id FROM requests r WHERE r.id = new.request_id;
END;
";

/// Index the requests stored before the triggers existed (once: the marker in
/// `meta` says it is done).
const BACKFILL: &str = "
INSERT OR IGNORE INTO dashboard_facets (facet, value, ord, request_id)
    SELECT facet, value, ord, id FROM (
        SELECT 'status' AS facet, r.status AS value, ORD(r) AS ord, r.id AS id FROM requests r
        UNION ALL SELECT 'user', json_extract(r.requester, '$.user'), ORD(r), r.id FROM requests r
        UNION ALL SELECT 'host', replace(json_extract(r.requester, '$.host'), ' (unverified)', ''),
            ORD(r), r.id FROM requests r
        UNION ALL SELECT 'agent', json_extract(r.requester, '$.agent.name'), ORD(r), r.id FROM requests r
        UNION ALL SELECT 'repo', json_extract(r.requester, '$.ci.repository'), ORD(r), r.id FROM requests r
        UNION ALL SELECT 'break_glass', CASE WHEN r.break_glass THEN 'yes' END, ORD(r), r.id
            FROM requests r
        UNION ALL SELECT 'rule', j.value, ORD(r), r.id FROM requests r, json_each(r.rules) AS j
        UNION ALL SELECT 'viewer', j.value, ORD(r), r.id FROM requests r, json_each(r.approvers) AS j
        UNION ALL SELECT f.facet, j.value, ORD(r), r.id FROM requests r, json_each(
            CASE WHEN json_valid(r.requester_person) THEN r.requester_person
                 ELSE json_array(r.requester_person) END) AS j,
            (SELECT 'viewer' AS facet UNION ALL SELECT 'person') AS f
        UNION ALL SELECT 'person', v.person, ORD(r), r.id FROM votes v JOIN requests r ON r.id = v.request_id
    ) WHERE value IS NOT NULL;
INSERT OR IGNORE INTO dashboard_commands (ord, request_id, command)
    SELECT ORD(r), r.id, (SELECT group_concat(value, ' ') FROM json_each(r.argv)) FROM requests r;
INSERT INTO dashboard_text (dashboard_text) VALUES ('rebuild');
INSERT INTO meta (key, value) VALUES ('dashboard_index', 1);
";

/// `sql` with `ORD(x)` and `FACETS(x)` written out for row `x`.
fn expand(sql: &str) -> String {
    let mut out = sql.to_string();
    for row in ["new", "old", "r"] {
        out = out
            .replace(
                &format!("ORD({row})"),
                &ORD.replace("R.", &format!("{row}.")),
            )
            .replace(
                &format!("FACETS({row})"),
                &FACETS_OF.replace("R.", &format!("{row}.")),
            );
    }
    out
}

/// A read connection on the broker's store, with the dashboard's index.
#[derive(Debug)]
pub struct SqliteIndex {
    conn: Connection,
    public_url: String,
}

fn fail(e: rusqlite::Error) -> String {
    format!("dashboard index: {e}")
}

impl SqliteIndex {
    /// The connection to the broker's store, for read-only aggregates.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Open `path` (the broker's store, already created), adding the index
    /// and its triggers, and indexing what was stored before them.
    pub fn open(path: &Path, public_url: &str) -> Result<SqliteIndex, String> {
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.execute_batch("BEGIN IMMEDIATE;")
            .and_then(|()| conn.execute_batch(&expand(SCHEMA)))
            .map_err(fail)?;
        let done: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'dashboard_index'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?;
        if done.is_none() {
            conn.execute_batch(&expand(BACKFILL)).map_err(fail)?;
        }
        conn.execute_batch("COMMIT;").map_err(fail)?;
        Ok(SqliteIndex {
            conn,
            public_url: public_url.to_string(),
        })
    }

    /// Up to `limit` request ids with their order keys matching `query`,
    /// newest first (oldest first when `ascending`).
    pub fn ids(&self, query: &Query, limit: usize) -> Result<Vec<(String, i64)>, String> {
        let mut sizes = Vec::with_capacity(query.facets.len());
        if needs_sizes(query) {
            for (facet, value) in &query.facets {
                sizes.push(self.size(facet, value)?);
            }
        }
        let text_size = match &query.text {
            Some(text) => self.text_size(&phrase(text))?,
            None => 0,
        };
        let plan = plan(Dialect::Sqlite, query, limit, &sizes, text_size)?;
        let values = plan.params.into_iter().map(|param| match param {
            Param::Text(text) => Value::Text(text),
            Param::Integer(n) => Value::Integer(n),
        });
        let mut statement = self.conn.prepare_cached(&plan.sql).map_err(fail)?;
        let rows = statement
            .query_map(params_from_iter(values), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// How many requests carry `facet = value`, counted up to [`COUNT_CAP`]:
    /// enough to choose which range to walk.
    fn size(&self, facet: &str, value: &str) -> Result<i64, String> {
        self.conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM dashboard_facets
                 WHERE facet = ?1 AND value = ?2 LIMIT ?3)",
            )
            .and_then(|mut s| {
                s.query_row(rusqlite::params![facet, value, COUNT_CAP], |row| row.get(0))
            })
            .map_err(fail)
    }

    /// How many commands contain the search phrase, counted up to [`COUNT_CAP`].
    fn text_size(&self, phrase: &str) -> Result<i64, String> {
        self.conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM dashboard_text
                 WHERE dashboard_text MATCH ?1 LIMIT ?2)",
            )
            .and_then(|mut s| s.query_row(rusqlite::params![phrase, COUNT_CAP], |row| row.get(0)))
            .map_err(fail)
    }

    /// The requests with these ids, in this order, with their votes.
    pub fn requests(&self, ids: &[(String, i64)]) -> Result<Vec<Request>, String> {
        let mut out = Vec::with_capacity(ids.len());
        for (id, _) in ids {
            if let Some(request) = self.request(id)? {
                out.push(request);
            }
        }
        Ok(out)
    }

    /// One request with its votes.
    pub fn request(&self, id: &str) -> Result<Option<Request>, String> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT * FROM requests WHERE id = ?1")
            .map_err(fail)?;
        let found = statement
            .query_row([id], |row| read_request_row(row, &self.public_url))
            .optional()
            .map_err(fail)?;
        let Some(mut request) = found else {
            return Ok(None);
        };
        request.view.votes = crate::server::store::read_votes(&self.conn, id).map_err(fail)?;
        Ok(Some(request))
    }

    /// The forwarded audit records about request `id`, by installation and seq.
    pub fn records(&self, id: &str) -> Result<Vec<LedgerRecord>, String> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT installation, seq, time, kind, decision, body, hash, received_at
                 FROM ledger_records WHERE request_id = ?1 ORDER BY installation, seq",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map([id], |row| {
                Ok(LedgerRecord {
                    installation: row.get(0)?,
                    seq: row.get::<_, i64>(1)? as u64,
                    time: row.get(2)?,
                    kind: row.get(3)?,
                    decision: row.get(4)?,
                    body: row.get(5)?,
                    hash: row.get(6)?,
                    received_at: row.get(7)?,
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }
}
