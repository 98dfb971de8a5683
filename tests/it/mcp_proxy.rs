//! `gate mcp proxy` between the official MCP Python SDK as the client and an MCP
//! server written with the same SDK (tests/python/mcp_upstream.py: `echo`,
//! `delete_repo`, `crash`; it logs each call it receives). Allowed calls reach
//! the server and come back; denied ones are tool errors the server never sees;
//! a call needing approval waits on the real broker and is sent once approved;
//! a cancelled one withdraws its request; a crashing server gets every caller an
//! error and gate a clear exit. Every call is in the audit log.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{BROKER_CONFIG_ALICE_APPROVES, POLICY_MCP_TOOLS};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;

fn python(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// The SDK client driving `gate mcp proxy --name upstream -- python3
/// mcp_upstream.py` through `scenario` (see tests/python/mcp_proxy_client.py).
fn client(ctx: &TestContext, scenario: &str) -> std::process::Command {
    let mut command = ctx.command("python3");
    command
        .arg(python("mcp_proxy_client.py"))
        .arg(gate_bin())
        .arg(python("mcp_upstream.py"))
        .arg(ctx.work())
        .arg(scenario)
        .arg("upstream")
        .env("MCP_UPSTREAM_LOG", upstream_log(ctx));
    command
}

/// [`client`] with `broker` as its broker, its key pinned.
fn client_of(ctx: &TestContext, scenario: &str, broker: &Broker) -> std::process::Command {
    let key = broker.pin_key(ctx);
    let mut command = client(ctx, scenario);
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", key);
    command
}

fn upstream_log(ctx: &TestContext) -> PathBuf {
    ctx.dir.path().join("upstream.log")
}

/// The calls the MCP server received, as (tool, arguments).
fn upstream_saw(ctx: &TestContext) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(upstream_log(ctx)).unwrap_or_default();
    text.lines()
        .map(|line| {
            let call: Value = serde_json::from_str(line).unwrap();
            (
                call["tool"].as_str().unwrap().to_string(),
                call["arguments"].clone(),
            )
        })
        .collect()
}

