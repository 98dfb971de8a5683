//! Shared helpers for the audit integration tests: sample entries, a log with a
//! key in a temporary directory, and raw SQL tampering that bypasses gate.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use gate::audit::{ApproverRecord, AuditLog, Decision, Entry, Outcome, RecordKind};
use gate::identity::Requester;
use std::path::{Path, PathBuf};

pub struct TestLog {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub key: SigningKey,
}

impl TestLog {
    /// A fresh log holding `count` alternating decision/outcome records.
    pub fn with_records(count: u64) -> TestLog {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.sqlite");
        let key = gate::keys::load_or_create(&dir.path().join("key.pem")).expect("key");
        let mut log = AuditLog::open(&path).expect("open log");
        for n in 1..=count {
            let seq = log
                .append(&entry(n), &key, !n.is_multiple_of(2))
                .expect("append");
            assert_eq!(seq, n);
        }
        TestLog { dir, path, key }
    }
}

/// A sample entry; odd numbers are decisions, even numbers their outcomes.
pub fn entry(n: u64) -> Entry {
    let outcome = n.is_multiple_of(2);
    Entry {
        kind: if outcome {
            RecordKind::Outcome
        } else {
            RecordKind::Decision
        },
        requester: Requester {
            user: if n.is_multiple_of(3) {
                "bob".into()
            } else {
                "alice".into()
            },
            host: "box".into(),
            ci: None,
            agent: None,
        },
        command: vec![
            "kubectl".into(),
            "delete".into(),
            "ns".into(),
            format!("team-{n}"),
        ],
        action_digest: "ab".repeat(32),
        cwd: "/srv".into(),
        rules: vec!["production changes".into()],
        decision: if outcome {
            Outcome::Exited.into()
        } else {
            Decision::Approved.into()
        },
        approvers: vec![ApproverRecord {
            name: "carol".into(),
            channel: "slack".into(),
        }],
        reason: Some("rollout, \"phase 2\"\nsecond line".into()),
        break_glass: false,
        exit_code: outcome.then_some(0),
        signal: None,
        duration_ms: outcome.then_some(1234),
        decision_seq: outcome.then_some(n - 1),
        broker_signature: None,
        // Records before the policy version was recorded, and after.
        policy_version: (n > 3).then(|| "cd".repeat(32)),
        ci_identity: (n == 5).then(|| {
            serde_json::from_value(serde_json::json!({
                "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:acme/app:ref:refs/heads/main",
                "system": "github",
                "actor": "deploy-bot",
                "repository": "acme/app",
                "ref": "main",
                "workflow": "deploy"
            }))
            .expect("a verified CI identity")
        }),
    }
}

/// Run SQL on the log directly, as an attacker with file access would, after
/// dropping the append-only triggers.
pub fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS records_no_update; DROP TRIGGER IF EXISTS records_no_delete;",
    )
    .expect("drop triggers");
    conn.execute_batch(sql).expect("tamper sql");
}

/// The (seq, reason) of the first problem verify reports.
pub fn first_problem(path: &Path, key: &SigningKey) -> (Option<u64>, String) {
    let report = gate::audit::verify(path, &key.verifying_key()).expect("verify runs");
    let problem = report.problem.expect("tampering detected");
    (problem.seq, problem.reason)
}
