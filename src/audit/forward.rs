//! The audit log's side of forwarding records to the broker: reading records
//! exactly as stored (the signed body, signature and hash, never re-serialised),
//! remembering how far the broker has acknowledged, and checking one forwarded
//! record the way the broker does.
//!
//! The cursor lives in the log's `meta` table. It only says what to send next:
//! the broker decides from its own copy what extends the chain, so a cursor moved
//! by hand can make gate send too much (acknowledged again) or too little (the
//! broker refuses the gap), never hide a record.

use super::query::as_bytes;
use super::record::{DOMAIN, RecordBody, parse_body, record_hash, unhex_signature};
use super::{AuditError, AuditLog};
use ed25519_dalek::{Signature, VerifyingKey};
use rusqlite::OptionalExtension;

/// One record as stored: its signed body after the `gate-audit-v1\n` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub seq: u64,
    pub body: String,
    pub signature: String,
    pub hash: String,
}

/// How far a broker has acknowledged this log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forwarded {
    /// The broker's URL.
    pub server: String,
    /// The installation name the records went under.
    pub installation: String,
    pub seq: u64,
    pub hash: String,
}

const CURSOR_KEY: &str = "forwarded";

impl AuditLog {
    /// Records after `seq`, oldest first, until their bodies add up to about
    /// `max_bytes` (at least one record when there is one).
    pub fn raw_after(&self, seq: u64, max_bytes: usize) -> Result<Vec<RawRecord>, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, signature, hash FROM records WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(fail)?;
        let mut rows = stmt
            .query([i64::try_from(seq).unwrap_or(i64::MAX)])
            .map_err(fail)?;
        let mut found = Vec::new();
        let mut bytes = 0;
        while let Some(row) = rows.next().map_err(fail)? {
            let seq: i64 = row.get(0).map_err(fail)?;
            let bad = |detail: &str| AuditError::Corrupt {
                path: self.path.clone(),
                detail: format!("record {seq}: {detail}; run `gate audit verify`"),
            };
            let signed = row
                .get_ref(1)
                .ok()
                .and_then(as_bytes)
                .ok_or_else(|| bad("signed body missing"))?;
            let body = signed
                .strip_prefix(DOMAIN)
                .and_then(|json| std::str::from_utf8(json).ok())
                .ok_or_else(|| bad("signed body is not a v1 record"))?;
            bytes += body.len() + 300;
            if bytes > max_bytes && !found.is_empty() {
                break;
            }
            found.push(RawRecord {
                seq: u64::try_from(seq).map_err(|_| bad("bad sequence number"))?,
                body: body.to_string(),
                signature: row.get(2).map_err(fail)?,
                hash: row.get(3).map_err(fail)?,
            });
        }
        Ok(found)
    }

    /// The newest record's sequence number and hash; `None` for an empty log.
    pub fn head(&self) -> Result<Option<(u64, String)>, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        self.conn
            .query_row(
                "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(fail)
            .map(|found| found.map(|(seq, hash)| (u64::try_from(seq).unwrap_or(0), hash)))
    }

    /// The hash of record `seq`, if the log holds it.
    pub fn hash_at(&self, seq: u64) -> Result<Option<String>, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        self.conn
            .query_row(
                "SELECT hash FROM records WHERE seq = ?1",
                [i64::try_from(seq).unwrap_or(i64::MAX)],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)
    }

    /// What the broker acknowledged last, if anything.
    pub fn forwarded(&self) -> Result<Option<Forwarded>, AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [CURSOR_KEY],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?;
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Remember that the broker acknowledged up to `forwarded`.
    pub fn set_forwarded(&self, forwarded: &Forwarded) -> Result<(), AuditError> {
        let fail = |err| AuditError::sqlite(&self.path, err);
        let text = serde_json::to_string(forwarded).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [CURSOR_KEY, text.as_str()],
            )
            .map(|_| ())
            .map_err(fail)
    }
}

/// Check one forwarded record: its signature with `key` over the documented
/// signed bytes, its hash over those bytes and the signature, and that its body
/// names the same sequence number. The parsed body, or what is wrong.
pub fn check_record(
    seq: u64,
    body: &str,
    signature: &str,
    hash: &str,
    key: &VerifyingKey,
) -> Result<RecordBody, String> {
    let raw = unhex_signature(signature).ok_or("the signature is not 128 hex digits")?;
    let mut signed = Vec::with_capacity(DOMAIN.len() + body.len());
    signed.extend_from_slice(DOMAIN);
    signed.extend_from_slice(body.as_bytes());
    key.verify_strict(&signed, &Signature::from_bytes(&raw))
        .map_err(|_| "the signature does not verify with the installation's audit key")?;
    if record_hash(&signed, &raw) != hash.to_ascii_lowercase() {
        return Err("the hash is not SHA-256 of the signed bytes and the signature".into());
    }
    let parsed = parse_body(&signed)?;
    if parsed.seq != seq {
        return Err(format!("the body says seq {}, not {seq}", parsed.seq));
    }
    Ok(parsed)
}
