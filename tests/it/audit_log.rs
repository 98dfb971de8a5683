//! The audit trail as a user sees it: records per command, durability before the
//! command starts, redaction, verification, concurrency.

use crate::support::common::*;
use crate::support::fixtures::POLICY_ALLOW_ALL;

#[test]
fn decision_is_durable_before_the_command_starts() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    // The wrapped command is gate itself reading the log: it must already see the
    // decision record of the command it is running inside.
    let gate = gate_bin().to_str().unwrap();
    let out = ctx.run(&["--", gate, "audit", "export", "--format", "jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let inner: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        inner.len(),
        1,
        "only the decision record exists while the command runs"
    );
    assert_eq!(inner[0]["kind"], "decision");
    assert_eq!(inner[0]["decision"], "allow");

    let records = ctx.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["kind"], "outcome");
    assert_eq!(records[1]["exit_code"], 0);
    assert_eq!(records[1]["decision_seq"], records[0]["seq"]);
}

#[test]
fn two_records_per_command_with_exit_status_and_duration() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(
        code(&ctx.run(&["--reason", "testing", "--", "sh", "-c", "exit 3"])),
        3
    );
    let records = ctx.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["kind"], "decision");
    assert_eq!(records[0]["reason"], "testing");
    assert_eq!(
        records[0]["command"],
        serde_json::json!(["sh", "-c", "exit 3"])
    );
    assert_eq!(records[0]["action_digest"].as_str().unwrap().len(), 64);
    assert_eq!(records[1]["exit_code"], 3);
    assert!(records[1]["duration_ms"].is_u64());
    let verify = ctx.run(&["audit", "verify"]);
    assert_eq!(code(&verify), 0, "{}", stderr(&verify));
    assert!(stdout(&verify).contains("2 records"));
}

#[test]
fn secrets_never_reach_the_log() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx.run(&[
        "--reason",
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "--",
        "echo",
        "--password=hunter2",
        "GITHUB_TOKEN=s3cr3tvalue",
        "https://bob:pa55word@example.com/x",
    ]);
    assert_eq!(code(&out), 0);
    let db = std::fs::read(ctx.home().join("audit.db")).unwrap();
    let wal = std::fs::read(ctx.home().join("audit.db-wal")).unwrap_or_default();
    for secret in [
        "hunter2",
        "s3cr3tvalue",
        "pa55word",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ] {
        let needle = secret.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "{secret} in audit.db"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "{secret} in audit.db-wal"
        );
    }
    let exported = stdout(&ctx.run(&["audit", "export", "--format", "jsonl"]));
    assert!(exported.contains("--password=****"), "{exported}");
}

#[test]
fn tampering_is_detected_with_the_first_bad_sequence() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    for _ in 0..3 {
        assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    }
    assert_eq!(code(&ctx.run(&["audit", "verify"])), 0);
    let db = rusqlite::Connection::open(ctx.home().join("audit.db")).unwrap();
    // An attacker with write access drops the append-only guard first.
    db.execute_batch("DROP TRIGGER records_no_delete; DELETE FROM records WHERE seq = 3;")
        .unwrap();
    drop(db);
    let out = ctx.run(&["audit", "verify"]);
    assert_eq!(code(&out), 107);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("record 4") || err.contains("after 2"), "{err}");
}

#[test]
fn pubkey_prints_pem_and_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx.run(&["audit", "pubkey"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("-----BEGIN PUBLIC KEY-----"));
    let mode = std::fs::metadata(ctx.home().join("audit.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The same key on the second call.
    assert_eq!(stdout(&ctx.run(&["audit", "pubkey"])), stdout(&out));
}

#[test]
fn a_group_writable_key_is_refused_and_nothing_runs() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["audit", "pubkey"])), 0);
    let key = ctx.home().join("audit.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o660)).unwrap();
    let marker = ctx.work().join("ran");
    let out = ctx.run(&["--", "touch", marker.to_str().unwrap()]);
    assert_eq!(code(&out), 106, "{}", stderr(&out));
    assert!(stderr(&out).contains("audit.key"), "{}", stderr(&out));
    assert!(!marker.exists());
}

