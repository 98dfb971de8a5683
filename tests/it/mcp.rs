//! `gate mcp` driven by a real MCP client: the official Python SDK (PyPI `mcp`)
//! lists the tool, runs an allowed command (output and exit status), a shell
//! line, a denied command (a tool error with the reason) and a large output
//! (cut, marked); every call lands in the audit log like `gate --`. A call that
//! needs approval waits on the real broker and, when nobody decides, comes back
//! as a tool error with gate's timeout reason.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_APPROVES, POLICY_APPROVE_TOUCH, POLICY_DENY_RM,
    policy_approve_touch_timeout,
};

fn client(ctx: &TestContext) -> std::process::Command {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mcp_client.py");
    let mut command = ctx.command("python3");
    command.arg(script).arg(gate_bin()).arg(ctx.work());
    command
}

#[test]
fn the_python_sdk_lists_and_calls_run_command_through_policy_and_audit() {
    let ctx = TestContext::with_policy(POLICY_DENY_RM);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mcp_client.py");
    let out = ctx
        .command("python3")
        .arg(script)
        .arg(gate_bin())
        .arg(ctx.work())
        .output()
        .expect("python3");
    assert!(out.status.success(), "client failed: {}", stderr(&out));
    let seen: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON object");

    assert_eq!(seen["server"], "gate");
    assert_eq!(seen["tools"], serde_json::json!(["run_command"]));
    assert_eq!(seen["schema"]["type"], "object");

    let allowed = &seen["allowed"];
    assert_eq!(allowed["error"], false);
    assert_eq!(allowed["structured"]["exit_code"], 3);
    assert_eq!(allowed["structured"]["stdout"], "hello\n");
    assert_eq!(allowed["structured"]["stderr"], "oops\n");
    assert!(
        allowed["text"]
            .as_str()
            .unwrap()
            .starts_with("exit status: 3")
    );

    assert_eq!(seen["line"]["error"], false);
    assert!(
        seen["line"]["text"]
            .as_str()
            .unwrap()
            .contains("from-a-line")
    );

    let denied = &seen["denied"];
    assert_eq!(denied["error"], true);
    let text = denied["text"].as_str().unwrap();
    assert!(
        text.contains("no rm") && text.contains("deleting files is not allowed"),
        "{text}"
    );
    assert!(text.contains("(gate exit code 100)"), "{text}");

    let big = &seen["big"];
    assert_eq!(big["error"], false);
    assert_eq!(big["truncated"], true);
    assert!(
        big["tail"].as_str().unwrap().contains("output truncated"),
        "{big}"
    );
    assert!(big["length"].as_u64().unwrap() < 70_000, "{big}");

    assert_eq!(seen["bad"]["error"], true);

    // Every call went through gate's audit log: the denial and the runs.
    let records = ctx.records();
    let decisions: Vec<_> = records
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| r["decision"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        decisions,
        ["allow", "allow", "deny", "allow"],
        "{records:?}"
    );
    let reason = records
        .iter()
        .find(|r| r["command"] == serde_json::json!(["sh", "-c", "echo from-a-line"]))
        .and_then(|r| r["reason"].as_str().map(str::to_string));
    assert_eq!(reason.as_deref(), Some("testing"));
}

#[test]
fn a_call_nobody_approves_in_time_is_a_tool_error_with_the_reason() {
    let ctx = TestContext::with_policy(&policy_approve_touch_timeout("2s"));
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let key = broker.pin_key(&ctx);
    let out = client(&ctx)
        .arg("approval")
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &key)
        .output()
        .expect("python3");
    assert!(out.status.success(), "client failed: {}", stderr(&out));
    let seen: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(seen["error"], true, "{seen}");
    let text = seen["text"].as_str().unwrap();
    assert!(
        text.contains("expired") && text.contains("(gate exit code 102)"),
        "{text}"
    );
    assert!(!ctx.work().join("approved-file").exists());
    let decision = ctx
        .records()
        .into_iter()
        .find(|r| r["kind"] == "decision")
        .unwrap();
    assert_eq!(decision["decision"], "timed-out");
}

/// `gate mcp` spoken to directly, one JSON-RPC line at a time.
struct Session {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Session {
    fn start(mut command: std::process::Command) -> Session {
        use std::process::Stdio;
        let mut child = command
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        use std::io::BufRead;
        Session {
            child,
            stdin,
            lines: stdout.lines(),
        }
    }

    fn send(&mut self, message: serde_json::Value) {
        use std::io::Write;
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> serde_json::Value {
        let line = self.lines.next().expect("a reply").unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

#[test]
fn a_cancelled_call_cancels_its_request_and_other_calls_keep_flowing() {
    let ctx = TestContext::with_policy(POLICY_APPROVE_TOUCH);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let key = broker.pin_key(&ctx);
    let alice = broker.token("alice");
    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &key);
    let mut session = Session::start(command);

    session.send(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}));
    assert_eq!(session.receive()["result"]["protocolVersion"], "2025-06-18");
    session.send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    session.send(
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "run_command", "arguments": {"argv": ["touch", "never"]}}}),
    );

    // The request reaches the broker (long-poll on the pending list, no sleeping).
    let mut since = 0;
    let request = loop {
        let path = format!("/v1/requests?status=pending&wait=30&since={since}");
        let pending = broker.get(&path, Some(&alice));
        if let Some(first) = pending.body["requests"].get(0) {
            break first.clone();
        }
        let next = pending.body["version"].as_u64().expect("a list version");
        assert!(
            next > since,
            "no request reached the broker: {:?}",
            pending.body
        );
        since = next;
    };
    let id = request["id"].as_str().unwrap().to_string();

    // While call 2 waits for a person, another request is answered.
    session.send(serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}));
    assert_eq!(
        session.receive(),
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "result": {}})
    );

    session.send(
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 2, "reason": "user pressed stop"}}),
    );
    let version = request["version"].as_u64().unwrap();
    let after = broker.get(
        &format!("/v1/requests/{id}?wait=30&since={version}"),
        Some(&alice),
    );
    assert_eq!(after.body["status"], "cancelled", "{:?}", after.body);

    drop(session.stdin);
    let rest: Vec<String> = session.lines.map(Result::unwrap).collect();
    assert!(
        rest.is_empty(),
        "no result is sent for a cancelled call: {rest:?}"
    );
    assert!(session.child.wait().unwrap().success());
    assert!(!ctx.work().join("never").exists());
    let decision = ctx
        .records()
        .into_iter()
        .find(|r| r["kind"] == "decision")
        .unwrap();
    assert_eq!(decision["decision"], "cancelled");
}
