//! Wrap and run: exit codes, deny, approve without a channel, not found.

use crate::support::common::*;
use crate::support::fixtures::{POLICY_ALLOW_ALL, POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE};

#[test]
fn exit_status_passes_through() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    assert_eq!(code(&ctx.run(&["--", "false"])), 1);
    assert_eq!(code(&ctx.run(&["--", "sh", "-c", "exit 42"])), 42);
}

#[test]
fn died_of_signal_is_128_plus_n() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(
        code(&ctx.run(&["--", "sh", "-c", "kill -TERM $$"])),
        128 + 15
    );
    assert_eq!(
        code(&ctx.run(&["--", "sh", "-c", "kill -KILL $$"])),
        128 + 9
    );
}

#[test]
fn stdio_is_inherited() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx
        .gate()
        .args(["--", "sh", "-c", "read x; echo got:$x; echo err >&2"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"hello\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(stdout(&out), "got:hello\n");
    assert_eq!(stderr(&out), "err\n");
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx.run(&["--", "no-such-program-xyz", "a"]);
    assert_eq!(code(&out), 127);
    assert_eq!(
        stderr(&out),
        "gate: no-such-program-xyz: command not found\n"
    );

    let script = ctx.work().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let out = ctx.run(&["--", "./script.sh"]);
    assert_eq!(code(&out), 126);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("script.sh") && err.contains("cannot execute"),
        "{err}"
    );
}

#[test]
fn deny_runs_nothing_and_names_the_rule() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let marker = ctx.work().join("ran");
    let line = format!("touch {} ; rm -rf /", marker.display());
    let out = ctx.run(&["--", "sh", "-c", &line]);
    assert_eq!(code(&out), 100);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("never wipe") && err.contains("wipes the root filesystem"),
        "{err}"
    );
    assert!(!marker.exists(), "a denied command must not run");
    let records = ctx.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["decision"], "deny");
}

#[test]
fn approve_without_a_channel_fails_closed() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let marker = ctx.work().join("ran");
    let out = ctx.run(&["--", "touch", marker.to_str().unwrap()]);
    assert_eq!(code(&out), 103);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("needs approval") && err.contains("touch needs approval"),
        "{err}"
    );
    assert!(!marker.exists());
}

#[test]
fn json_refusal_is_one_object_on_stdout() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let out = ctx.run(&["--json", "--", "rm", "-rf", "/"]);
    assert_eq!(code(&out), 100);
    let value: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(value["decision"], "deny");
    assert_eq!(value["ran"], false);
    assert_eq!(value["exit_code"], 100);
}

#[test]
fn opaque_command_gets_the_opaque_action() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let out = ctx.run(&["--", "sh", "-c", "$(echo kubectl) delete ns a"]);
    assert_eq!(code(&out), 103, "{}", stderr(&out));
}

#[test]
fn embedded_default_allows_reads_on_a_fresh_install() {
    let ctx = TestContext::new();
    let out = ctx.run(&["--", "ls"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = ctx.run(&["--", "rm", "-rf", "some-dir"]);
    assert_eq!(code(&out), 103, "{}", stderr(&out));
}

#[test]
fn missing_command_is_a_usage_error() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let out = ctx.run(&[]);
    assert_eq!(code(&out), 110);
    assert!(stderr(&out).contains("no command given"));
}

#[test]
fn a_refusal_record_keeps_the_policy_and_requester_reasons() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let out = ctx.run(&["--reason", "cleanup", "--", "rm", "-rf", "/"]);
    assert_eq!(code(&out), 100);
    let records = ctx.records();
    let reason = records[0]["reason"].as_str().unwrap();
    assert!(reason.contains("wipes the root filesystem"), "{reason}");
    assert!(reason.contains("cleanup"), "{reason}");
    assert_eq!(records[0]["rules"], serde_json::json!(["never wipe"]));
}

