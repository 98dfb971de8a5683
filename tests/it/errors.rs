//! Errors a new user meets by mistake: each must name the real problem and the fix.

use crate::support::common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_directory_given_as_the_policy_is_called_a_directory() {
    let ctx = TestContext::new();
    let dir = ctx.dir.path().join("policies");
    std::fs::create_dir(&dir).unwrap();
    // World-writable like /tmp: the permissions are not the problem to report.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = ctx.run(&["--policy", dir.to_str().unwrap(), "--", "true"]);
    assert_ne!(code(&out), 0);
    let err = stderr(&out);
    assert!(
        err.contains(&dir.display().to_string()) && err.contains("is a directory"),
        "{err}"
    );
    assert!(!err.contains("chmod"), "{err}");
}

const DURATION_LOOKS_LIKE: &str = "such as \"90s\", \"15m\" or \"1h30m\"";

#[test]
fn a_timeout_without_a_unit_or_in_words_says_what_a_duration_looks_like() {
    for timeout in ["15", "\"fifteen\""] {
        let ctx =
            TestContext::with_policy(&format!("version = 1\n[approval]\ntimeout = {timeout}\n"));
        let out = ctx.run(&["policy", "lint"]);
        assert_eq!(code(&out), 105);
        let err = stderr(&out);
        assert!(
            err.contains(":3:11: ") && err.contains(DURATION_LOOKS_LIKE),
            "{err}"
        );

        let config = ctx.write_private(
            "broker.toml",
            &format!(
                "version = 1\n[people.alice]\nunix = \"alice\"\n[defaults]\ntimeout = {timeout}\n"
            ),
        );
        let out = ctx.run(&[
            "serve",
            "token",
            "create",
            "alice",
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 105);
        let err = stderr(&out);
        assert!(
            err.contains("broker.toml:5:11: ") && err.contains(DURATION_LOOKS_LIKE),
            "{err}"
        );
    }
}

#[test]
fn a_zero_default_quorum_asks_for_one_or_more_and_not_to_remove_a_rule() {
    let ctx = TestContext::with_policy("version = 1\n[approval]\nquorum = 0\n");
    let out = ctx.run(&["policy", "lint"]);
    assert_eq!(code(&out), 105);
    let err = stderr(&out);
    assert!(err.contains("quorum must be at least 1"), "{err}");
    assert!(
        err.contains("[approval] quorum is the number of approvals"),
        "{err}"
    );
    assert!(!err.contains("remove the rule"), "{err}");
}

#[test]
fn lint_counts_the_problems_and_says_the_policy_is_unusable_not_that_nothing_ran() {
    let ctx = TestContext::with_policy("version = 1\ndefault = \"alow\"\nopaque = \"maybe\"\n");
    let out = ctx.run(&["policy", "lint"]);
    assert_eq!(code(&out), 105);
    let last = stderr(&out)
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        last,
        "gate: the policy has 2 errors; until they are fixed gate refuses every command under it"
    );

    let out = ctx.run(&["policy", "test"]);
    assert_eq!(code(&out), 105);
    assert!(
        !stderr(&out).contains("nothing was run"),
        "{}",
        stderr(&out)
    );

    let ctx = TestContext::with_policy(
        "version = 1\ndefault = \"deny\"\n[[test]]\ncommand = \"ls\"\nexpect = \"allow\"\n",
    );
    let out = ctx.run(&["policy", "lint"]);
    let err = stderr(&out);
    assert!(err.contains("gate: 1 policy test failed;"), "{err}");
    assert!(!err.contains("nothing was run"), "{err}");
}

#[test]
fn a_program_where_a_subcommand_belongs_is_shown_after_the_separator() {
    let ctx = TestContext::with_policy(crate::support::fixtures::POLICY_ALLOW_ALL);
    let cases = [
        (&["ls", "-la"][..], "gate -- ls -la"),
        (&["kubectl", "get", "pods"][..], "gate -- kubectl get pods"),
    ];
    for (args, suggestion) in cases {
        let out = ctx.run(args);
        assert_eq!(code(&out), 110, "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("'{}' is not a gate command", args[0]))
                && err.contains(suggestion),
            "{err}"
        );
    }
    let out = ctx.run(&["polcy", "lint"]);
    assert_eq!(code(&out), 110);
    assert_eq!(
        stderr(&out).trim_end(),
        "gate: unknown command 'polcy', did you mean 'policy'?"
    );
}

#[test]
fn approver_usage_shows_the_token_may_come_from_gate_token() {
    let ctx = TestContext::new();
    for command in ["approve", "deny", "pending", "inbox"] {
        let out = ctx.run(&[command, "--help"]);
        assert_eq!(code(&out), 0);
        let help = stdout(&out);
        let usage = help
            .lines()
            .find(|l| l.starts_with("Usage:"))
            .unwrap_or_default();
        assert!(
            usage.contains("[--token TOKEN | GATE_TOKEN]"),
            "{command}: {usage}"
        );
    }
    let out = ctx.run(&["approve"]);
    assert_eq!(code(&out), 110);
    assert!(
        stderr(&out).contains("[--token TOKEN | GATE_TOKEN]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_test_lines_show_the_context_that_sets_cases_apart() {
    let ctx = TestContext::with_policy(
        r#"version = 1
default = "allow"
[[rule]]
name = "prod"
action = "deny"
match = "kubectl delete **"
env = { KUBE_CONTEXT = "prod-*" }
[[test]]
command = "kubectl delete ns a"
expect = "allow"
[[test]]
command = "kubectl delete ns a"
expect = "deny"
env = { KUBE_CONTEXT = "prod-east" }
actor = "deploy-bot"
cwd = "/srv"
"#,
    );
    let out = ctx.run(&["policy", "test"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert!(
        lines[0].ends_with(": kubectl delete ns a -> allow"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with(
            ": kubectl delete ns a [env KUBE_CONTEXT=prod-east, actor deploy-bot, cwd /srv] -> deny"
        ),
        "{lines:?}"
    );
}
