//! `gate check`, `gate policy lint|test`, `gate init`, policy lookup and refusal.

use crate::support::common::*;
use crate::support::fixtures::{
    POLICY_ALLOW_ALL, POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES, POLICY_DENY_ALL,
};
use std::os::unix::fs::PermissionsExt;

#[test]
fn check_json_has_decision_commands_and_rules() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES);
    let out = ctx.run(&[
        "check", "--json", "--", "sudo", "-u", "root", "--", "kubectl", "delete", "ns", "a",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["decision"], "deny");
    assert_eq!(value["rules"], serde_json::json!(["deleting namespaces"]));
    let commands = value["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1);
    assert_eq!(
        commands[0]["argv"],
        serde_json::json!(["kubectl", "delete", "ns", "a"])
    );
    assert_eq!(commands[0]["matched"][0]["rule"], "deleting namespaces");
}

#[test]
fn check_runs_nothing_and_explains_every_command() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES);
    let marker = ctx.work().join("ran");
    let line = format!("kubectl get pods && touch {}", marker.display());
    let out = ctx.run(&["check", "--", "bash", "-lc", &line]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("decision: approve\n"), "{text}");
    assert!(text.contains("read-only kubectl"), "{text}");
    assert!(text.contains("touch"), "{text}");
    assert!(!marker.exists());
    assert!(
        !ctx.home().join("audit.db").exists(),
        "check writes no audit record"
    );
}

#[test]
fn normalisation_cases_from_the_contract() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES);
    let decide = |args: &[&str]| -> String {
        let mut all = vec!["check", "--json", "--"];
        all.extend_from_slice(args);
        let out = ctx.run(&all);
        let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        value["decision"].as_str().unwrap().to_string()
    };
    for case in [
        vec!["/usr/local/bin/kubectl", "delete", "ns", "a"],
        vec!["env", "-i", "A=1", "kubectl", "delete", "ns", "a"],
        vec!["sudo", "-u", "root", "--", "kubectl", "delete", "ns", "a"],
        vec!["timeout", "5", "kubectl", "delete", "ns", "a"],
        vec!["bash", "-lc", "cd /x && kubectl delete ns a"],
        vec!["sh", "-c", "echo hi; kubectl delete ns a"],
        vec!["kubectl", "--context", "prod", "delete", "ns", "a"],
        vec!["sh", "-c", "echo a | xargs kubectl delete ns"],
    ] {
        assert_eq!(decide(&case), "deny", "{case:?}");
    }
    assert_eq!(
        decide(&["sh", "-c", "$(echo kubectl) delete ns a"]),
        "approve"
    );
    assert_eq!(decide(&["kubectl", "get", "pods"]), "allow");
}

#[test]
fn lint_reports_every_error_with_position_and_runs_nothing() {
    let ctx = TestContext::with_policy(
        "version = 1\ndefault = \"alow\"\n\n[[rule]]\nname = \"x\"\naction = \"deny\"\nmatch = \"rm [\"\naprovers = []\n",
    );
    let out = ctx.run(&["policy", "lint"]);
    assert_eq!(code(&out), 105);
    let err = stderr(&out);
    let path = ctx.policy_path().display().to_string();
    assert!(err.contains(&format!("{path}:2:")), "{err}");
    assert!(err.contains(&format!("{path}:7:")), "{err}");
    assert!(
        err.contains(&format!("{path}:8:1: unknown key \"aprovers\"")),
        "{err}"
    );
    assert!(err.contains("did you mean \"approvers\""), "{err}");
    assert!(err.contains("did you mean \"allow\""), "{err}");

    let marker = ctx.work().join("ran");
    let out = ctx.run(&["--", "touch", marker.to_str().unwrap()]);
    assert_eq!(code(&out), 105);
    assert!(!marker.exists(), "nothing runs under a bad policy");
}

#[test]
fn lint_and_test_report_a_failing_test_case() {
    let ctx = TestContext::with_policy(&format!(
        "{POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES}\n[[test]]\ncommand = \"kubectl delete ns x\"\nexpect = \"allow\"\n"
    ));
    let out = ctx.run(&["policy", "lint"]);
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("kubectl delete ns x"),
        "{}",
        stderr(&out)
    );

    let out = ctx.run(&["policy", "test"]);
    assert_eq!(code(&out), 108);
    let text = stdout(&out);
    assert!(text.contains("PASS") && text.contains("FAIL"), "{text}");
    assert!(
        stderr(&out).contains("1 of 2 policy tests failed"),
        "{}",
        stderr(&out)
    );

    // The same, as JSON for tools: every case, the failing one marked.
    let out = ctx.run(&["policy", "test", "--json"]);
    assert_eq!(code(&out), 108, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (report["total"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let failing: Vec<&serde_json::Value> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["passed"] == false)
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["command"], "kubectl delete ns x");
    assert_eq!(failing[0]["expect"], "allow");
    assert_eq!(failing[0]["actual"], "deny");
}

