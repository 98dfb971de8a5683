//! `gate hook claude-code`: golden stdin/stdout cases (allow, deny, malformed
//! input, unknown fields, other tools) and, against the real broker, approve then
//! allow (the rewritten command runs once under gate and lands in the audit log),
//! approve then deny, and a timeout.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    BROKER_CONFIG_SRE_ALICE_BOB, POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH,
};
use crate::support::waiting::Waiting;
use serde_json::{Value, json};

fn event(ctx: &TestContext, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "abc123",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": ctx.work().canonicalize().unwrap(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01",
    })
}

/// Run the hook on `stdin`; (exit code, stdout).
fn hook(ctx: &TestContext, stdin: &str) -> (i32, String) {
    let out = hook_output(ctx.gate(), stdin);
    (code(&out), stdout(&out))
}

/// Run `gate hook claude-code` (`gate` being `command`) with `stdin` piped in.
fn hook_output(mut command: std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .args(["hook", "claude-code"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn decision(stdout: &str) -> Value {
    serde_json::from_str::<Value>(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
        ["hookSpecificOutput"]
        .clone()
}

#[test]
fn an_allowed_bash_command_is_allowed() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let (code, out) = hook(
        &ctx,
        &event(&ctx, "Bash", json!({"command": "ls -la"})).to_string(),
    );
    assert_eq!(code, 0);
    assert_eq!(
        decision(&out),
        json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "gate: allowed by policy (no rule matched; default is allow)",
        })
    );
}

#[test]
fn a_denied_bash_command_is_denied_with_a_reason_for_the_model() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let input = json!({"command": "cd build && rm -rf out", "description": "clean"});
    let (code, out) = hook(&ctx, &event(&ctx, "Bash", input).to_string());
    assert_eq!(code, 0);
    assert_eq!(
        decision(&out),
        json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "gate refused this command: `cd build && rm -rf out`. \
                Why: rule \"no rm\" denies \"rm -rf out\": deleting files is not allowed here. \
                Do not retry it or a variant of it; choose another way to reach the goal, or \
                tell the user what you need.",
        })
    );
    // The attempt is in the audit trail, with the agent that made it.
    let records = ctx.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["kind"], "decision");
    assert_eq!(record["requester"]["agent"]["name"], "claude-code");
    assert_eq!(record["rules"], json!(["no rm"]));
    let command = record["command"].as_array().unwrap();
    assert_eq!(command.last().unwrap(), "cd build && rm -rf out");
    assert!(ctx.run(&["audit", "verify"]).status.success());
}

#[test]
fn malformed_input_is_a_deny_never_a_crash() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let mut unknown = event(&ctx, "Bash", json!({"command": "ls"}));
    unknown["surprise"] = json!(1);
    let mut wrong_event = event(&ctx, "Bash", json!({"command": "ls"}));
    wrong_event["hook_event_name"] = json!("PostToolUse");
    let cases = [
        ("{not json".to_string(), "invalid PreToolUse event"),
        (String::new(), "invalid PreToolUse event"),
        (unknown.to_string(), "unknown field `surprise`"),
        (
            event(&ctx, "Bash", json!({"cmd": "ls"})).to_string(),
            "invalid Bash tool input",
        ),
        (wrong_event.to_string(), "handles PreToolUse events"),
    ];
    for (stdin, expected) in cases {
        let (code, out) = hook(&ctx, &stdin);
        assert_eq!(code, 0, "{stdin}");
        let decided = decision(&out);
        assert_eq!(decided["permissionDecision"], "deny", "{stdin}");
        let reason = decided["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.contains(expected), "{stdin}: {reason}");
    }
}

