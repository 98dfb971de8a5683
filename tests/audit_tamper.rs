//! Verification detects every kind of tampering done with direct SQLite access,
//! and names the first bad record.

mod audit_support;

use audit_support::{TestLog, first_problem, tamper};
use ed25519_dalek::{Signer, SigningKey};

#[test]
fn untouched_log_verifies() {
    let log = TestLog::with_records(10);
    let report = gate::audit::verify(&log.path, &log.key.verifying_key()).expect("verify");
    assert_eq!(report.problem, None);
    assert_eq!(report.records, 10);
    assert_eq!(report.head.as_ref().map(|h| h.0), Some(10));
}

#[test]
fn empty_log_verifies() {
    let log = TestLog::with_records(0);
    let report = gate::audit::verify(&log.path, &log.key.verifying_key()).expect("verify");
    assert_eq!(
        (report.records, report.problem, report.head),
        (0, None, None)
    );
}

#[test]
fn edited_signed_field_is_a_bad_signature() {
    let log = TestLog::with_records(10);
    tamper(
        &log.path,
        "UPDATE records SET body = CAST(replace(CAST(body AS TEXT), 'team-4', 'team-X') AS BLOB)
         WHERE seq = 4",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(4));
    assert!(reason.contains("signature does not verify"), "{reason}");
}

#[test]
fn deleted_middle_record_is_a_gap() {
    let log = TestLog::with_records(10);
    tamper(&log.path, "DELETE FROM records WHERE seq = 5");
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(6));
    assert!(reason.contains("sequence gap after 4"), "{reason}");
}

#[test]
fn deleted_record_with_renumbering_breaks_the_chain() {
    let log = TestLog::with_records(10);
    tamper(
        &log.path,
        "DELETE FROM records WHERE seq = 5; UPDATE records SET seq = seq - 1 WHERE seq > 5;",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(5));
    assert!(reason.contains("signed sequence number is 6"), "{reason}");
}

#[test]
fn deleted_first_record_is_detected() {
    let log = TestLog::with_records(3);
    tamper(&log.path, "DELETE FROM records WHERE seq = 1");
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(2));
    assert!(reason.contains("starts at record 2"), "{reason}");
}

#[test]
fn swapped_records_are_detected() {
    let log = TestLog::with_records(10);
    tamper(
        &log.path,
        "UPDATE records SET seq = -3 WHERE seq = 3; UPDATE records SET seq = 3 WHERE seq = 5;
         UPDATE records SET seq = 5 WHERE seq = -3;",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(3));
    assert!(reason.contains("signed sequence number is 5"), "{reason}");
}

#[test]
fn forged_record_signed_by_another_key_is_detected() {
    let log = TestLog::with_records(4);
    let forger = SigningKey::from_bytes(&[7; 32]);
    let conn = rusqlite::Connection::open(&log.path).expect("open");
    let prev: String = conn
        .query_row("SELECT hash FROM records WHERE seq = 4", [], |r| r.get(0))
        .expect("head");
    // A well-formed body that links correctly, but signed by the wrong key.
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM records WHERE seq = 3", [], |r| r.get(0))
        .expect("body");
    let body = String::from_utf8(body)
        .expect("utf8")
        .replace("\"seq\":3", "\"seq\":5")
        .replacen(
            "\"prev_hash\":\"",
            &format!("\"prev_hash\":\"{prev}\",\"x\":\""),
            1,
        );
    let signature = forger.sign(body.as_bytes()).to_bytes();
    let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT INTO records SELECT 5, time, kind, user, decision, ?1, ?2, hash FROM records WHERE seq = 3",
        (body.as_bytes(), hex),
    )
    .expect("insert");
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(5));
    assert!(reason.contains("signature does not verify"), "{reason}");
}

#[test]
fn replayed_record_is_detected() {
    let log = TestLog::with_records(4);
    tamper(
        &log.path,
        "INSERT INTO records SELECT 5, time, kind, user, decision, body, signature, hash
         FROM records WHERE seq = 2",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(5));
    assert!(reason.contains("signed sequence number is 2"), "{reason}");
}

#[test]
fn edited_filter_column_is_detected() {
    let log = TestLog::with_records(10);
    tamper(
        &log.path,
        "UPDATE records SET decision = 'deny' WHERE seq = 7",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(7));
    assert!(reason.contains("column `decision`"), "{reason}");
}

#[test]
fn edited_hash_column_is_detected() {
    let log = TestLog::with_records(5);
    tamper(
        &log.path,
        "UPDATE records SET hash = lower(hex(zeroblob(32))) WHERE seq = 2",
    );
    let (seq, reason) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(2));
    assert!(reason.contains("stored hash"), "{reason}");
}

#[test]
fn a_different_key_fails_at_the_first_record() {
    let log = TestLog::with_records(3);
    let other = SigningKey::from_bytes(&[9; 32]);
    let (seq, reason) = first_problem(&log.path, &other);
    assert_eq!(seq, Some(1));
    assert!(reason.contains("signature does not verify"), "{reason}");
}

#[test]
fn truncated_tail_is_caught_by_an_anchor() {
    let log = TestLog::with_records(6);
    let key = log.key.verifying_key();
    let head = gate::audit::verify(&log.path, &key)
        .expect("verify")
        .head
        .expect("head")
        .1;
    let expect = gate::audit::Expect {
        head: Some(head),
        min_records: Some(6),
    };
    let before = gate::audit::verify_with(&log.path, &key, &expect).expect("verify");
    assert_eq!(before.problem, None);
    tamper(&log.path, "DELETE FROM records WHERE seq = 6");
    let after = gate::audit::verify_with(&log.path, &key, &expect).expect("verify");
    let problem = after.problem.expect("truncation detected");
    assert_eq!(problem.seq, None);
    assert!(problem.to_string().contains("anchor hash"), "{problem}");
}

#[test]
fn garbage_cells_never_panic() {
    let log = TestLog::with_records(3);
    tamper(
        &log.path,
        "UPDATE records SET body = 42, signature = x'00' WHERE seq = 2",
    );
    let (seq, _) = first_problem(&log.path, &log.key);
    assert_eq!(seq, Some(2));
    let reader = gate::audit::AuditLog::open_read_only(&log.path).expect("open");
    let err = reader.records(&Default::default()).expect_err("bad row");
    assert!(err.to_string().contains("record 2"), "{err}");
}

#[test]
fn a_file_that_is_not_a_log_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("audit.sqlite");
    std::fs::write(&path, vec![b'x'; 4096]).expect("write");
    let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
    let err = gate::audit::verify(&path, &key).expect_err("not a database");
    assert!(
        matches!(err, gate::audit::AuditError::Corrupt { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("audit.sqlite"), "{err}");
    let err = gate::audit::verify(&dir.path().join("none.sqlite"), &key).expect_err("missing");
    assert!(err.to_string().starts_with("no audit log at"), "{err}");
}
