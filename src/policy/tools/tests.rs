use super::*;
use serde_json::json;

const POLICY: &str = r#"
version = 1
default = "allow"

[mcp]
default = "approve"
hide_denied = true

[approval]
approvers = ["alice", "bob"]

[[tool]]
name = "reads"
action = "allow"
tool = "{echo,list_*}"

[[tool]]
name = "no prod repos"
action = "deny"
server = "git*"
tool = "delete_repo"
arguments.repo = "prod-*"
reason = "production repositories are never deleted by an agent"

[[tool]]
name = "repo deletes"
action = "approve"
tool = "delete_repo"
quorum = 2

[[tool]]
name = "no shell"
action = "deny"
tool = "shell"

[[tool]]
name = "forced pushes"
action = "deny"
tool = "push"
arguments = { "options.force" = "true", "refs.0" = "main" }
"#;

fn call(server: &str, tool: &str, arguments: Json) -> ToolCall {
    ToolCall {
        server: server.into(),
        tool: tool.into(),
        arguments,
    }
}

fn decide(server: &str, tool: &str, arguments: Json) -> Verdict {
    let policy = Policy::parse(POLICY, "policy.toml").unwrap();
    policy.evaluate_tool(&call(server, tool, arguments), &Request::default())
}

#[test]
fn tool_rules_match_server_tool_and_arguments_and_strictest_wins() {
    assert_eq!(decide("github", "echo", json!({})).decision, Action::Allow);
    let prod = decide("github", "delete_repo", json!({"repo": "prod-db"}));
    assert_eq!(prod.decision, Action::Deny);
    assert_eq!(prod.rules, ["no prod repos"]);
    assert!(prod.reason.contains("never deleted"), "{}", prod.reason);
    let other = decide("github", "delete_repo", json!({"repo": "scratch"}));
    assert_eq!(other.decision, Action::Approve);
    let approval = other.approval.unwrap();
    assert_eq!(
        (approval.rules, approval.quorum),
        (vec!["repo deletes".to_string()], 2)
    );
    // Another server: the deny's server glob does not match.
    let elsewhere = decide("gitlab-x", "delete_repo", json!({"repo": "prod-db"}));
    assert_eq!(elsewhere.decision, Action::Deny);
    let elsewhere = decide("forge", "delete_repo", json!({"repo": "prod-db"}));
    assert_eq!(elsewhere.decision, Action::Approve);
}

#[test]
fn argument_paths_reach_into_objects_and_arrays_and_match_json_text() {
    let forced = json!({"options": {"force": true}, "refs": ["main", "dev"]});
    assert_eq!(decide("g", "push", forced).decision, Action::Deny);
    let gentle = json!({"options": {"force": false}, "refs": ["main"]});
    assert_eq!(decide("g", "push", gentle).decision, Action::Approve);
    // A missing path does not match.
    assert_eq!(decide("g", "push", json!({})).decision, Action::Approve);
}

#[test]
fn unmatched_calls_get_the_mcp_default_with_approval_defaults() {
    let verdict = decide("any", "unknown_tool", json!({"x": 1}));
    assert_eq!(verdict.decision, Action::Approve);
    assert!(
        verdict.reason.contains("tool default is approve"),
        "{}",
        verdict.reason
    );
    assert_eq!(verdict.approval.unwrap().approvers, ["alice", "bob"]);
    let plain = Policy::parse("version = 1\ndefault = \"deny\"\n", "p.toml").unwrap();
    let verdict = plain.evaluate_tool(&call("s", "t", json!({})), &Request::default());
    assert_eq!(verdict.decision, Action::Deny);
}

#[test]
fn only_tools_denied_whatever_their_arguments_are_denied_outright() {
    let policy = Policy::parse(POLICY, "policy.toml").unwrap();
    let request = Request::default();
    assert!(policy.mcp.hide_denied);
    assert!(policy.denies_tool_outright("any", "shell", &request));
    assert!(!policy.denies_tool_outright("github", "delete_repo", &request));
    assert!(!policy.denies_tool_outright("github", "echo", &request));
}