#[test]
fn concurrent_gate_processes_keep_one_chain() {
    const PROCESSES: usize = 8;
    const COMMANDS: usize = 100;
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    // Create the key and log once so every worker starts from the same state.
    assert_eq!(code(&ctx.run(&["audit", "pubkey"])), 0);
    let script = format!(
        "i=0; while [ $i -lt {COMMANDS} ]; do \"$GATE_BIN\" -- true || exit 1; i=$((i+1)); done"
    );
    let workers: Vec<_> = (0..PROCESSES)
        .map(|_| {
            ctx.command("sh")
                .env("GATE_BIN", gate_bin())
                .args(["-c", &script])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut worker in workers {
        assert!(worker.wait().unwrap().success(), "a gate call failed");
    }
    let records = ctx.records();
    assert_eq!(records.len(), PROCESSES * COMMANDS * 2);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], (i + 1) as u64);
    }
    let verify = ctx.run(&["audit", "verify"]);
    assert_eq!(code(&verify), 0, "{}", stderr(&verify));
    assert!(
        stdout(&verify).contains("1600 records"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn policy_redact_patterns_apply_before_anything_is_written() {
    let ctx = TestContext::with_policy(&format!(
        "{POLICY_ALLOW_ALL}\n[redact]\npatterns = [\"ticket-(?P<secret>[0-9]{{6}})\"]\n"
    ));
    assert_eq!(code(&ctx.run(&["--", "echo", "ticket-123456"])), 0);
    let exported = stdout(&ctx.run(&["audit", "export", "--format", "jsonl"]));
    assert!(exported.contains("ticket-****"), "{exported}");
    assert!(!exported.contains("123456"), "{exported}");
    let check = stdout(&ctx.run(&["check", "--json", "--", "echo", "ticket-123456"]));
    assert!(!check.contains("123456"), "{check}");
}

#[test]
fn show_and_csv_export_from_the_command_line() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "sh", "-c", "exit 4"])), 4);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let out = ctx.run(&["audit", "show"]);
    let shown = stdout(&out);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "header and four records, newest first: {shown}"
    );
    assert_eq!(stderr(&out), "", "nothing was left out");
    assert!(
        lines[1].contains(" exit 0 ") && lines[1].contains(" true "),
        "{shown}"
    );
    assert!(lines[4].contains("sh -c"), "oldest last: {shown}");
    let newest = stdout(&ctx.run(&["audit", "show", "--limit", "1"]));
    assert_eq!(newest.lines().count(), 2, "{newest}");
    let csv = stdout(&ctx.run(&["audit", "export", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("seq,"), "{csv}");
}

/// The sequence numbers of the records `gate audit show ARGS` lists, in order.
fn shown_seqs(ctx: &TestContext, args: &[&str]) -> (Vec<u64>, String) {
    let out = ctx
        .gate()
        .args(["audit", "show"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let seqs = stdout(&out)
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    (seqs, stderr(&out))
}

#[test]
fn show_is_newest_first_and_says_what_it_left_out() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    for _ in 0..11 {
        assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    }
    let (seqs, err) = shown_seqs(&ctx, &[]);
    assert_eq!(seqs, (3..=22).rev().collect::<Vec<u64>>(), "the newest 20");
    assert_eq!(
        err,
        "20 of 22 records shown, newest first; --all or --limit N for more\n"
    );
    let (seqs, err) = shown_seqs(&ctx, &["--all"]);
    assert_eq!(seqs, (1..=22).rev().collect::<Vec<u64>>());
    assert_eq!(err, "", "nothing left out, nothing to say");
    let (seqs, err) = shown_seqs(&ctx, &["--limit", "3", "--decision", "exited"]);
    assert_eq!(seqs, [22, 20, 18]);
    assert!(err.starts_with("3 of 11 records shown"), "{err}");
    let shown = stdout(&ctx.run(&["audit", "show", "--limit", "2"]));
    assert_eq!(
        cell(&shown, 1, "APPROVERS"),
        "-",
        "none on an outcome: {shown}"
    );
    assert_eq!(cell(&shown, 2, "APPROVERS"), "policy", "{shown}");
    assert_eq!(cell(&shown, 2, "REASON"), "-", "{shown}");
    let both = ctx.run(&["audit", "show", "--all", "--limit", "3"]);
    assert_ne!(code(&both), 0, "--all and --limit contradict each other");
}

/// Rewrite the time of records `seqs` as if the clock had said `time` when they
/// were written (in the column and the body; their signatures no longer verify).
fn backdate(ctx: &TestContext, seqs: &[u64], time: &str) {
    let db = rusqlite::Connection::open(ctx.home().join("audit.db")).unwrap();
    db.execute_batch("DROP TRIGGER records_no_update").unwrap();
    for &seq in seqs {
        let body: Vec<u8> = db
            .query_row("SELECT body FROM records WHERE seq = ?1", [seq], |row| {
                row.get(0)
            })
            .unwrap();
        let body = String::from_utf8(body).unwrap();
        let at = body.find("\"time\":\"").unwrap() + 8;
        let body = format!("{}{time}{}", &body[..at], &body[at + 24..]);
        db.execute(
            "UPDATE records SET time = ?1, body = ?2 WHERE seq = ?3",
            rusqlite::params![time, body.into_bytes(), seq],
        )
        .unwrap();
    }
}

#[test]
fn since_takes_a_duration_back_from_now_or_a_date() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    for _ in 0..2 {
        assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    }
    backdate(&ctx, &[1, 2], "2026-01-10T12:00:00.000Z");
    let all = shown_seqs(&ctx, &["--since", "1w"]).0;
    assert_eq!(all, [4, 3], "only today's run");
    assert_eq!(shown_seqs(&ctx, &["--since", "90m"]).0, [4, 3]);
    let since_date = shown_seqs(&ctx, &["--since", "2026-01-10"]).0;
    assert_eq!(since_date, [4, 3, 2, 1]);
    assert_eq!(shown_seqs(&ctx, &["--since", "2026-01-11"]).0, [4, 3]);
    let at_the_instant = ["--since", "2026-01-10T13:00:00+01:00"];
    assert_eq!(shown_seqs(&ctx, &at_the_instant).0, [4, 3, 2, 1]);
    let just_after = ["--since", "2026-01-10T12:00:00.001Z"];
    assert_eq!(shown_seqs(&ctx, &just_after).0, [4, 3]);
    let old = stdout(&ctx.run(&["audit", "show", "--since", "2026-01-01"]));
    assert_eq!(cell(&old, 4, "TIME (UTC)"), "2026-01-10 12:00:00", "{old}");
    let exported = stdout(&ctx.run(&["audit", "export", "--since", "2d"]));
    assert_eq!(
        exported.lines().count(),
        2,
        "export filters the same: {exported}"
    );
}

#[test]
fn a_bad_since_is_a_usage_error_showing_the_forms() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    for command in ["show", "export"] {
        let out = ctx.run(&["audit", command, "--since", "yesterday"]);
        assert_eq!(code(&out), 110, "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--since \"yesterday\""), "{err}");
        assert!(err.contains("2d") && err.contains("2026-11-01"), "{err}");
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }
}