#[test]
fn a_bad_policy_denies_every_bash_command() {
    let ctx = TestContext::with_policy("version = 1\ndefualt = \"allow\"\n");
    let (code, out) = hook(
        &ctx,
        &event(&ctx, "Bash", json!({"command": "ls"})).to_string(),
    );
    assert_eq!(code, 0);
    let decided = decision(&out);
    assert_eq!(decided["permissionDecision"], "deny");
    assert!(
        decided["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("policy")
    );
}

#[test]
fn other_tools_pass_through_unless_the_policy_names_them() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let (code, out) = hook(
        &ctx,
        &event(&ctx, "Read", json!({"file_path": "/etc/hosts"})).to_string(),
    );
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "no decision for an unlisted tool"
    );
    let (_, out) = hook(
        &ctx,
        &event(&ctx, "WebFetch", json!({"url": "https://x"})).to_string(),
    );
    assert_eq!(decision(&out)["permissionDecision"], "deny");
    let (_, out) = hook(
        &ctx,
        &event(&ctx, "Write", json!({"file_path": "a", "content": ""})).to_string(),
    );
    assert_eq!(decision(&out)["permissionDecision"], "ask");
}

#[test]
fn the_agent_may_not_run_the_approver_commands() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let input = json!({"command": "GATE_TOKEN=x gate approve r-123"});
    let (_, out) = hook(&ctx, &event(&ctx, "Bash", input).to_string());
    let decided = decision(&out);
    assert_eq!(decided["permissionDecision"], "deny");
    assert!(
        decided["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("never be the approver")
    );
}

struct Setup {
    ctx: TestContext,
    broker: Broker,
}

impl Setup {
    fn new() -> Setup {
        let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
        let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB);
        broker.pin_key(&ctx);
        Setup { ctx, broker }
    }

    fn with_broker(&self, mut command: std::process::Command) -> std::process::Command {
        command
            .env("GATE_SERVER", self.broker.url())
            .env("GATE_SERVER_KEY", self.ctx.dir.path().join("broker.pub"));
        command
    }

    /// The hook waiting on the broker for `line`; it and the request id.
    fn ask(&self, line: &str) -> (Waiting, String) {
        let file = self.ctx.dir.path().join("event.json");
        let stdin = event(
            &self.ctx,
            "Bash",
            json!({"command": line, "description": "make a file"}),
        );
        std::fs::write(&file, stdin.to_string()).unwrap();
        let mut command = self.with_broker(self.ctx.command("sh"));
        command
            .args(["-c", "exec \"$0\" hook claude-code < \"$1\""])
            .arg(gate_bin())
            .arg(&file);
        let mut waiting = Waiting::spawn(command);
        let id = waiting.expect_request_id();
        (waiting, id)
    }

    /// Run a command line the way Claude Code's Bash tool would (it sets CLAUDECODE=1).
    fn bash(&self, line: &str) -> std::process::Output {
        let mut command = self.with_broker(self.ctx.command("bash"));
        command
            .env("CLAUDECODE", "1")
            .args(["-c", line])
            .output()
            .unwrap()
    }
}

