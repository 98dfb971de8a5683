//! Reading records back for `gate audit show` and `export`: filter, newest-N limit,
//! and what `--since` means. Reads only; it does not verify signatures (that is
//! `verify`).

use super::record::{Record, parse_body};
use super::store::rfc3339;
use super::{AuditError, AuditLog, RecordKind};
use rusqlite::types::ValueRef;
use std::time::{Duration, SystemTime};

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

/// The newest records that match, and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Newest {
    /// Newest first, at most the filter's limit.
    pub records: Vec<Record>,
    /// Every record that matched, the ones past the limit included.
    pub matched: usize,
}

const SELECT: &str = "SELECT seq, body, signature, hash FROM records
    WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR kind = ?2)
      AND (?3 IS NULL OR decision = ?3) AND (?4 IS NULL OR user = ?4)
    ORDER BY seq DESC";

impl AuditLog {
    /// Records matching `filter`, oldest first.
    pub fn records(&self, filter: &Filter) -> Result<Vec<Record>, AuditError> {
        let mut found = self.scan(filter, false)?.records;
        found.reverse();
        Ok(found)
    }

    /// Records matching `filter`, newest first, with the number that matched
    /// (for "20 of 1234 shown").
    pub fn newest(&self, filter: &Filter) -> Result<Newest, AuditError> {
        self.scan(filter, true)
    }

    /// Walk the matching rows newest first; with `count_all`, past the limit too.
    fn scan(&self, filter: &Filter, count_all: bool) -> Result<Newest, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        let mut stmt = self.conn.prepare_cached(SELECT).map_err(fail)?;
        let kind = filter.kind.map(RecordKind::as_str);
        let since = filter.since.map(rfc3339);
        let mut rows = stmt
            .query((since, kind, &filter.decision, &filter.user))
            .map_err(fail)?;
        let mut found = Newest {
            records: Vec::new(),
            matched: 0,
        };
        while let Some(row) = rows.next().map_err(fail)? {
            let full = filter
                .limit
                .is_some_and(|limit| found.records.len() >= limit);
            if full && !count_all {
                break;
            }
            if full && filter.command.is_none() {
                // Counting only: no need to parse the body.
                found.matched += 1;
                continue;
            }
            let record = self.read_row(row)?;
            if matches_command(&record, filter.command.as_deref()) {
                found.matched += 1;
                if !full {
                    found.records.push(record);
                }
            }
        }
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

/// The forms `--since` takes, for the message when a value is none of them.
pub const SINCE_FORMS: &str = "a duration back from now (90m, 2d, 1w), a date (2026-11-01, \
    midnight UTC) or an instant (2026-11-01T09:30:00Z, 2026-11-01T10:30:00+01:00)";

/// `--since TEXT` as a point in time: a duration back from `now`, a date (midnight
/// UTC, as the log's times are UTC) or an RFC 3339 instant. `None` for anything else.
pub fn parse_since(text: &str, now: SystemTime) -> Option<SystemTime> {
    let text = text.trim();
    if let Ok(ago) = humantime::parse_duration(text) {
        return Some(now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    if text.len() == 10 {
        return humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok();
    }
    let (instant, offset) = split_offset(text)?;
    let utc = humantime::parse_rfc3339_weak(instant).ok()?;
    // 10:30+01:00 is 09:30 UTC: subtract an eastern offset, add a western one.
    if offset.is_negative() {
        utc.checked_add(Duration::from_secs(offset.unsigned_abs()))
    } else {
        utc.checked_sub(Duration::from_secs(offset.unsigned_abs()))
    }
}

/// An instant without its UTC offset, and the offset in seconds (`Z` is 0).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(instant) = text.strip_suffix(['Z', 'z']) {
        return Some((instant, 0));
    }
    let sign_at = text.len().checked_sub(6)?;
    let (instant, offset) = text.split_at_checked(sign_at)?;
    let sign = match offset.as_bytes() {
        [b'+', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => 1,
        [b'-', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => -1,
        // No offset: the log's own zone, UTC.
        _ => return Some((text, 0)),
    };
    let hours: i64 = offset[1..3].parse().ok()?;
    let minutes: i64 = offset[4..6].parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((instant, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn since_takes_durations_dates_and_instants() {
        let now = at("2026-11-30T12:00:00Z");
        let cases = [
            ("2d", "2026-11-28T12:00:00Z"),
            ("90m", "2026-11-30T10:30:00Z"),
            ("1w", "2026-11-23T12:00:00Z"),
            ("1h 30m", "2026-11-30T10:30:00Z"),
            ("2026-11-01", "2026-11-01T00:00:00Z"),
            ("2026-11-01T09:30:00Z", "2026-11-01T09:30:00Z"),
            ("2026-11-01T09:30:00.250Z", "2026-11-01T09:30:00.250Z"),
            ("2026-11-01 09:30:00", "2026-11-01T09:30:00Z"),
            ("2026-11-01T10:30:00+01:00", "2026-11-01T09:30:00Z"),
            ("2026-11-01T04:30:00-05:00", "2026-11-01T09:30:00Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_since(text, now), Some(at(expected)), "{text}");
        }
    }

    #[test]
    fn since_refuses_what_is_no_time() {
        let now = at("2026-11-30T12:00:00Z");
        for text in [
            "yesterday",
            "",
            "2d ago",
            "2026-13-01",
            "2026-11-01T09:30:00+25:00",
            "01/11/2026",
        ] {
            assert_eq!(parse_since(text, now), None, "{text:?}");
        }
    }
}
