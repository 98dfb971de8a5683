//! Appending under concurrency, file permissions, reading back with filters, and
//! the show/export formats.

mod audit_support;

use audit_support::{TestLog, entry};
use gate::audit::{AuditLog, Filter, RecordKind};
use std::os::unix::fs::PermissionsExt;

#[test]
fn concurrent_writers_never_fork_the_chain() {
    let log = TestLog::with_records(0);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = log.path.clone();
            let key = log.key.clone();
            std::thread::spawn(move || {
                let mut own = AuditLog::open(&path).expect("open");
                for n in 0..100 {
                    own.append(&entry(t * 100 + n + 1), &key, n.is_multiple_of(10))
                        .expect("append");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("writer thread");
    }
    let report = gate::audit::verify(&log.path, &log.key.verifying_key()).expect("verify");
    assert_eq!(report.problem, None);
    assert_eq!(report.records, 800);
    let reader = AuditLog::open_read_only(&log.path).expect("open");
    let seqs: Vec<u64> = reader
        .records(&Filter::default())
        .expect("records")
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=800).collect::<Vec<_>>());
}

#[test]
fn concurrent_first_open_creates_the_schema_once() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("fresh").join("audit.sqlite");
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (path, key) = (path.clone(), key.clone());
            std::thread::spawn(move || {
                let mut log = AuditLog::open(&path).expect("open");
                log.append(&entry(t + 1), &key, false).expect("append");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let report = gate::audit::verify(&path, &key.verifying_key()).expect("verify");
    assert_eq!((report.records, report.problem), (4, None));
}

#[test]
fn log_file_and_directory_are_private() {
    let log = TestLog::with_records(1);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&log.path), 0o600);
    let nested = log.dir.path().join("a/b/audit.sqlite");
    AuditLog::open(&nested).expect("open nested");
    assert_eq!(mode(&log.dir.path().join("a/b")), 0o700);
}

#[test]
fn group_writable_log_or_directory_is_refused() {
    let log = TestLog::with_records(1);
    std::fs::set_permissions(&log.path, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    let err = AuditLog::open(&log.path).expect_err("refused");
    assert!(err.to_string().contains("chmod go-w"), "{err}");
    let shared = log.dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let err = AuditLog::open(&shared.join("audit.sqlite")).expect_err("refused");
    assert!(err.to_string().contains("shared"), "{err}");
}

#[test]
fn updates_and_deletes_are_refused_by_the_database() {
    let log = TestLog::with_records(2);
    let conn = rusqlite::Connection::open(&log.path).expect("open");
    let err = conn
        .execute("DELETE FROM records", [])
        .expect_err("append-only");
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn filters_and_limit_keep_the_newest_oldest_first() {
    let log = TestLog::with_records(12);
    let reader = AuditLog::open_read_only(&log.path).expect("open");
    let seqs = |filter: Filter| -> Vec<u64> {
        reader
            .records(&filter)
            .expect("records")
            .iter()
            .map(|r| r.seq)
            .collect()
    };
    assert_eq!(
        seqs(Filter {
            limit: Some(3),
            ..Filter::default()
        }),
        [10, 11, 12]
    );
    let outcomes = Filter {
        kind: Some(RecordKind::Outcome),
        limit: Some(2),
        ..Filter::default()
    };
    assert_eq!(seqs(outcomes), [10, 12]);
    assert_eq!(
        seqs(Filter {
            user: Some("bob".into()),
            ..Filter::default()
        }),
        [3, 6, 9, 12]
    );
    let approved = Filter {
        decision: Some("approved".into()),
        limit: Some(1),
        ..Filter::default()
    };
    assert_eq!(seqs(approved), [11]);
    let command = Filter {
        command: Some("ns team-1".into()),
        ..Filter::default()
    };
    assert_eq!(seqs(command), [1, 10, 11, 12]);
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    assert!(
        seqs(Filter {
            since: Some(future),
            ..Filter::default()
        })
        .is_empty()
    );
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    assert_eq!(
        seqs(Filter {
            since: Some(past),
            ..Filter::default()
        })
        .len(),
        12
    );
}

#[test]
fn show_prints_one_line_per_record_without_escapes() {
    let log = TestLog::with_records(2);
    let mut writer = AuditLog::open(&log.path).expect("open");
    let mut hostile = entry(3);
    hostile.command = vec!["echo".into(), "\x1b]0;pwned\x07".into()];
    writer.append(&hostile, &log.key, false).expect("append");
    let records = writer.records(&Filter::default()).expect("records");
    let mut out = Vec::new();
    gate::audit::show(&records, &mut out, false, None).expect("show");
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(!text.contains('\x1b'), "{text}");
    assert!(text.contains("exit 0 1.2s"), "{text}");
    assert!(
        text.lines().nth(1).expect("row").contains("alice@box"),
        "{text}"
    );
}

#[test]
fn jsonl_export_has_every_field_and_chain_data() {
    let log = TestLog::with_records(2);
    let records = AuditLog::open_read_only(&log.path)
        .expect("open")
        .records(&Filter::default())
        .expect("records");
    let mut out = Vec::new();
    gate::audit::export_jsonl(&records, &mut out).expect("export");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["seq"], 2);
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    assert_eq!(lines[1]["exit_code"], 0);
    assert_eq!(lines[0]["requester"]["user"], "alice");
    assert_eq!(lines[0]["signature"].as_str().map(str::len), Some(128));
}

#[test]
fn csv_export_quotes_commas_quotes_and_newlines() {
    let log = TestLog::with_records(1);
    let records = AuditLog::open_read_only(&log.path)
        .expect("open")
        .records(&Filter::default())
        .expect("records");
    let mut out = Vec::new();
    gate::audit::export_csv(&records, &mut out).expect("export");
    let text = String::from_utf8(out).expect("utf8");
    assert!(text.starts_with("seq,time,kind,user,host,"), "{text}");
    assert!(
        text.contains(",\"rollout, \"\"phase 2\"\"\nsecond line\","),
        "{text}"
    );
    assert!(text.contains(",carol (slack),"), "{text}");
}
