//! Gemini CLI (`gate hook gemini`), a `hooks.BeforeTool` command hook on the
//! `run_shell_command` tool.
//!
//! Gemini CLI (packages/core/src/hooks/hookRunner.ts, docs/hooks/reference.md)
//! reads stdout JSON `{decision: allow|deny, reason}`; exit 2 blocks with stderr
//! as the reason; exit 1, a timeout (SIGTERM, then SIGKILL 5 s later) or a crash
//! lets the tool run. So a deny is both the JSON and exit 2 with the reason on
//! stderr. An approved command comes back as `hookSpecificOutput.tool_input`,
//! which Gemini merges over the model's arguments.

use super::host::{Call, Decision, Host, Reply, ShellCall};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub struct Gemini;

#[derive(Debug, Deserialize)]
struct Event {
    session_id: String,
    cwd: String,
    hook_event_name: String,
    tool_name: String,
    tool_input: Value,
}

/// `run_shell_command`'s parameters (packages/core/src/tools/shell.ts).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ShellInput {
    command: String,
    #[serde(default)]
    description: Option<String>,
    /// Relative to the project directory; the command runs there.
    #[serde(default)]
    dir_path: Option<String>,
    #[serde(default)]
    is_background: Option<bool>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    additional_permissions: Option<Value>,
}

impl Host for Gemini {
    const AGENT: &'static str = "gemini";
    const DEFAULT_WAIT: Option<Duration> = Some(Duration::from_secs(30));
    const REWRITES: bool = true;

    fn parse(text: &str) -> Result<Call, String> {
        let event: Event = super::parse_json(text, "Gemini CLI BeforeTool")?;
        if event.hook_event_name != "BeforeTool" {
            return Err(format!(
                "gate hook gemini handles BeforeTool events, not {:?}; register it under hooks.BeforeTool",
                event.hook_event_name
            ));
        }
        if event.tool_name != "run_shell_command" {
            return Ok(Call::Other(event.tool_name));
        }
        let input: ShellInput = serde_json::from_value(event.tool_input.clone()).map_err(|e| {
            format!("gate refused the tool call: invalid run_shell_command input: {e}")
        })?;
        let cwd = PathBuf::from(event.cwd);
        Ok(Call::Shell(ShellCall {
            line: input.command,
            cwd: input.dir_path.map_or(cwd.clone(), |dir| cwd.join(dir)),
            session: Some(event.session_id),
            description: input.description,
            tool_input: event.tool_input,
        }))
    }

    fn reply(decision: &Decision, _input: Option<&Value>) -> Reply {
        match decision {
            Decision::Pass => Reply::default(),
            Decision::Allow { reason, rewritten } => {
                let mut answer = json!({"decision": "allow", "systemMessage": reason});
                if let Some(line) = rewritten {
                    answer["hookSpecificOutput"] = json!({
                        "hookEventName": "BeforeTool",
                        "tool_input": {"command": line},
                    });
                }
                Reply::json(answer)
            }
            Decision::Deny(reason) | Decision::Ask(reason) => {
                Reply::blocking(json!({"decision": "deny", "reason": reason}), reason)
            }
        }
    }
}
