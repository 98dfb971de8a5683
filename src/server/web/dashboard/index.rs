//! The dashboard's search index over the broker store, and its read queries.
//!
//! History is filtered over up to millions of requests, so every filter is an
//! index range, never a scan of JSON. `dashboard_facets` holds one row per
//! (facet, value, created_at, request_id): the requester's user and host, the
//! agent, the CI repository, each rule, the status, break-glass, every person
//! involved (the requester's people and each voter) and every viewer (the
//! approvers and the requester's people, which is what an approver may see); a
//! host the broker marked "(unverified)" is found by its name. Its
//! primary key is the index: a filtered page walks the rarest facet's range
//! newest first and checks the others by key. The redacted command is in an FTS5
//! table with the trigram tokenizer, so a search finds any substring of three or
//! more characters ("prod-db", "--force") as `LIKE '%…%'` would, from an index.
//!
//! SQLite triggers on `requests` and `votes` keep both current, so the broker's
//! writer knows nothing of the dashboard; a store written before the dashboard
//! existed is indexed once when it is opened. This connection only reads the
//! broker's own tables; it never writes a request, a vote or a ledger record.

use crate::server::rules::Request;
use crate::server::store::read_request as read_request_row;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dashboard_facets (
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (facet, value, created_at, request_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_created ON requests(created_at, id);
CREATE VIRTUAL TABLE IF NOT EXISTS dashboard_text USING fts5(command, content='', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS dashboard_request_added AFTER INSERT ON requests BEGIN
    INSERT OR IGNORE INTO dashboard_facets (facet, value, created_at, request_id)
        SELECT facet, value, new.created_at, new.id FROM (
            SELECT 'status' AS facet, new.status AS value
            UNION ALL SELECT 'user', json_extract(new.requester, '$.user')
            UNION ALL SELECT 'host', replace(json_extract(new.requester, '$.host'), ' (unverified)', '')
            UNION ALL SELECT 'agent', json_extract(new.requester, '$.agent.name')
            UNION ALL SELECT 'repo', json_extract(new.requester, '$.ci.repository')
            UNION ALL SELECT 'break_glass', CASE WHEN new.break_glass THEN 'yes' END
            UNION ALL SELECT 'rule', value FROM json_each(new.rules)
            UNION ALL SELECT 'viewer', value FROM json_each(new.approvers)
            UNION ALL SELECT f.facet, p.value FROM json_each(
                CASE WHEN json_valid(new.requester_person) THEN new.requester_person
                     ELSE json_array(new.requester_person) END) AS p,
                (SELECT 'viewer' AS facet UNION ALL SELECT 'person') AS f
        ) WHERE value IS NOT NULL;
    INSERT INTO dashboard_text (rowid, command)
        SELECT new.rowid, group_concat(value, ' ') FROM json_each(new.argv);
END;
CREATE TRIGGER IF NOT EXISTS dashboard_status_changed AFTER UPDATE OF status ON requests
WHEN old.status IS NOT new.status BEGIN
    DELETE FROM dashboard_facets WHERE facet = 'status' AND value = old.status
        AND created_at = old.created_at AND request_id = old.id;
    INSERT OR IGNORE INTO dashboard_facets VALUES ('status', new.status, new.created_at, new.id);
END;
CREATE TRIGGER IF NOT EXISTS dashboard_vote_added AFTER INSERT ON votes BEGIN
    INSERT OR IGNORE INTO dashboard_facets (facet, value, created_at, request_id)
        SELECT 'person', new.person, created_at, id FROM requests WHERE id = new.request_id;
END;
";

/// Index the requests stored before the triggers existed (once: the marker in
/// `meta` says it is done).
const BACKFILL: &str = "
INSERT OR IGNORE INTO dashboard_facets (facet, value, created_at, request_id)
    SELECT facet, value, created_at, id FROM (
        SELECT 'status' AS facet, status AS value, created_at, id FROM requests
        UNION ALL SELECT 'user', json_extract(requester, '$.user'), created_at, id FROM requests
        UNION ALL SELECT 'host', replace(json_extract(requester, '$.host'), ' (unverified)', ''), created_at, id FROM requests
        UNION ALL SELECT 'agent', json_extract(requester, '$.agent.name'), created_at, id FROM requests
        UNION ALL SELECT 'repo', json_extract(requester, '$.ci.repository'), created_at, id FROM requests
        UNION ALL SELECT 'break_glass', CASE WHEN break_glass THEN 'yes' END, created_at, id FROM requests
        UNION ALL SELECT 'rule', j.value, r.created_at, r.id FROM requests r, json_each(r.rules) AS j
        UNION ALL SELECT 'viewer', j.value, r.created_at, r.id FROM requests r, json_each(r.approvers) AS j
        UNION ALL SELECT f.facet, j.value, r.created_at, r.id FROM requests r, json_each(
            CASE WHEN json_valid(r.requester_person) THEN r.requester_person
                 ELSE json_array(r.requester_person) END) AS j,
            (SELECT 'viewer' AS facet UNION ALL SELECT 'person') AS f
        UNION ALL SELECT 'person', v.person, r.created_at, r.id FROM votes v JOIN requests r ON r.id = v.request_id
    ) WHERE value IS NOT NULL;
INSERT INTO dashboard_text (rowid, command)
    SELECT rowid, (SELECT group_concat(value, ' ') FROM json_each(requests.argv)) FROM requests;
INSERT INTO meta (key, value) VALUES ('dashboard_index', 1);
";

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
    /// Inclusive lower bound on created_at (RFC 3339 or a date).
    pub from: Option<String>,
    /// Exclusive upper bound on created_at.
    pub until: Option<String>,
    /// Substring of the redacted command.
    pub text: Option<String>,
    /// Only requests older than this (created_at, id): the next page.
    pub before: Option<(String, String)>,
    /// Oldest first (the evidence report) instead of newest first.
    pub ascending: bool,
}

/// A read connection on the broker's store, with the dashboard's index.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    public_url: String,
}

fn fail(e: rusqlite::Error) -> String {
    format!("dashboard index: {e}")
}

impl Index {
    /// Open `path` (the broker's store, already created), adding the index
    /// and its triggers, and indexing what was stored before them.
    pub fn open(path: &Path, public_url: &str) -> Result<Index, String> {
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.execute_batch("BEGIN IMMEDIATE;")
            .and_then(|()| conn.execute_batch(SCHEMA))
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
            conn.execute_batch(BACKFILL).map_err(fail)?;
        }
        conn.execute_batch("COMMIT;").map_err(fail)?;
        Ok(Index {
            conn,
            public_url: public_url.to_string(),
        })
    }

    /// Up to `limit` request ids with their creation times matching `query`,
    /// newest first (oldest first when `ascending`).
    pub fn ids(&self, query: &Query, limit: usize) -> Result<Vec<(String, String)>, String> {
        let (sql, values) = self.plan(query, limit)?;
        let mut statement = self.conn.prepare_cached(&sql).map_err(fail)?;
        let rows = statement
            .query_map(params_from_iter(values), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// The SQL for `query`: walk the rarest facet's range (or the requests by
    /// time when no facet is given), check the rest by key.
    fn plan(&self, query: &Query, limit: usize) -> Result<(String, Vec<Value>), String> {
        let mut facets = query.facets.clone();
        let mut sizes = Vec::with_capacity(facets.len());
        for (facet, value) in &facets {
            sizes.push(self.size(facet, value)?);
        }
        let mut order: Vec<usize> = (0..facets.len()).collect();
        order.sort_by_key(|&at| sizes[at]);
        facets = order.into_iter().map(|at| facets[at].clone()).collect();
        let mut values: Vec<Value> = Vec::new();
        let mut wheres: Vec<String> = Vec::new();
        let (table, time, id) = match facets.first() {
            Some((facet, value)) => {
                wheres.push("d.facet = ? AND d.value = ?".into());
                values.push(Value::Text(facet.to_string()));
                values.push(Value::Text(value.clone()));
                ("dashboard_facets d", "d.created_at", "d.request_id")
            }
            None => ("requests d", "d.created_at", "d.id"),
        };
        if let Some(from) = &query.from {
            wheres.push(format!("{time} >= ?"));
            values.push(Value::Text(from.clone()));
        }
        if let Some(until) = &query.until {
            wheres.push(format!("{time} < ?"));
            values.push(Value::Text(until.clone()));
        }
        if let Some((at, before)) = &query.before {
            let op = if query.ascending { ">" } else { "<" };
            wheres.push(format!("({time}, {id}) {op} (?, ?)"));
            values.push(Value::Text(at.clone()));
            values.push(Value::Text(before.clone()));
        }
        for (facet, value) in facets.iter().skip(1) {
            wheres.push(format!(
                "EXISTS (SELECT 1 FROM dashboard_facets g WHERE g.facet = ? AND g.value = ? \
                 AND g.created_at = {time} AND g.request_id = {id})"
            ));
            values.push(Value::Text(facet.to_string()));
            values.push(Value::Text(value.clone()));
        }
        if let Some(text) = &query.text {
            wheres.push(format!(
                "{id} IN (SELECT r.id FROM requests r WHERE r.rowid IN \
                 (SELECT rowid FROM dashboard_text WHERE dashboard_text MATCH ?))"
            ));
            values.push(Value::Text(phrase(text)));
        }
        let filter = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {id}, {time} FROM {table} {filter} \
             ORDER BY {time} {direction}, {id} {direction} LIMIT {limit}"
        );
        Ok((sql, values))
    }

    /// How many requests carry `facet = value`, counted up to a cap: enough to
    /// choose which range to walk.
    fn size(&self, facet: &str, value: &str) -> Result<i64, String> {
        self.conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM dashboard_facets
                 WHERE facet = ?1 AND value = ?2 LIMIT 200000)",
            )
            .and_then(|mut s| s.query_row([facet, value], |row| row.get(0)))
            .map_err(fail)
    }

    /// The requests with these ids, in this order, with their votes.
    pub fn requests(&self, ids: &[(String, String)]) -> Result<Vec<Request>, String> {
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

/// A search as one FTS5 phrase: with the trigram tokenizer, the text as a
/// substring, case-insensitive; quotes inside are doubled, so nothing in it is
/// query syntax.
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    /// A store holding requests with the given (id, created_at, status, host,
    /// argv, approvers), written as the broker's own rows would be.
    fn store_with(rows: &[(&str, &str, &str, &str, &str, &str)]) -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.db");
        drop(Store::open(&path).unwrap());
        let index = Index::open(&path, "http://gate.test").unwrap();
        let conn = Connection::open(&path).unwrap();
        for (id, at, status, host, argv, approvers) in rows {
            conn.execute(
                "INSERT INTO requests (id, status, version, token_hash, claimed, requester,
                    requester_person, argv, cwd, action_digest, rules, rule_reason, approvers,
                    quorum, break_glass, created_at, expires_at)
                 VALUES (?1, 'pending', 1, zeroblob(32), 0, ?2, '[\"dave\"]', ?3, '/', 'ab',
                    '[\"prod\"]', '', ?4, 1, 0, ?5, ?5)",
                rusqlite::params![
                    id,
                    format!("{{\"user\":\"dave\",\"host\":\"{host}\",\"ci\":null,\"agent\":null}}"),
                    argv,
                    approvers,
                    at
                ],
            )
            .unwrap();
            conn.execute(
                "UPDATE requests SET status = ?2 WHERE id = ?1",
                [id, status],
            )
            .unwrap();
        }
        (dir, index)
    }

    fn ids(index: &Index, query: &Query) -> Vec<String> {
        index
            .ids(query, 100)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn facets_search_time_and_scope_select_exactly_the_matching_requests() {
        let (_dir, index) = store_with(&[
            (
                "a",
                "2026-10-31T23:59:59.999Z",
                "approved",
                "h1",
                r#"["kubectl","delete","ns","prod-db"]"#,
                r#"["alice"]"#,
            ),
            (
                "b",
                "2026-11-01T00:00:00.000Z",
                "approved",
                "h2",
                r#"["terraform","apply"]"#,
                r#"["alice"]"#,
            ),
            (
                "c",
                "2026-11-15T12:00:00.000Z",
                "denied",
                "h1",
                r#"["rm","-r","PROD-DB"]"#,
                r#"["bob"]"#,
            ),
            (
                "d",
                "2026-11-30T23:59:59.999Z",
                "approved",
                "h1",
                r#"["kubectl","apply"]"#,
                r#"["bob"]"#,
            ),
            (
                "e",
                "2026-12-01T00:00:00.000Z",
                "approved",
                "h1",
                r#"["kubectl","apply"]"#,
                r#"["bob"]"#,
            ),
            (
                "f",
                "2026-11-20T00:00:00.000Z",
                "timed_out",
                "h1",
                r#"["ls"]"#,
                r#"["alice"]"#,
            ),
        ]);
        let mut query = Query {
            facets: vec![("status", "approved".into())],
            from: Some("2026-11-01T00:00:00.000Z".into()),
            until: Some("2026-12-01T00:00:00.000Z".into()),
            ascending: true,
            ..Query::default()
        };
        assert_eq!(
            ids(&index, &query),
            ["b", "d"],
            "the period, inclusive of its edges"
        );
        query.facets.push(("host", "h1".into()));
        assert_eq!(ids(&index, &query), ["d"]);
        let search = Query {
            text: Some("prod-db".into()),
            ..Query::default()
        };
        assert_eq!(
            ids(&index, &search),
            ["c", "a"],
            "case-insensitive substring, newest first"
        );
        let scoped = Query {
            facets: vec![("viewer", "alice".into())],
            ..Query::default()
        };
        assert_eq!(ids(&index, &scoped), ["f", "b", "a"]);
        let requester = Query {
            facets: vec![("viewer", "dave".into()), ("status", "denied".into())],
            ..Query::default()
        };
        assert_eq!(
            ids(&index, &requester),
            ["c"],
            "the requester sees their own"
        );
        let page = Query {
            before: Some(("2026-11-15T12:00:00.000Z".into(), "c".into())),
            ..Query::default()
        };
        assert_eq!(ids(&index, &page), ["b", "a"]);
        let request = index.request("c").unwrap().unwrap();
        assert_eq!(request.view.argv, ["rm", "-r", "PROD-DB"]);
    }
}