fn decisions(ctx: &TestContext) -> Vec<(String, String)> {
    ctx.records()
        .iter()
        .map(|r| {
            let what = r["command"][2].as_str().unwrap_or_default();
            (
                what.to_string(),
                r["decision"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn one_json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "client failed: {}", stderr(out));
    serde_json::from_str(stdout(out).trim()).expect("one JSON object")
}

#[test]
fn allowed_calls_reach_the_server_and_denied_ones_never_do() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let mut calls = client(&ctx, "calls");
    // No broker: the scratch delete needs approval and cannot ask.
    let seen = one_json(&calls.output().expect("python3"));

    assert_eq!(seen["server"], "upstream", "the server's own initialize");
    // `crash` and `echo` are allowed, `delete_repo` depends on its arguments;
    // nothing is denied outright, so nothing is hidden.
    assert_eq!(seen["tools"], json!(["crash", "delete_repo", "echo"]));
    assert_eq!(seen["echo"], json!({"error": false, "text": "hello"}));

    let prod = &seen["prod"];
    assert_eq!(prod["error"], true);
    let text = prod["text"].as_str().unwrap();
    assert!(
        text.contains("no prod repos") && text.contains("never deleted from an agent"),
        "{text}"
    );
    let scratch = seen["scratch"]["text"].as_str().unwrap();
    assert_eq!(seen["scratch"]["error"], true);
    assert!(scratch.contains("needs approval"), "{scratch}");

    assert_eq!(
        upstream_saw(&ctx),
        [("echo".to_string(), json!({"text": "hello"}))]
    );
    let records = ctx.records();
    let shown: Vec<(String, String)> = decisions(&ctx);
    assert_eq!(
        shown,
        [
            ("echo".into(), "allow".into()),
            ("echo".into(), "exited".into()),
            ("delete_repo".into(), "needs-approval".into()),
            ("delete_repo".into(), "deny".into()),
        ],
        "{records:?}"
    );
    // Arguments are shown as canonical JSON.
    assert_eq!(
        records[3]["command"],
        json!(["mcp", "upstream", "delete_repo", "{\"repo\":\"prod-db\"}"])
    );
    assert_eq!(records[1]["exit_code"], 0);
}

#[test]
fn tools_the_policy_denies_outright_are_hidden_from_the_list() {
    let policy = POLICY_MCP_TOOLS.replace("tool = \"shell\"", "tool = \"crash\"");
    let ctx = TestContext::with_policy(&policy);
    let seen = one_json(&client(&ctx, "calls").output().expect("python3"));
    assert_eq!(seen["tools"], json!(["delete_repo", "echo"]));

    let shown = policy.replace("hide_denied = true", "hide_denied = false");
    ctx.write_policy(&shown);
    let seen = one_json(&client(&ctx, "calls").output().expect("python3"));
    assert_eq!(seen["tools"], json!(["crash", "delete_repo", "echo"]));
}

/// Wait until the broker has a pending request; return it.
fn pending_request(broker: &Broker, token: &str) -> Value {
    let mut since = 0;
    loop {
        let path = format!("/v1/requests?status=pending&wait=30&since={since}");
        let pending = broker.get(&path, Some(token));
        if let Some(first) = pending.body["requests"].get(0) {
            return first.clone();
        }
        let next = pending.body["version"].as_u64().expect("a list version");
        assert!(
            next > since,
            "no request reached the broker: {:?}",
            pending.body
        );
        since = next;
    }
}

#[test]
fn a_call_needing_approval_waits_and_is_sent_once_approved() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let alice = broker.token("alice");
    let waiting = client_of(&ctx, "approve", &broker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");

    let request = pending_request(&broker, &alice);
    // Approvers see the server, the tool and the arguments.
    assert_eq!(
        request["argv"],
        json!(["mcp", "upstream", "delete_repo", "{\"repo\":\"scratch\"}"]),
        "{request}"
    );
    assert!(upstream_saw(&ctx).is_empty(), "sent before the approval");
    let id = request["id"].as_str().unwrap();
    let decided = broker.decide(id, &alice, "approve");
    assert_eq!(decided.status, 200, "{:?}", decided.body);

    let seen = one_json(&waiting.wait_with_output().unwrap());
    assert_eq!(
        seen["approved"],
        json!({"error": false, "text": "deleted scratch"})
    );
    assert_eq!(
        upstream_saw(&ctx),
        [("delete_repo".to_string(), json!({"repo": "scratch"}))]
    );
    let records = ctx.records();
    assert_eq!(
        decisions(&ctx),
        [
            ("delete_repo".into(), "approved".into()),
            ("delete_repo".into(), "exited".into()),
        ]
    );
    assert_eq!(records[0]["approvers"][0]["name"], "alice");
    assert!(records[0]["broker_signature"].is_string());
    assert_eq!(records[0]["action_digest"], request["action_digest"]);
}

#[test]
fn a_call_an_approver_denies_is_a_tool_error_naming_them_and_never_sent() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let alice = broker.token("alice");
    let waiting = client_of(&ctx, "approve", &broker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let request = pending_request(&broker, &alice);
    let id = request["id"].as_str().unwrap();
    let decided = broker.decide(id, &alice, "deny");
    assert_eq!(decided.status, 200, "{:?}", decided.body);

    let seen = one_json(&waiting.wait_with_output().unwrap());
    assert_eq!(seen["approved"]["error"], true, "{seen}");
    let text = seen["approved"]["text"].as_str().unwrap();
    assert!(text.contains("denied by alice"), "{text}");
    assert!(upstream_saw(&ctx).is_empty());
    assert_eq!(decisions(&ctx), [("delete_repo".into(), "rejected".into())]);
}

/// `gate mcp proxy` spoken to line by line, for what the SDK does not let a
/// test time: cancelling, and the server dying.
struct Session {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Session {
    /// With `name`, `--name NAME`; else the server is named after its program.
    fn start(ctx: &TestContext, env: &[(&str, &std::ffi::OsStr)], name: Option<&str>) -> Session {
        let mut command = ctx.gate();
        command.args(["mcp", "proxy"]);
        if let Some(name) = name {
            command.args(["--name", name]);
        }
        command
            .args(["--", "python3"])
            .arg(python("mcp_upstream.py"))
            .env("MCP_UPSTREAM_LOG", upstream_log(ctx))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take();
        let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut session = Session {
            child,
            stdin,
            lines,
        };
        session.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}));
        assert_eq!(
            session.receive()["result"]["serverInfo"]["name"],
            "upstream"
        );
        session.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        session
    }

    fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let line = self.lines.next().expect("a reply").unwrap();
        serde_json::from_str(&line).unwrap()
    }

    fn call(&mut self, id: u64, tool: &str, arguments: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}));
    }
}

