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
mod tests {
    use super::*;
    use crate::audit::{ApproverRecord, Decision, RecordKind};
    use crate::identity::Requester;

    fn entry() -> Entry {
        Entry {
            kind: RecordKind::Decision,
            requester: Requester {
                user: "alice".into(),
                host: "box".into(),
                ci: None,
                agent: None,
            },
            command: vec![
                "kubectl".into(),
                "delete".into(),
                "ns".into(),
                "a\"b".into(),
            ],
            action_digest: "ab".repeat(32),
            cwd: "/srv".into(),
            rules: vec!["production changes".into()],
            decision: Decision::Approved.into(),
            approvers: vec![ApproverRecord {
                name: "bob".into(),
                channel: "slack".into(),
            }],
            reason: Some("rollout".into()),
            break_glass: false,
            exit_code: None,
            signal: None,
            duration_ms: None,
            decision_seq: None,
            broker_signature: None,
            policy_version: None,
            ci_identity: None,
        }
    }

    /// Pins the on-disk format: if this changes, docs/audit-format.md and the format
    /// version must change with it.
    #[test]
    fn signed_bytes_are_the_documented_layout() {
        let bytes = signed_bytes(1, "2025-01-31T09:15:02.123Z", GENESIS_PREV_HASH, &entry());
        let expected = format!(
            "gate-audit-v1\n{{\"v\":1,\"seq\":1,\"time\":\"2025-01-31T09:15:02.123Z\",\
             \"prev_hash\":\"{GENESIS_PREV_HASH}\",\"kind\":\"decision\",\
             \"requester\":{{\"user\":\"alice\",\"host\":\"box\",\"ci\":null,\"agent\":null}},\
             \"command\":[\"kubectl\",\"delete\",\"ns\",\"a\\\"b\"],\"action_digest\":\"{}\",\
             \"cwd\":\"/srv\",\"rules\":[\"production changes\"],\"decision\":\"approved\",\
             \"approvers\":[{{\"name\":\"bob\",\"channel\":\"slack\"}}],\"reason\":\"rollout\",\
             \"break_glass\":false,\"exit_code\":null,\"signal\":null,\"duration_ms\":null,\
             \"decision_seq\":null,\"broker_signature\":null}}",
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8_lossy(&bytes), expected);
    }

    /// A record that names its policy version adds the key at the end; one that
    /// does not is byte for byte what older gates wrote.
    #[test]
    fn the_policy_version_is_the_last_key_when_present() {
        let mut named = entry();
        named.policy_version = Some("ef".repeat(32));
        let bytes = signed_bytes(1, "2025-01-31T09:15:02.123Z", GENESIS_PREV_HASH, &named);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            text.ends_with(&format!(
                "\"broker_signature\":null,\"policy_version\":\"{}\"}}",
                "ef".repeat(32)
            )),
            "{text}"
        );
        let body = parse_body(&bytes).expect("parses");
        assert_eq!(body.entry.policy_version, Some("ef".repeat(32)));
    }

    #[test]
    fn body_round_trips() {
        let bytes = signed_bytes(7, "2025-01-31T09:15:02.123Z", &"cd".repeat(32), &entry());
        let body = parse_body(&bytes).expect("parses");
        assert_eq!((body.v, body.seq), (1, 7));
        assert_eq!(body.entry, entry());
    }

    #[test]
    fn parse_rejects_missing_prefix_and_bad_json() {
        assert!(parse_body(b"{\"v\":1}").is_err());
        assert!(parse_body(b"gate-audit-v1\n{not json").is_err());
    }

    #[test]
    fn hash_covers_signature() {
        let a = record_hash(b"x", &[0; 64]);
        let b = record_hash(b"x", &[1; 64]);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn hex_round_trips_signatures() {
        let raw: [u8; 64] = std::array::from_fn(|i| i as u8 * 3);
        assert_eq!(unhex_signature(&hex::encode(raw)), Some(raw));
        assert_eq!(unhex_signature("zz"), None);
        assert_eq!(unhex_signature(&"g".repeat(128)), None);
    }
}