#[test]
fn show_names_the_approvers_and_the_reason() {
    let setup = crate::support::fixtures::FakeBrokerSetup::new();
    let marker = setup.marker();
    let argv = [
        "--reason",
        "fix the deploy",
        "--",
        "touch",
        marker.to_str().unwrap(),
    ];
    let mut waiting = crate::support::waiting::Waiting::spawn(setup.gate(&argv));
    waiting.expect_line("approval requested");
    setup.fake.wait_for_poll();
    setup.fake.approve("alice");
    assert_eq!(waiting.finish().code, 0);
    let out = setup.ctx.run(&["audit", "show", "--decision", "approved"]);
    let shown = stdout(&out);
    assert_eq!(cell(&shown, 1, "APPROVERS"), "alice", "{shown}");
    assert_eq!(cell(&shown, 1, "REASON"), "fix the deploy", "{shown}");
    assert_eq!(cell(&shown, 1, "RULES"), "touch needs approval", "{shown}");
    assert_eq!(cell(&shown, 1, "DECISION"), "approved", "{shown}");
}

/// The cell of table `shown`'s line `line` under the header `column`.
fn cell(shown: &str, line: usize, column: &str) -> String {
    let at = shown.lines().next().unwrap().find(column).unwrap();
    let row = shown.lines().nth(line).unwrap();
    row.get(at..)
        .unwrap_or_default()
        .split("  ")
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn show_fits_columns_and_cuts_only_with_a_width() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let long = "x".repeat(150);
    let reason = "a reason long enough to need cutting on a narrow terminal, surely";
    assert_eq!(
        code(&ctx.run(&["--reason", reason, "--", "echo", &long])),
        0
    );
    let narrow = ctx
        .gate()
        .args(["audit", "show"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let narrow = stdout(&narrow);
    for line in narrow.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} wide: {line}",
            line.chars().count()
        );
    }
    assert!(
        narrow.contains("echo xxx") && narrow.contains('…'),
        "{narrow}"
    );
    assert!(!narrow.contains(&long), "{narrow}");
    let wide = ctx
        .gate()
        .args(["audit", "show", "--wide"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let wide = stdout(&wide);
    assert!(wide.contains(&long) && wide.contains(reason), "{wide}");
    assert!(!wide.contains('…'), "{wide}");
    // A pipe without COLUMNS has no width: nothing is cut.
    let piped = stdout(&ctx.run(&["audit", "show"]));
    assert!(piped.contains(&long) && piped.contains(reason), "{piped}");
}

/// `gate audit show ARGS` on a terminal of `rows` rows (a pty made by `script`),
/// `PAGER` the stand-in `pager` body; `script`'s exit code and what the terminal
/// showed.
fn show_on_a_terminal(ctx: &TestContext, rows: u32, pager: &str, args: &str) -> (i32, String) {
    let path = ctx.write_private("pager", &format!("#!/bin/sh\n{pager}\n"));
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let line = format!(
        "stty rows {rows} cols 120; exec {} audit show {args}",
        gate_bin().display()
    );
    let out = ctx
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .env("PAGER", &path)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` (util-linux) is needed for terminal tests: apt-get install bsdutils");
    (code(&out), stdout(&out))
}

#[test]
fn long_output_on_a_terminal_goes_through_the_pager() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    for _ in 0..6 {
        assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    }
    let paged = ctx.dir.path().join("paged");
    let pager = format!("echo \"LESS=$LESS\" > {}; cat > /dev/null", paged.display());
    let (status, shown) = show_on_a_terminal(&ctx, 10, &pager, "");
    assert_eq!(status, 0, "{shown}");
    assert_eq!(std::fs::read_to_string(&paged).unwrap(), "LESS=FRX\n");
    assert!(!shown.contains("SEQ"), "the pager had the table: {shown}");
    std::fs::remove_file(&paged).unwrap();
    // Short enough for the screen, --no-pager, or not a terminal: printed directly.
    for args in ["--limit 3", "--no-pager"] {
        let (status, shown) = show_on_a_terminal(&ctx, 10, &pager, args);
        assert_eq!(status, 0, "{shown}");
        assert!(shown.contains("SEQ"), "{args}: {shown}");
        assert!(!paged.exists(), "{args}: paged");
    }
    let pager_path = ctx.dir.path().join("pager");
    let piped = ctx
        .gate()
        .args(["audit", "show"])
        .env("PAGER", &pager_path)
        .output()
        .unwrap();
    assert_eq!(stdout(&piped).lines().count(), 13);
    assert!(!paged.exists(), "paged into a pipe");
}

#[test]
fn a_pager_quit_early_or_missing_ends_quietly() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    // One line longer than any pipe holds, so gate is still writing when the pager
    // has gone.
    let long = "y".repeat(100_000);
    assert_eq!(code(&ctx.run(&["--", "true", &long])), 0);
    let (status, shown) = show_on_a_terminal(&ctx, 2, "exit 0", "--wide");
    assert_eq!(status, 0, "{shown}");
    assert!(
        !shown.contains("gate:") && !shown.contains("panic"),
        "{shown}"
    );
    // A pager that cannot start: the table is printed directly.
    let line = format!(
        "stty rows 2 cols 120; exec {} audit show",
        gate_bin().display()
    );
    let out = ctx
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .env("PAGER", ctx.dir.path().join("no-such-pager"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("SEQ"), "{}", stdout(&out));
}

#[test]
fn an_unknown_decision_filter_is_refused_with_the_valid_ones() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    for args in [&["show"][..], &["export", "--format", "jsonl"]] {
        let out = ctx
            .gate()
            .arg("audit")
            .args(args)
            .args(["--decision", "bogus"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 110, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("\"bogus\""), "{err}");
        assert!(
            err.contains("allow, deny,") && err.contains("denied = rejected"),
            "{err}"
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }
    let allowed = stdout(&ctx.run(&["audit", "show", "--decision", "allowed"]));
    assert_eq!(allowed.lines().count(), 2, "{allowed}");
}

/// A redacted weak secret cannot be guessed back from an export: the action
/// digest in each record is keyed with a random per-request key that is written
/// nowhere, so even knowing the exact command one cannot reproduce it, and the
/// same command run twice gets two unrelated digests.
#[test]
fn a_redacted_secret_cannot_be_recovered_from_the_digest() {
    use sha2::{Digest, Sha256};
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let argv = ["echo", "--password=q7x2"];
    for _ in 0..2 {
        assert_eq!(code(&ctx.run(&["--", argv[0], argv[1]])), 0);
    }
    let decisions: Vec<_> = ctx
        .records()
        .into_iter()
        .filter(|r| r["kind"] == "decision")
        .collect();
    assert_eq!(decisions[0]["command"][1], "--password=****");
    let (first, second) = (
        &decisions[0]["action_digest"],
        &decisions[1]["action_digest"],
    );
    assert_ne!(first, second, "the same command got the same digest");
    // What an unkeyed digest of the real command would be: a guess that a
    // verifier with the export could confirm. It is not what the record holds.
    let cwd = ctx.work().canonicalize().unwrap();
    let echo =
        gate::action::resolve_executable("echo", std::env::var_os("PATH").as_deref()).unwrap();
    let mut hasher = Sha256::new();
    hasher.update(b"gate-action-v1\0");
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(&(argv.len() as u64).to_be_bytes());
    for arg in argv {
        field(arg.as_bytes());
    }
    field(cwd.as_os_str().as_encoded_bytes());
    field(echo.as_os_str().as_encoded_bytes());
    let guessable = hex::encode(hasher.finalize());
    assert_ne!(first, &serde_json::json!(guessable));
    assert_ne!(second, &serde_json::json!(guessable));
}

#[test]
fn a_log_copied_elsewhere_verifies_with_db_and_its_key() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let pubkey = ctx.run(&["audit", "pubkey"]);
    let key = ctx.write_private("audit.pub", &stdout(&pubkey));
    let copy = ctx.work().join("copied.db");
    // The log and its write-ahead log, as a backup would take them.
    for suffix in ["", "-wal"] {
        let from = ctx.home().join(format!("audit.db{suffix}"));
        if from.exists() {
            std::fs::copy(&from, ctx.work().join(format!("copied.db{suffix}"))).unwrap();
        }
    }
    let (copy_arg, key_arg) = (copy.to_str().unwrap(), key.to_str().unwrap());
    let out = ctx.run(&["audit", "verify", "--db", copy_arg, "--key", key_arg]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("copied.db"), "{}", stdout(&out));
    // Without the key, --db is a usage error: the local key says nothing about another log.
    let out = ctx.run(&["audit", "verify", "--db", copy_arg]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    // A record edited in the copy is found.
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for trigger in triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{trigger}\""))
            .unwrap();
    }
    conn.execute("UPDATE records SET user = 'mallory' WHERE seq = 1", [])
        .unwrap();
    drop(conn);
    let out = ctx.run(&["audit", "verify", "--db", copy_arg, "--key", key_arg]);
    assert_eq!(code(&out), 107, "{}", stdout(&out));
}

#[test]
fn the_version_names_the_commit() {
    let out = TestContext::new().run(&["--version"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("gate {} (", env!("CARGO_PKG_VERSION")))
            && text.trim_end().ends_with(')'),
        "{text}"
    );
}