#[test]
fn a_cancelled_call_withdraws_its_request_and_is_never_sent() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let key = broker.pin_key(&ctx);
    let alice = broker.token("alice");
    let url = broker.url();
    let env = [
        ("GATE_SERVER", std::ffi::OsStr::new(&url)),
        ("GATE_SERVER_KEY", key.as_os_str()),
    ];
    let mut session = Session::start(&ctx, &env, Some("upstream"));
    session.call(1, "delete_repo", json!({"repo": "scratch"}));
    let request = pending_request(&broker, &alice);
    assert_eq!(request["argv"][1], "upstream");

    // While call 1 waits for a person, other traffic flows both ways.
    session.call(2, "echo", json!({"text": "meanwhile"}));
    let echoed = session.receive();
    assert_eq!(echoed["id"], 2);
    assert_eq!(echoed["result"]["content"][0]["text"], "meanwhile");

    session.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "reason": "user pressed stop"}}),
    );
    let id = request["id"].as_str().unwrap();
    let version = request["version"].as_u64().unwrap();
    let after = broker.get(
        &format!("/v1/requests/{id}?wait=30&since={version}"),
        Some(&alice),
    );
    assert_eq!(after.body["status"], "cancelled", "{:?}", after.body);

    session.stdin.take();
    let rest: Vec<String> = session.lines.by_ref().map(Result::unwrap).collect();
    assert!(
        rest.is_empty(),
        "nothing is answered for a cancelled call: {rest:?}"
    );
    assert!(session.child.wait().unwrap().success());
    assert_eq!(
        upstream_saw(&ctx),
        [("echo".to_string(), json!({"text": "meanwhile"}))]
    );
    let shown = decisions(&ctx);
    assert!(
        shown.contains(&("delete_repo".into(), "cancelled".into())),
        "{shown:?}"
    );
}

#[test]
fn a_server_that_dies_gets_callers_an_error_and_gate_exits_with_one_line() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let mut session = Session::start(&ctx, &[], None);
    session.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "crash", "arguments": {"code": 3}}}));
    let answer = session.receive();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exited"),
        "{answer}"
    );
    let status = session.child.wait().unwrap();
    assert_eq!(status.code(), Some(112));
    let mut err = String::new();
    use std::io::Read;
    session
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("gate:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(
        ours[0].contains("MCP server") && ours[0].contains("exit status: 3"),
        "{err}"
    );
    let shown = decisions(&ctx);
    assert_eq!(
        shown,
        [
            ("crash".into(), "allow".into()),
            ("crash".into(), "failed".into())
        ]
    );
    assert_eq!(
        ctx.records()[0]["command"][1],
        "python3",
        "named after its program"
    );
}

#[test]
fn the_sdk_client_sees_an_error_when_the_server_crashes() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let out = client(&ctx, "crash").output().expect("python3");
    let seen = one_json(&out);
    assert_eq!(seen["echo"], json!({"error": false, "text": "before"}));
    let error = seen["crash_error"].as_str().expect("an error");
    assert!(error.contains("exited"), "{seen}");
}

