//! Reading records back for `gate audit show` and `export`: filter, newest-N limit,
//! oldest first. Reads only; it does not verify signatures (that is `verify`).

use super::record::{Record, parse_body};
use super::store::rfc3339;
use super::{AuditError, AuditLog, RecordKind};
use rusqlite::types::ValueRef;
use std::time::SystemTime;

/// Which records to read. Every set field must match; `limit` keeps the newest N.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub limit: Option<usize>,
    /// Records at or after this time.
    pub since: Option<SystemTime>,
    pub kind: Option<RecordKind>,
    /// Exact decision, e.g. "deny" or "exited".
    pub decision: Option<String>,
    /// Exact requester user name.
    pub user: Option<String>,
    /// Substring of the (redacted) command line, arguments joined by spaces.
    pub command: Option<String>,
}

const SELECT: &str = "SELECT seq, body, signature, hash FROM records
    WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR kind = ?2)
      AND (?3 IS NULL OR decision = ?3) AND (?4 IS NULL OR user = ?4)
    ORDER BY seq DESC";

impl AuditLog {
    /// Records matching `filter`, oldest first.
    pub fn records(&self, filter: &Filter) -> Result<Vec<Record>, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        let mut stmt = self.conn.prepare_cached(SELECT).map_err(fail)?;
        let kind = filter.kind.map(RecordKind::as_str);
        let since = filter.since.map(rfc3339);
        let mut rows = stmt
            .query((since, kind, &filter.decision, &filter.user))
            .map_err(fail)?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            if filter.limit.is_some_and(|limit| found.len() >= limit) {
                break;
            }
            let record = self.read_row(row)?;
            if matches_command(&record, filter.command.as_deref()) {
                found.push(record);
            }
        }
        found.reverse();
        Ok(found)
    }

    fn read_row(&self, row: &rusqlite::Row<'_>) -> Result<Record, AuditError> {
        let seq: i64 = row.get(0).unwrap_or(-1);
        let bad = |detail: String| AuditError::Corrupt {
            path: self.path.clone(),
            detail: format!("record {seq}: {detail}; run `gate audit verify`"),
        };
        let body = row
            .get_ref(1)
            .ok()
            .and_then(as_bytes)
            .ok_or_else(|| bad("signed body missing".into()))?;
        let text = |index| {
            row.get::<_, String>(index)
                .map_err(|err| bad(err.to_string()))
        };
        Ok(Record {
            seq: u64::try_from(seq).map_err(|_| bad("bad sequence number".into()))?,
            body: parse_body(body).map_err(bad)?,
            signature: text(2)?,
            hash: text(3)?,
        })
    }
}

/// A BLOB or TEXT cell as bytes (a hand-edited row may hold either).
pub(super) fn as_bytes(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes),
        _ => None,
    }
}

fn matches_command(record: &Record, needle: Option<&str>) -> bool {
    needle.is_none_or(|needle| record.body.entry.command.join(" ").contains(needle))
}
