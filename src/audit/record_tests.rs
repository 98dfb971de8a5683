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
