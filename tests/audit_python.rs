//! The independent Python verifier (written from docs/audit-format.md) accepts a log
//! written by gate and reports the same first bad record as `audit::verify` after
//! each kind of tampering. Requires `python3` with `cryptography`: this test fails,
//! never skips, without it (CI installs it).

mod audit_support;

use audit_support::{TestLog, tamper};
use std::path::Path;
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/verify_audit.py");

fn require_python_cryptography() {
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "python3 cannot import `cryptography`; run `pip install cryptography` ({})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(err) => {
            panic!("cannot run python3 ({err}); install Python 3 and `pip install cryptography`")
        }
    }
}

/// Run the Python verifier; return its exit code and stdout.
fn python_verify(log: &TestLog) -> (i32, String) {
    let pub_path = log.dir.path().join("key.pub.pem");
    let pem = gate::keys::public_key_pem(&log.key.verifying_key());
    std::fs::write(&pub_path, pem).expect("write public key");
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(&log.path)
        .arg(&pub_path)
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "verifier stderr: {stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

fn rust_verdict(path: &Path, log: &TestLog) -> String {
    let report = gate::audit::verify(path, &log.key.verifying_key()).expect("verify");
    report.problem.map(|p| p.to_string()).unwrap_or_default()
}

#[test]
fn python_verifier_accepts_an_intact_log() {
    require_python_cryptography();
    let log = TestLog::with_records(9);
    assert_eq!(python_verify(&log), (0, "ok: 9 records".to_owned()));
}

/// Records written before and after `policy_version` and `ci_identity` existed
/// verify alike; a signed record whose policy version is not a digest does not.
#[test]
fn python_verifier_reads_the_optional_keys() {
    require_python_cryptography();
    let log = TestLog::with_records(6);
    assert_eq!(python_verify(&log), (0, "ok: 6 records".to_owned()));
    let mut bad = audit_support::entry(7);
    bad.policy_version = Some("not a digest".into());
    let mut store = gate::audit::AuditLog::open(&log.path).expect("open log");
    store.append(&bad, &log.key, true).expect("append");
    drop(store);
    assert_eq!(
        python_verify(&log),
        (
            1,
            "record 7: policy_version is not 64 hex digits".to_owned()
        )
    );
}

#[test]
fn python_verifier_accepts_an_empty_log() {
    require_python_cryptography();
    let log = TestLog::with_records(0);
    assert_eq!(python_verify(&log), (0, "ok: 0 records".to_owned()));
}

#[test]
fn python_and_rust_report_the_same_first_bad_record() {
    require_python_cryptography();
    let cases = [
        (
            "UPDATE records SET body = CAST(replace(CAST(body AS TEXT), 'team-4', 'team-X') AS BLOB) WHERE seq = 4",
            "record 4: signature does not verify",
        ),
        (
            "DELETE FROM records WHERE seq = 5",
            "record 6: sequence gap after 4",
        ),
        (
            "DELETE FROM records WHERE seq = 5; UPDATE records SET seq = seq - 1 WHERE seq > 5",
            "record 5: signed sequence number is 6",
        ),
        (
            "UPDATE records SET seq = -3 WHERE seq = 3; UPDATE records SET seq = 3 WHERE seq = 5; UPDATE records SET seq = 5 WHERE seq = -3",
            "record 3: signed sequence number is 5",
        ),
        (
            "INSERT INTO records SELECT 10, time, kind, user, decision, body, signature, hash FROM records WHERE seq = 2",
            "record 10: signed sequence number is 2",
        ),
        (
            "UPDATE records SET user = 'mallory' WHERE seq = 7",
            "record 7: column `user` differs",
        ),
        (
            "UPDATE records SET hash = lower(hex(zeroblob(32))) WHERE seq = 2",
            "record 2: stored hash does not match",
        ),
        (
            "DELETE FROM records WHERE seq = 1",
            "record 2: log starts at record 2",
        ),
    ];
    for (sql, expected) in cases {
        let log = TestLog::with_records(9);
        tamper(&log.path, sql);
        let (code, stdout) = python_verify(&log);
        assert_eq!(code, 1, "{sql}: {stdout}");
        assert!(
            stdout.starts_with(expected),
            "{sql}: python said {stdout:?}"
        );
        assert_eq!(stdout, rust_verdict(&log.path, &log), "{sql}");
    }
}

#[test]
fn python_verifier_rejects_another_key() {
    require_python_cryptography();
    let mut log = TestLog::with_records(3);
    log.key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let (code, stdout) = python_verify(&log);
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("record 1: signature does not verify"),
        "{stdout}"
    );
}
