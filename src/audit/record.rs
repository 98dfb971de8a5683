//! The exact signed bytes of a record and the record hash, as documented in
//! docs/audit-format.md. Changing anything here changes the on-disk format: the
//! golden test below pins the bytes.
//!
//! Owns serialisation of a record body; never re-serialises a stored body to check
//! it (verifiers work on the stored bytes).

use super::Entry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain-separation prefix of every signed byte string (format version 1).
pub const DOMAIN: &[u8] = b"gate-audit-v1\n";

/// `prev_hash` of the first record.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Value of the `v` field in every version-1 body.
pub const BODY_VERSION: u32 = 1;

/// The signed body: chain fields first, then every [`Entry`] field in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordBody {
    pub v: u32,
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds, e.g. `2025-01-31T09:15:02.123Z`.
    pub time: String,
    /// Lowercase hex hash of the previous record, or [`GENESIS_PREV_HASH`].
    pub prev_hash: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// Serialisation view that borrows the caller's entry (no clone per append).
#[derive(Serialize)]
struct BodyRef<'a> {
    v: u32,
    seq: u64,
    time: &'a str,
    prev_hash: &'a str,
    #[serde(flatten)]
    entry: &'a Entry,
}

/// One stored record: the parsed body plus what the store keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    /// Lowercase hex SHA-256 over signed bytes then signature.
    pub hash: String,
    /// Lowercase hex ed25519 signature (128 characters).
    pub signature: String,
    pub body: RecordBody,
}

/// `DOMAIN` followed by compact JSON of the body, keys in the documented order.
pub(crate) fn signed_bytes(seq: u64, time: &str, prev_hash: &str, entry: &Entry) -> Vec<u8> {
    let body = BodyRef {
        v: BODY_VERSION,
        seq,
        time,
        prev_hash,
        entry,
    };
    let mut bytes = Vec::with_capacity(512);
    bytes.extend_from_slice(DOMAIN);
    // Serialising plain strings, numbers and options into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut bytes, &body);
    bytes
}

/// Parse stored signed bytes back into a body.
pub(crate) fn parse_body(signed: &[u8]) -> Result<RecordBody, String> {
    let json = signed
        .strip_prefix(DOMAIN)
        .ok_or("signed bytes do not start with \"gate-audit-v1\\n\"")?;
    serde_json::from_slice(json).map_err(|err| format!("signed body is not a v1 record ({err})"))
}

/// Record hash: lowercase hex SHA-256 of the signed bytes followed by the raw
/// 64-byte signature, so the chain commits to signatures as well as content.
pub(crate) fn record_hash(signed: &[u8], signature: &[u8; 64]) -> String {
    let digest = Sha256::new()
        .chain_update(signed)
        .chain_update(signature)
        .finalize();
    hex::encode(digest)
}

/// Decode a 128-character lowercase or uppercase hex signature.
pub(crate) fn unhex_signature(text: &str) -> Option<[u8; 64]> {
    let mut out = [0u8; 64];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