#[test]
fn gate_check_and_policy_test_decide_tool_calls() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let out = ctx.run(&[
        "check",
        "--json",
        "--tool",
        "upstream",
        "delete_repo",
        "--arguments",
        r#"{"repo": "prod-db", "token": "hunter2"}"#,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let explained: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(explained["decision"], "deny");
    assert_eq!(explained["rules"], json!(["no prod repos"]));
    assert_eq!(
        explained["command"],
        json!([
            "mcp",
            "upstream",
            "delete_repo",
            "{\"repo\":\"prod-db\",\"token\":\"****\"}"
        ])
    );
    let out = ctx.run(&["check", "--tool", "upstream", "shell"]);
    assert!(
        stdout(&out).starts_with("decision: deny"),
        "{}",
        stdout(&out)
    );

    let out = ctx.run(&["policy", "test"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let failing = POLICY_MCP_TOOLS.replace("expect = \"approve\"", "expect = \"allow\"");
    ctx.write_policy(&failing);
    let out = ctx.run(&["policy", "test"]);
    assert_eq!(code(&out), 108, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("mcp upstream delete_repo"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn under_strict_forwarding_a_call_is_sent_only_once_the_broker_has_its_record() {
    let policy = format!("{POLICY_MCP_TOOLS}\n[audit]\nforward = \"strict\"\n");
    let ctx = TestContext::with_policy(&policy);
    // Nothing listens on port 9 of the loopback.
    let env = [("GATE_SERVER", std::ffi::OsStr::new("http://127.0.0.1:9"))];
    let mut session = Session::start(&ctx, &env, Some("upstream"));
    session.call(1, "echo", json!({"text": "hello"}));
    let answer = session.receive();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("forward = \"strict\""), "{text}");
    session.stdin.take();
    assert!(session.child.wait().unwrap().success());
    assert!(upstream_saw(&ctx).is_empty());
    assert_eq!(
        decisions(&ctx),
        [
            ("echo".into(), "allow".into()),
            ("echo".into(), "failed".into())
        ]
    );
}

/// The test server on Streamable HTTP, killed when dropped.
struct HttpUpstream {
    child: std::process::Child,
    url: String,
}

impl HttpUpstream {
    fn start(ctx: &TestContext) -> HttpUpstream {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = ctx
            .command("python3")
            .arg(python("mcp_upstream.py"))
            .args(["--http", &port.to_string()])
            .env("MCP_UPSTREAM_LOG", upstream_log(ctx))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the HTTP server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        HttpUpstream {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for HttpUpstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_streamable_http_server_is_gated_the_same_way() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let upstream = HttpUpstream::start(&ctx);
    let out = client(&ctx, "calls")
        .env("MCP_UPSTREAM_URL", &upstream.url)
        .output()
        .expect("python3");
    let seen = one_json(&out);
    assert_eq!(seen["server"], "upstream");
    assert_eq!(seen["tools"], json!(["crash", "delete_repo", "echo"]));
    assert_eq!(seen["echo"], json!({"error": false, "text": "hello"}));
    assert_eq!(seen["prod"]["error"], true);
    assert!(
        seen["prod"]["text"]
            .as_str()
            .unwrap()
            .contains("no prod repos"),
        "{seen}"
    );
    assert_eq!(seen["scratch"]["error"], true);
    assert_eq!(
        upstream_saw(&ctx),
        [("echo".to_string(), json!({"text": "hello"}))]
    );
    assert_eq!(
        decisions(&ctx),
        [
            ("echo".into(), "allow".into()),
            ("echo".into(), "exited".into()),
            ("delete_repo".into(), "needs-approval".into()),
            ("delete_repo".into(), "deny".into()),
        ]
    );
}

#[test]
fn the_sdk_client_giving_up_on_a_call_withdraws_its_request() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_APPROVES);
    let alice = broker.token("alice");
    let out = client_of(&ctx, "cancel", &broker)
        .output()
        .expect("python3");
    let seen = one_json(&out);
    assert!(seen["gave_up"].is_string(), "{seen}");
    assert_eq!(seen["echo"], json!({"error": false, "text": "after"}));
    assert_eq!(
        upstream_saw(&ctx),
        [("echo".to_string(), json!({"text": "after"}))]
    );

    let records = ctx.records();
    let cancelled = records
        .iter()
        .find(|r| r["decision"] == "cancelled")
        .unwrap_or_else(|| panic!("a cancelled record: {records:?}"));
    assert_eq!(cancelled["command"][2], "delete_repo");
    let reason = cancelled["reason"].as_str().unwrap();
    let id = reason
        .strip_prefix("request ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("{reason}"));
    let request = broker.get(&format!("/v1/requests/{id}"), Some(&alice));
    assert_eq!(request.body["status"], "cancelled", "{:?}", request.body);
}

/// The broker decides a tool call under its own `[[tool]]` rules too, whatever
/// the proxy's local policy asked for: here the local policy asks for an
/// approval and the broker's policy denies the tool outright.
#[test]
fn the_brokers_own_tool_rules_hold_whatever_the_local_policy_asks() {
    let ctx = TestContext::with_policy(POLICY_MCP_TOOLS);
    ctx.write_private(
        "org-tools.toml",
        "version = 1\ndefault = \"allow\"\nopaque = \"allow\"\n\
         [[tool]]\nname = \"repositories are deleted by hand\"\naction = \"deny\"\n\
         tool = \"delete_*\"\n",
    );
    let config = format!("{BROKER_CONFIG_ALICE_APPROVES}[policy]\nfile = \"org-tools.toml\"\n");
    let broker = Broker::start(&ctx, &config);
    let out = client_of(&ctx, "approve", &broker)
        .output()
        .expect("python3");
    let seen = one_json(&out);
    assert_eq!(seen["approved"]["error"], true, "{seen}");
    let text = seen["approved"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("the broker's policy denies this command")
            && text.contains("repositories are deleted by hand"),
        "{text}"
    );
    assert!(upstream_saw(&ctx).is_empty(), "never sent");
    assert!(broker.log_has("refused a request"), "{}", broker.log());
}