#[test]
fn a_writable_policy_is_refused_naming_it() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_KUBECTL_READS_DENY_NS_DELETES);
    std::fs::set_permissions(ctx.policy_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = ctx.run(&["--", "true"]);
    assert_eq!(code(&out), 105);
    let err = stderr(&out);
    assert!(
        err.contains(&ctx.policy_path().display().to_string()) && err.contains("chmod go-w"),
        "{err}"
    );
}

#[test]
fn policy_lookup_order() {
    let ctx = TestContext::new();
    let deny_all = POLICY_DENY_ALL;
    let allow_all = POLICY_ALLOW_ALL;
    let write = |path: &std::path::Path, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let decision = |command: &mut std::process::Command| -> String {
        let out = command
            .args(["check", "--json", "--", "some-tool"])
            .output()
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        value["policy"].as_str().unwrap().to_string()
    };
    // Nothing anywhere: the built-in default.
    assert!(decision(&mut ctx.gate()).contains("built-in"));
    // The per-user policy under GATE_HOME.
    write(&ctx.home().join("policy.toml"), allow_all);
    assert!(decision(&mut ctx.gate()).ends_with("home/policy.toml"));
    // ./.gate/policy.toml beats it.
    write(&ctx.work().join(".gate/policy.toml"), deny_all);
    assert_eq!(decision(&mut ctx.gate()), ".gate/policy.toml");
    // GATE_POLICY beats that, --policy beats everything.
    let env_policy = ctx.dir.path().join("env.toml");
    write(&env_policy, allow_all);
    assert_eq!(
        decision(ctx.gate().env("GATE_POLICY", &env_policy)),
        env_policy.display().to_string()
    );
    let flag_policy = ctx.dir.path().join("flag.toml");
    write(&flag_policy, allow_all);
    let out = ctx
        .gate()
        .env("GATE_POLICY", &env_policy)
        .args([
            "check",
            "--policy",
            flag_policy.to_str().unwrap(),
            "--json",
            "--",
            "x",
        ])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["policy"], flag_policy.display().to_string());
}

#[test]
fn a_changed_policy_is_never_served_from_cache() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    ctx.write_policy(POLICY_DENY_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 100);
    ctx.write_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
}

#[test]
fn init_writes_policy_and_key_and_never_overwrites() {
    let ctx = TestContext::new();
    let out = ctx.run(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let policy = ctx.home().join("policy.toml");
    let key = ctx.home().join("audit.key");
    assert!(policy.exists() && key.exists());
    std::fs::write(&policy, "version = 1\n# mine\n").unwrap();
    let key_before = std::fs::read(&key).unwrap();
    let out = ctx.run(&["init"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(&policy).unwrap(),
        "version = 1\n# mine\n"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_before);
}

#[test]
fn shipped_policies_pass_their_own_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let ctx = TestContext::new();
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // Copy so the check of group/world-writable files sees a private file.
            let copy = ctx.dir.path().join(path.file_name().unwrap());
            std::fs::copy(&path, &copy).unwrap();
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
            let out = ctx.run(&["policy", "test", copy.to_str().unwrap()]);
            assert_eq!(
                code(&out),
                0,
                "{}: {}{}",
                path.display(),
                stdout(&out),
                stderr(&out)
            );
            count += 1;
        }
    }
    assert!(
        count >= 6,
        "expected the six starter policies, found {count}"
    );
}

#[test]
fn a_cached_policy_decides_exactly_like_a_fresh_parse() {
    // The first call parses and writes the cache; later calls decode only the rules
    // a command could match. Every answer must be the same.
    let mut policy = String::from("version = 1\ndefault = \"approve\"\nopaque = \"approve\"\n");
    for i in 0..300 {
        let program = if i % 50 == 0 {
            "*".to_string()
        } else {
            format!("tool{}", i % 40)
        };
        let action = ["allow", "deny", "approve"][i % 3];
        policy.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\naction = \"{action}\"\nmatch = \"{program} ** verb{} **\"\n",
            i % 7
        ));
    }
    let ctx = TestContext::with_policy(&policy);
    let lines = [
        "tool3 verb3 x",
        "tool5 a verb6",
        "sh -c 'tool1 verb1; tool2 verb2'",
        "other verb0",
    ];
    let explain = |line: &str| {
        let out = ctx.run(&["check", "--json", "--", "sh", "-c", line]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    let cache = ctx.home().join("cache");
    for line in lines {
        let _ = std::fs::remove_dir_all(&cache);
        let fresh = explain(line);
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            1,
            "one cache entry"
        );
        assert_eq!(explain(line), fresh, "{line}");
    }
}