#[test]
fn approve_then_allow_runs_the_exact_command_once_under_gate() {
    let setup = Setup::new();
    let (waiting, id) = setup.ask("touch made && exit 4");
    let alice = setup.broker.token("alice");
    assert_eq!(setup.broker.decide(&id, &alice, "approve").status, 200);
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let decided = decision(&done.stdout);
    assert_eq!(decided["permissionDecision"], "allow", "{decided}");
    assert!(
        decided["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("alice")
    );
    let rewritten = decided["updatedInput"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        rewritten.contains(&format!("'--ticket' '{id}'")),
        "{rewritten}"
    );
    assert_eq!(decided["updatedInput"]["description"], "make a file");
    assert!(
        !setup.ctx.work().join("made").exists(),
        "the hook itself runs nothing"
    );

    let ran = setup.bash(&rewritten);
    assert_eq!(code(&ran), 4, "{}", stderr(&ran));
    assert!(setup.ctx.work().join("made").exists());
    let records = setup.ctx.records();
    let decision_record = records.iter().find(|r| r["kind"] == "decision").unwrap();
    assert_eq!(decision_record["decision"], "approved");
    assert_eq!(decision_record["requester"]["agent"]["name"], "claude-code");
    let outcome = records.iter().find(|r| r["kind"] == "outcome").unwrap();
    assert_eq!(outcome["exit_code"], 4);

    // Used once: the ticket is gone and the broker's claim is spent.
    std::fs::remove_file(setup.ctx.work().join("made")).unwrap();
    let again = setup.bash(&rewritten);
    assert_eq!(code(&again), 109, "{}", stderr(&again));
    assert!(!setup.ctx.work().join("made").exists());
}

#[test]
fn an_approval_does_not_stretch_to_another_command() {
    let setup = Setup::new();
    let (waiting, id) = setup.ask("touch approved");
    let alice = setup.broker.token("alice");
    assert_eq!(setup.broker.decide(&id, &alice, "approve").status, 200);
    let done = waiting.finish();
    let rewritten = decision(&done.stdout)["updatedInput"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    let swapped = rewritten.replace("touch approved", "touch other");
    let ran = setup.bash(&swapped);
    assert_eq!(code(&ran), 109, "{}", stderr(&ran));
    assert!(!setup.ctx.work().join("other").exists());
    assert!(
        stderr(&ran).contains("digest") || stderr(&ran).contains("action"),
        "{}",
        stderr(&ran)
    );
}

#[test]
fn approve_then_deny_denies_with_who_and_why() {
    let setup = Setup::new();
    let (waiting, id) = setup.ask("touch nope");
    let bob = setup.broker.token("bob");
    let body = json!({"verdict": "deny", "channel": "cli", "reason": "not during the freeze"});
    let reply = setup
        .broker
        .post(&format!("/v1/requests/{id}/decision"), Some(&bob), &body);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let done = waiting.finish();
    assert_eq!(done.code, 0);
    let decided = decision(&done.stdout);
    assert_eq!(decided["permissionDecision"], "deny");
    let reason = decided["permissionDecisionReason"].as_str().unwrap();
    assert!(
        reason.contains("bob denied") && reason.contains("not during the freeze"),
        "{reason}"
    );
    assert!(decided.get("updatedInput").is_none());
}

#[test]
fn nobody_deciding_in_time_is_a_deny_before_claude_codes_own_timeout() {
    let setup = Setup::new();
    let (waiting, _id) = setup.ask("touch late");
    let done = waiting.finish();
    assert_eq!(done.code, 0);
    let decided = decision(&done.stdout);
    assert_eq!(decided["permissionDecision"], "deny");
    let reason = decided["permissionDecisionReason"].as_str().unwrap();
    assert!(reason.contains("nobody approved"), "{reason}");
}

#[test]
fn an_unreachable_broker_is_a_deny() {
    let mut setup = Setup::new();
    setup.broker.stop();
    let input = json!({"command": "touch never", "description": "x"});
    let stdin = event(&setup.ctx, "Bash", input).to_string();
    let out = hook_output(setup.with_broker(setup.ctx.gate()), &stdin);
    assert_eq!(code(&out), 0);
    let decided = decision(&stdout(&out));
    assert_eq!(decided["permissionDecision"], "deny");
    let reason = decided["permissionDecisionReason"].as_str().unwrap();
    assert!(reason.contains("could not be reached"), "{reason}");
    assert!(!setup.ctx.work().join("never").exists());
}

/// An agent that got hold of (or forged) a ticket cannot launder a command
/// through its own `gate --ticket ID -- CMD` line: the hook judges the CMD inside.
#[test]
fn a_gate_line_of_the_agents_own_is_judged_as_the_command_inside() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let line = "gate --ticket 0123456789abcdef0123456789abcdef -- rm -rf out";
    let (code, out) = hook(
        &ctx,
        &event(&ctx, "Bash", json!({ "command": line })).to_string(),
    );
    assert_eq!(code, 0);
    let answer = decision(&out);
    assert_eq!(answer["permissionDecision"], "deny", "{answer}");
    assert!(
        answer["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("rule \"no rm\""),
        "{answer}"
    );
}