#[test]
fn a_missing_policy_is_a_bad_policy_naming_the_file() {
    let ctx = TestContext::new();
    let out = ctx.run(&["--policy", "missing.toml", "--", "true"]);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("missing.toml") && err.contains("No such file"),
        "{err}"
    );

    let out = ctx
        .gate()
        .env("GATE_POLICY", "/nonexistent")
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent"), "{}", stderr(&out));
}

#[test]
fn an_unreadable_policy_is_a_bad_policy_naming_the_file() {
    // Unreadable even for root: a path through a file ("Not a directory").
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let path = ctx.policy_path().join("policy.toml");
    let path = path.to_str().unwrap();
    let out = ctx.run(&["--policy", path, "--", "true"]);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains(path), "{}", stderr(&out));
}

/// `--json`: when nothing runs, one JSON object on stdout is gate's whole report.
fn json_only(ctx: &TestContext, args: &[&str], code_wanted: i32) -> serde_json::Value {
    let out = ctx.run(args);
    assert_eq!(code(&out), code_wanted, "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "{args:?}: no text line besides the JSON");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["ran"], false, "{value}");
    assert_eq!(value["exit_code"], code_wanted, "{value}");
    assert!(
        value["message"].as_str().unwrap().starts_with("gate: "),
        "{value}"
    );
    value
}

#[test]
fn json_reports_a_refusal_only_as_json_on_stdout() {
    let ctx = TestContext::with_policy(POLICY_DENY_WIPE_APPROVE_TOUCH_AND_OPAQUE);
    let denied = json_only(&ctx, &["--json", "--", "rm", "-rf", "/"], 100);
    assert_eq!(denied["decision"], "deny");
    let missing = json_only(&ctx, &["--json", "--", "nosuchcmd-gate-test"], 127);
    assert_eq!(missing["decision"], "allow");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("command not found"),
        "{missing}"
    );
    let bad = json_only(
        &ctx,
        &["--json", "--policy", "missing.toml", "--", "true"],
        105,
    );
    assert!(
        bad["message"].as_str().unwrap().contains("missing.toml"),
        "{bad}"
    );
    let ran = ctx.run(&["--json", "--", "echo", "hi"]);
    assert_eq!((code(&ran), stdout(&ran)), (0, "hi\n".to_string()));
}

#[test]
fn policy_help_lists_the_whole_lookup_order() {
    let ctx = TestContext::new();
    for args in [&["--help"][..], &["-h"], &["check", "--help"]] {
        let help = stdout(&ctx.run(args));
        let order = [
            "$GATE_POLICY",
            "./.gate/policy.toml",
            "$GATE_HOME/policy.toml",
            "$XDG_CONFIG_HOME/gate/policy.toml",
            "built-in default",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|item| {
                help.find(item)
                    .unwrap_or_else(|| panic!("{item} in {args:?}: {help}"))
            })
            .collect();
        assert!(at.is_sorted(), "in lookup order: {help}");
        assert!(help.contains("managed.toml"), "{help}");
    }
}

#[test]
fn init_writes_the_users_own_policy_described_as_it_behaves() {
    let ctx = TestContext::new();
    let out = ctx.run(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("commands no rule names run"),
        "{}",
        stdout(&out)
    );
    let path = ctx.home().join("policy.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Your gate policy"), "{text}");
    assert!(!text.contains("built-in policy: used only when"), "{text}");
    assert!(text.contains("default = \"allow\""), "{text}");
    let path = path.to_str().unwrap();
    for args in [["policy", "lint", path], ["policy", "test", path]] {
        let out = ctx.run(&args);
        assert_eq!(code(&out), 0, "{args:?}: {}{}", stdout(&out), stderr(&out));
    }
    // As described: a command no rule names runs, a listed one waits for a person.
    assert_eq!(ctx.decision(&["touch", "notes.txt"]), "allow");
    assert_eq!(ctx.decision(&["rm", "-rf", "build"]), "approve");
    assert_eq!(ctx.decision(&["rm", "-rf", "/"]), "deny");
    let out = ctx.run(&["check", "--", "ls"]);
    assert!(
        stdout(&out).contains(&*ctx.home().join("policy.toml").to_string_lossy()),
        "{}",
        stdout(&out)
    );
}
