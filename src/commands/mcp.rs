//! `gate mcp`: a Model Context Protocol server on stdio offering one tool,
//! `run_command`, so any MCP client (an agent) runs commands through gate.
//!
//! JSON-RPC 2.0, one message per line (the MCP stdio transport). Each
//! `tools/call` runs on its own thread, so a call waiting for a person does not
//! hold `ping` or other calls; `notifications/cancelled` sends that call's gate
//! SIGTERM (gate cancels a pending request at the broker, or forwards the signal
//! to a running command) and its result is not sent. Each call runs
//! `gate --json -- ARGV` as a child process (this
//! same binary), so a call goes through policy, approval and the audit log exactly
//! like `gate --`, and gate's own exit codes say what happened. Output is captured
//! up to [`OUTPUT_LIMIT`] per stream with the truncation marked. A refusal
//! (deny, denied by a person, timeout, ...) is a tool error whose text is gate's
//! one-line reason. This module never writes anything but protocol messages to
//! stdout. `gate mcp proxy` (`proxy`) gates another MCP server's tools instead.

mod output;
mod proxy;

pub(super) use proxy::{Target, proxy};

use crate::error::{Error, exit};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Protocol revisions this server speaks, newest first. The client's version is
/// answered when listed here, else the newest.
const VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Most bytes of stdout (and of stderr) returned per call.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

pub(super) fn serve(policy: Option<PathBuf>) -> Result<u8, Error> {
    let server = Arc::new(Server {
        policy,
        out: Mutex::new(std::io::stdout()),
        running: Mutex::new(HashMap::new()),
    });
    let mut calls = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Error::Internal(format!("gate mcp: reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        match server.handle(&line) {
            Step::Nothing => {}
            Step::Reply(reply) => server.send(&reply)?,
            Step::Cancel(id) => server.cancel(&id),
            Step::Call(id, call) => {
                server
                    .lock_running()
                    .insert(id.to_string(), CallState::Starting);
                let server = Arc::clone(&server);
                calls.push(std::thread::spawn(move || server.run(id, &call)));
            }
        }
    }
    // The client closed stdin: let running calls finish and be recorded.
    for call in calls {
        let _ = call.join();
    }
    Ok(exit::OK)
}

/// What one incoming message asks for.
enum Step {
    /// A notification or a response: nothing to send.
    Nothing,
    Reply(Value),
    /// `tools/call` of `run_command` with valid arguments.
    Call(Value, output::Call),
    /// `notifications/cancelled` for this request id (as JSON text).
    Cancel(String),
}

