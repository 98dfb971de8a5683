//! The dashboard's search index over the broker store, and its read queries.
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

/// Counting a facet or a search stops here: past it, a range is "large" and
/// which large one is walked matters little.
const COUNT_CAP: i64 = 5000;

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
    /// The connection to the broker's store, for read-only aggregates.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Open `path` (the broker's store, already created), adding the index
    /// and its triggers, and indexing what was stored before them.
    pub fn open(path: &Path, public_url: &str) -> Result<Index, String> {
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
        Ok(Index {
            conn,
            public_url: public_url.to_string(),
        })
    }

    /// Up to `limit` request ids with their order keys matching `query`,
    /// newest first (oldest first when `ascending`).
    pub fn ids(&self, query: &Query, limit: usize) -> Result<Vec<(String, i64)>, String> {
        let (sql, values) = self.plan(query, limit)?;
        let mut statement = self.conn.prepare_cached(&sql).map_err(fail)?;
        let rows = statement
            .query_map(params_from_iter(values), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// The SQL for `query`: walk the smallest range newest first (the rarest
    /// facet, a rare search's matches, else every request) and check the other
    /// conditions on each row it meets.
    fn plan(&self, query: &Query, limit: usize) -> Result<(String, Vec<Value>), String> {
        let mut sized = Vec::with_capacity(query.facets.len());
        for (facet, value) in &query.facets {
            let size = match query.facets.len() + usize::from(query.text.is_some()) {
                1 => 0,
                _ => self.size(facet, value)?,
            };
            sized.push((size, *facet, value.clone()));
        }
        sized.sort_by_key(|(size, _, _)| *size);
        let phrase = query.text.as_deref().map(phrase);
        let text_size = match &phrase {
            Some(phrase) => self.text_size(phrase)?,
            None => i64::MAX,
        };
        let text_drives = text_size < COUNT_CAP && sized.first().is_none_or(|f| text_size < f.0);
        let mut values: Vec<Value> = Vec::new();
        let mut wheres: Vec<String> = Vec::new();
        let mut facets = sized.into_iter().map(|(_, f, v)| (f, v));
        let (from, key, id) = if text_drives {
            wheres.push("dashboard_text MATCH ?".into());
            values.push(Value::Text(phrase.clone().unwrap_or_default()));
            (
                "dashboard_text d JOIN dashboard_commands c ON c.ord = d.rowid",
                "d.rowid",
                "c.request_id",
            )
        } else if let Some((facet, value)) = facets.next() {
            wheres.push("d.facet = ? AND d.value = ?".into());
            values.push(Value::Text(facet.to_string()));
            values.push(Value::Text(value));
            ("dashboard_facets d", "d.ord", "d.request_id")
        } else {
            ("dashboard_commands d", "d.ord", "d.request_id")
        };
        if let Some(from) = &query.from {
            wheres.push(format!("{key} >= ?"));
            values.push(Value::Integer(order_key(from)?));
        }
        if let Some(until) = &query.until {
            wheres.push(format!("{key} < ?"));
            values.push(Value::Integer(order_key(until)?));
        }
        if let Some(before) = query.before {
            let op = if query.ascending { ">" } else { "<" };
            wheres.push(format!("{key} {op} ?"));
            values.push(Value::Integer(before));
        }
        for (facet, value) in facets {
            wheres.push(format!(
                "EXISTS (SELECT 1 FROM dashboard_facets g \
                 WHERE g.facet = ? AND g.value = ? AND g.ord = {key})"
            ));
            values.push(Value::Text(facet.to_string()));
            values.push(Value::Text(value));
        }
        if let (Some(text), false) = (&query.text, text_drives) {
            // The trigram index's match, on this row's command (SQLite's lower()
            // folds ASCII only, so the search is folded the same way).
            wheres.push(format!(
                "instr(lower((SELECT t.command FROM dashboard_commands t WHERE t.ord = {key})), ?) > 0"
            ));
            values.push(Value::Text(text.to_ascii_lowercase()));
        }
        let filter = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        let direction = if query.ascending { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {id}, {key} FROM {from} {filter} ORDER BY {key} {direction} LIMIT {limit}"
        );
        Ok((sql, values))
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

/// The order key at which time `at` (RFC 3339) starts.
fn order_key(at: &str) -> Result<i64, String> {
    let time = humantime::parse_rfc3339_weak(at).map_err(|e| format!("{at}: {e}"))?;
    let millis = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis();
    Ok(millis as i64 * 1024)
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
    use crate::server::store::SqliteStore as Store;

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
        // A facet rarer than the search drives; the search is checked on each row.
        let denied = Query {
            facets: vec![("status", "denied".into())],
            text: Some("Prod-DB".into()),
            ..Query::default()
        };
        assert_eq!(ids(&index, &denied), ["c"]);
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
        let c = index.ids(&Query::default(), 100).unwrap()[3].1;
        let page = Query {
            before: Some(c),
            ..Query::default()
        };
        assert_eq!(ids(&index, &page), ["b", "a"]);
        let request = index.request("c").unwrap().unwrap();
        assert_eq!(request.view.argv, ["rm", "-r", "PROD-DB"]);
    }
}