#[test]
fn canonical_arguments_sort_keys_and_drop_whitespace() {
    let call = call("s", "t", json!({"b": [1, {"z": 1, "a": "x y"}], "a": null}));
    assert_eq!(
        call.canonical_arguments(),
        r#"{"a":null,"b":[1,{"a":"x y","z":1}]}"#
    );
}

#[test]
fn bad_tool_rules_are_reported_at_their_spot() {
    let source = "version = 1\n\
        [mcp]\nhide_denid = true\n\
        [[tool]]\nname = \"x\"\naction = \"deny\"\ntool = \"[\"\narguments.n = 3\nquorum = 2\n\
        [[tool]]\nname = \"y\"\naction = \"allow\"\n\
        [[tool]]\nname = \"y\"\naction = \"allow\"\n\
        [[rule]]\nname = \"z\"\naction = \"allow\"\nmatch = \"ls\"\n\
        [[tool]]\nname = \"z\"\naction = \"allow\"\n";
    let errors = Policy::parse(source, "p.toml").unwrap_err();
    let text: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
    let all = text.join("\n");
    assert!(all.contains("hide_denid"), "{all}");
    assert!(all.contains("arguments.n"), "{all}");
    assert!(
        all.contains("\"quorum\" only applies to approve rules"),
        "{all}"
    );
    assert!(all.contains("\"y\""), "{all}");
    assert!(all.contains("a [[rule]] is already named \"z\""), "{all}");
}

#[test]
fn test_cases_can_be_tool_calls() {
    let source = format!(
        "{POLICY}\n[[test]]\ntool = {{ server = \"github\", name = \"delete_repo\", arguments = {{ repo = \"prod-db\" }} }}\n\
         expect = \"deny\"\n\
         [[test]]\ntool = {{ server = \"github\", name = \"push\", arguments = {{ options = {{ force = true }}, refs = [\"main\"] }} }}\n\
         expect = \"allow\"\n"
    );
    let policy = Policy::parse(&source, "policy.toml").unwrap();
    let outcomes = policy.run_tests();
    assert!(outcomes[0].passed(), "{outcomes:?}");
    assert_eq!(
        outcomes[0].case.command,
        r#"mcp github delete_repo {"repo":"prod-db"}"#
    );
    assert!(!outcomes[1].passed());
    assert_eq!(outcomes[1].actual, Action::Deny);
    let failures = policy.test_failures_as_diagnostics(&source, "policy.toml");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let both =
        "version = 1\n[[test]]\ncommand = \"ls\"\ntool = { server = \"s\" }\nexpect = \"allow\"\n";
    let errors = Policy::parse(both, "p.toml").unwrap_err();
    let all: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
    assert!(all.iter().any(|e| e.contains("both")), "{all:?}");
    assert!(
        all.iter().any(|e| e.contains("missing \"name\"")),
        "{all:?}"
    );
}

#[test]
fn a_ci_verified_tool_rule_never_allows_where_nobody_verified_and_a_deny_asks() {
    let source = "version = 1\n[mcp]\ndefault = \"deny\"\n\
        [[tool]]\nname = \"verified ci\"\naction = \"allow\"\ntool = \"deploy\"\nci_verified = true\n\
        [[tool]]\nname = \"unverified ci\"\naction = \"deny\"\ntool = \"push\"\nci_verified = false\n";
    let policy = Policy::parse(source, "p.toml").unwrap();
    let request = Request::default();
    let deploy = policy.evaluate_tool(&call("s", "deploy", json!({})), &request);
    assert_eq!(deploy.decision, Action::Deny, "{}", deploy.reason);
    let push = policy.evaluate_tool(&call("s", "push", json!({})), &request);
    assert_eq!(push.decision, Action::Approve, "{}", push.reason);
    assert_eq!(push.rules, ["unverified ci"]);
    assert!(push.approval.is_some());
}