struct Server {
    policy: Option<PathBuf>,
    out: Mutex<std::io::Stdout>,
    /// Calls in flight, by request id (as JSON text).
    running: Mutex<HashMap<String, CallState>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CallState {
    Starting,
    Running(u32),
    /// Its gate was sent SIGTERM (or will be, once started); no result is sent.
    Cancelled,
}

/// Send SIGTERM to a call's gate.
fn terminate(pid: u32) {
    // SAFETY: kill(2) on a pid this process spawned and has not reaped yet: a
    // call leaves `running` only after its child was waited for.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

impl Server {
    fn handle(&self, line: &str) -> Step {
        let message: Value = match serde_json::from_str(line) {
            Ok(message) => message,
            Err(e) => {
                let text = format!("parse error: {e}");
                return Step::Reply(error(Value::Null, PARSE_ERROR, &text));
            }
        };
        let Some(object) = message.as_object() else {
            let text = "expected one JSON-RPC object";
            return Step::Reply(error(Value::Null, INVALID_REQUEST, text));
        };
        let id = object.get("id").cloned();
        let params = object.get("params").cloned().unwrap_or(Value::Null);
        let method = object.get("method").and_then(Value::as_str);
        let (Some(method), Some(id)) = (method, id.clone()) else {
            return match (method, id) {
                (Some("notifications/cancelled"), _) => params
                    .get("requestId")
                    .map_or(Step::Nothing, |id| Step::Cancel(id.to_string())),
                // Other notifications (initialized, ...) need nothing.
                (Some(_), _) | (None, None) => Step::Nothing,
                (None, Some(id)) => {
                    Step::Reply(error(id, INVALID_REQUEST, "a request needs a \"method\""))
                }
            };
        };
        if method == "tools/call" {
            return match tool_call(&params) {
                Ok(call) => Step::Call(id, call),
                Err(Ok(result)) => {
                    Step::Reply(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                }
                Err(Err((code, text))) => Step::Reply(error(id, code, &text)),
            };
        }
        Step::Reply(match call(method, &params) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => error(id, code, &message),
        })
    }

    fn send(&self, message: &Value) -> Result<(), Error> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(out, "{message}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::Internal(format!("gate mcp: writing stdout: {e}")))
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CallState>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run one call on this thread and send its result unless it was cancelled.
    fn run(&self, id: Value, call: &output::Call) {
        let key = id.to_string();
        let result = call.run(self.policy.as_deref(), |pid| {
            let mut running = self.lock_running();
            match running.get(&key) {
                Some(CallState::Cancelled) => terminate(pid),
                _ => {
                    running.insert(key.clone(), CallState::Running(pid));
                }
            }
        });
        let cancelled = self.lock_running().remove(&key) == Some(CallState::Cancelled);
        if !cancelled {
            let _ = self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
        }
    }

    fn cancel(&self, key: &str) {
        let mut running = self.lock_running();
        if let Some(state) = running.get_mut(key) {
            if let CallState::Running(pid) = *state {
                terminate(pid);
            }
            *state = CallState::Cancelled;
        }
    }
}

type CallError = Result<Value, (i64, String)>;

/// A `tools/call`: the call to run, or (`Err(Ok)`) a tool error result, or
/// (`Err(Err)`) a protocol error.
fn tool_call(params: &Value) -> Result<output::Call, CallError> {
    let name = params.get("name").and_then(Value::as_str).unwrap_or("");
    if name != "run_command" {
        let text = format!("unknown tool {name:?}; the tool is run_command");
        return Err(Err((INVALID_PARAMS, text)));
    }
    let arguments = params.get("arguments").cloned().unwrap_or(json!({}));
    output::Call::parse(&arguments).map_err(|message| Ok(output::tool_error(&message)))
}

fn call(method: &str, params: &Value) -> Result<Value, (i64, String)> {
    match method {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": [tool()] })),
        other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
    }
}

fn initialize(params: &Value) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = asked
        .filter(|v| VERSIONS.contains(v))
        .unwrap_or(VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "gate", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "Run shell commands through gate: each call is checked against the \
            policy, may wait for a person's approval, and is recorded in the audit log. \
            A refused call says why; do not retry it unchanged.",
    })
}

fn tool() -> Value {
    json!({
        "name": "run_command",
        "description": "Run a command through gate. Give `argv` (program and arguments) or \
            `command` (a shell line, run with sh -c). gate's policy decides: allowed commands \
            run, denied ones are refused with the reason, others wait for a person's approval. \
            Returns the exit status, stdout and stderr (each cut at 64 KiB, marked).",
        "inputSchema": {
            "type": "object",
            "properties": {
                "argv": { "type": "array", "items": { "type": "string" }, "minItems": 1,
                          "description": "Program and arguments, run without a shell." },
                "command": { "type": "string", "description": "A shell line, run with sh -c." },
                "cwd": { "type": "string", "description": "Working directory (absolute)." },
                "reason": { "type": "string", "description": "Why: shown to approvers and kept in the audit log." }
            },
            "additionalProperties": false
        }
    })
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Option<Value> {
        let server = Server {
            policy: None,
            out: Mutex::new(std::io::stdout()),
            running: Mutex::new(HashMap::new()),
        };
        match server.handle(line) {
            Step::Nothing => None,
            Step::Reply(reply) => Some(reply),
            Step::Call(..) => panic!("a call to run: {line}"),
            Step::Cancel(id) => panic!("a cancel of {id}: {line}"),
        }
    }

    #[test]
    fn initialize_answers_the_clients_version_when_supported() {
        let asked = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let answer = reply(asked).unwrap();
        assert_eq!(answer["id"], 1);
        assert_eq!(answer["result"]["protocolVersion"], "2025-06-18");
        assert_eq!(answer["result"]["serverInfo"]["name"], "gate");
        assert!(answer["result"]["capabilities"]["tools"].is_object());

        let future = asked.replace("2025-06-18", "2099-01-01");
        assert_eq!(
            reply(&future).unwrap()["result"]["protocolVersion"],
            VERSIONS[0]
        );
    }

    #[test]
    fn notifications_get_no_reply_and_errors_follow_json_rpc() {
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None
        );
        let unknown = reply(r#"{"jsonrpc":"2.0","id":"x","method":"resources/list"}"#).unwrap();
        assert_eq!(
            (unknown["id"].clone(), unknown["error"]["code"].clone()),
            (json!("x"), json!(METHOD_NOT_FOUND))
        );
        let garbage = reply("{nope").unwrap();
        assert_eq!(garbage["error"]["code"], PARSE_ERROR);
        assert_eq!(garbage["id"], Value::Null);
        let batch = reply("[]").unwrap();
        assert_eq!(batch["error"]["code"], INVALID_REQUEST);
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#).unwrap()["result"],
            json!({})
        );
    }

    #[test]
    fn tools_list_offers_run_command_and_bad_calls_are_tool_errors() {
        let list = reply(r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#).unwrap();
        assert_eq!(list["result"]["tools"][0]["name"], "run_command");
        let unknown =
            reply(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"rm"}}"#)
                .unwrap();
        assert_eq!(unknown["error"]["code"], INVALID_PARAMS);
        let both = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"run_command","arguments":{"argv":["ls"],"command":"ls"}}}"#;
        let answer = reply(both).unwrap();
        assert_eq!(answer["result"]["isError"], true);
        let extra = both.replace(r#","command":"ls""#, r#","shell":true"#);
        let answer = reply(&extra).unwrap();
        assert!(
            answer["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("\"shell\"")
        );
    }
}
