//! `gate mcp`: a Model Context Protocol server on stdio offering one tool,
//! `run_command`, so any MCP client (an agent) runs commands through gate.
//!
//! JSON-RPC 2.0, one message per line (the MCP stdio transport), answered in
//! order. Each `tools/call` runs `gate --json -- ARGV` as a child process (this
//! same binary), so a call goes through policy, approval and the audit log exactly
//! like `gate --`, and gate's own exit codes say what happened. Output is captured
//! up to [`OUTPUT_LIMIT`] per stream with the truncation marked. A refusal
//! (deny, denied by a person, timeout, ...) is a tool error whose text is gate's
//! one-line reason. This module never writes anything but protocol messages to
//! stdout.

mod output;

use crate::error::{Error, exit};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;

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
    let server = Server { policy };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| Error::Internal(format!("gate mcp: reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(reply) = server.handle(&line) {
            writeln!(stdout, "{reply}")
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::Internal(format!("gate mcp: writing stdout: {e}")))?;
        }
    }
    Ok(exit::OK)
}

struct Server {
    policy: Option<PathBuf>,
}

impl Server {
    /// The reply to one message; `None` for a notification or a response.
    fn handle(&self, line: &str) -> Option<Value> {
        let message: Value = match serde_json::from_str(line) {
            Ok(message) => message,
            Err(e) => {
                return Some(error(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("parse error: {e}"),
                ));
            }
        };
        let Some(object) = message.as_object() else {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "expected one JSON-RPC object",
            ));
        };
        let id = object.get("id").cloned();
        let Some(method) = object.get("method").and_then(Value::as_str) else {
            // A response to a request we never send, or garbage: a reply only when it has an id.
            return id.map(|id| error(id, INVALID_REQUEST, "a request needs a \"method\""));
        };
        let id = id?; // notifications (initialized, cancelled, ...) get no reply
        let params = object.get("params").cloned().unwrap_or(Value::Null);
        Some(match self.call(method, &params) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => error(id, code, &message),
        })
    }

    fn call(&self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        match method {
            "initialize" => Ok(initialize(params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": [tool()] })),
            "tools/call" => self.tools_call(params),
            other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
        }
    }

    fn tools_call(&self, params: &Value) -> Result<Value, (i64, String)> {
        let name = params.get("name").and_then(Value::as_str).unwrap_or("");
        if name != "run_command" {
            return Err((
                INVALID_PARAMS,
                format!("unknown tool {name:?}; the tool is run_command"),
            ));
        }
        let arguments = params.get("arguments").cloned().unwrap_or(json!({}));
        let call = match output::Call::parse(&arguments) {
            Ok(call) => call,
            Err(message) => return Ok(output::tool_error(&message)),
        };
        Ok(call.run(self.policy.as_deref()))
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
        Server { policy: None }.handle(line)
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
