//! Verifying a whole log with only the public key: every signature, every stored
//! hash, the prev_hash chain, sequence contiguity from 1, and the denormalised
//! columns against the signed body. Stops at the first bad record.
//!
//! Reads only. Never re-serialises a body: it checks the stored bytes as they are.

use super::query::as_bytes;
use super::record::{GENESIS_PREV_HASH, RecordBody, parse_body, record_hash, unhex_signature};
use super::{AuditError, AuditLog};
use ed25519_dalek::{Signature, VerifyingKey};
use rusqlite::types::ValueRef;
use std::path::Path;

/// Optional anchors that detect truncation of the tail (see docs/audit-format.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// A record hash noted earlier (e.g. the head printed by a previous verify):
    /// it must still be in the chain.
    pub head: Option<String>,
    /// The log must hold at least this many records.
    pub min_records: Option<u64>,
}

/// What verification found. Tampering is reported here, not as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records that verified, from seq 1, before any problem.
    pub records: u64,
    /// The last good record's seq and hash: note it to anchor a later verify.
    pub head: Option<(u64, String)>,
    pub problem: Option<Problem>,
}

/// The first thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The first bad record, or `None` for a problem with the log as a whole.
    pub seq: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "record {seq}: {}", self.reason),
            None => write!(f, "log: {}", self.reason),
        }
    }
}

const SELECT_ALL: &str = "SELECT seq, time, kind, user, decision, body, signature, hash
    FROM records ORDER BY seq";

/// Verify the log at `path` against `key`.
pub fn verify(path: &Path, key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    verify_with(path, key, &Expect::default())
}

/// Verify, and also check the anchors in `expect`.
pub fn verify_with(
    path: &Path,
    key: &VerifyingKey,
    expect: &Expect,
) -> Result<VerifyReport, AuditError> {
    let log = AuditLog::open_read_only(path)?;
    let fail = |err| AuditError::sqlite(path, err);
    let mut stmt = log.conn.prepare(SELECT_ALL).map_err(fail)?;
    let mut rows = stmt.query([]).map_err(fail)?;
    let mut report = VerifyReport {
        records: 0,
        head: None,
        problem: None,
    };
    let mut head_seen = false;
    while let Some(row) = rows.next().map_err(fail)? {
        let seq: i64 = row.get(0).map_err(fail)?;
        let (next, prev_hash) = match &report.head {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, GENESIS_PREV_HASH),
        };
        match check_row(row, seq, next, prev_hash, key) {
            Ok(hash) => {
                head_seen |= expect.head.as_deref() == Some(hash.as_str());
                report.records += 1;
                report.head = Some((next, hash));
            }
            Err(reason) => {
                report.problem = Some(Problem {
                    seq: u64::try_from(seq).ok(),
                    reason,
                });
                return Ok(report);
            }
        }
    }
    report.problem = check_anchors(&report, expect, head_seen);
    Ok(report)
}

/// Check one row; on success return its (verified) hash.
fn check_row(
    row: &rusqlite::Row<'_>,
    seq: i64,
    next: u64,
    prev_hash: &str,
    key: &VerifyingKey,
) -> Result<String, String> {
    check_seq(seq, next)?;
    let body = cell_bytes(row, 5).ok_or("signed body is missing")?;
    let signature = cell_text(row, 6)
        .and_then(unhex_signature)
        .ok_or("signature column is not 128 hex digits")?;
    key.verify_strict(body, &Signature::from_bytes(&signature))
        .map_err(|_| "signature does not verify (edited, or signed by another key?)")?;
    let hash = record_hash(body, &signature);
    if cell_text(row, 7) != Some(hash.as_str()) {
        return Err("stored hash does not match the signed record (hash column edited?)".into());
    }
    let parsed = parse_body(body)?;
    check_chain(&parsed, next, prev_hash)?;
    check_columns(row, &parsed)?;
    Ok(hash)
}

fn check_seq(seq: i64, next: u64) -> Result<(), String> {
    match u64::try_from(seq) {
        Ok(seq) if seq == next => Ok(()),
        Ok(seq) if seq > next && next == 1 => Err(format!(
            "log starts at record {seq}, not 1 (first records deleted?)"
        )),
        Ok(seq) if seq > next => Err(format!(
            "sequence gap after {} (records deleted?)",
            next - 1
        )),
        _ => Err(format!("sequence number {seq} out of order")),
    }
}

fn check_chain(body: &RecordBody, seq: u64, prev_hash: &str) -> Result<(), String> {
    if body.v != 1 {
        return Err(format!("signed body has version {}, expected 1", body.v));
    }
    if body.seq != seq {
        return Err(format!(
            "signed sequence number is {} (record moved or copied?)",
            body.seq
        ));
    }
    if body.prev_hash != prev_hash {
        return Err(match seq {
            1 => "previous-hash of the first record is not the genesis value (records before it deleted?)".into(),
            _ => format!("previous-hash mismatch (record {} deleted or reordered?)", seq - 1),
        });
    }
    Ok(())
}

/// The filter columns must say what the signed body says.
fn check_columns(row: &rusqlite::Row<'_>, body: &RecordBody) -> Result<(), String> {
    let expected = [
        (1, "time", body.time.as_str()),
        (2, "kind", body.entry.kind.as_str()),
        (3, "user", body.entry.requester.user.as_str()),
        (4, "decision", body.entry.decision.as_str()),
    ];
    for (index, name, want) in expected {
        if cell_text(row, index) != Some(want) {
            return Err(format!(
                "column `{name}` differs from the signed record (edited?)"
            ));
        }
    }
    Ok(())
}

fn check_anchors(report: &VerifyReport, expect: &Expect, head_seen: bool) -> Option<Problem> {
    let whole_log = |reason| Some(Problem { seq: None, reason });
    if let Some(head) = expect.head.as_ref().filter(|_| !head_seen) {
        return whole_log(format!(
            "anchor hash {head} is not in the chain (log truncated or replaced?)"
        ));
    }
    match expect.min_records {
        Some(min) if report.records < min => whole_log(format!(
            "{} records, expected at least {min} (log truncated?)",
            report.records
        )),
        _ => None,
    }
}

fn cell_bytes<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> Option<&'r [u8]> {
    row.get_ref(index).ok().and_then(as_bytes)
}

fn cell_text<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> Option<&'r str> {
    match row.get_ref(index).ok()? {
        ValueRef::Text(text) => std::str::from_utf8(text).ok(),
        _ => None,
    }
}
