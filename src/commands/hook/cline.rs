//! Cline (`gate hook cline`), an executable `.clinerules/hooks/PreToolUse` (or
//! `~/Documents/Cline/Hooks/PreToolUse`).
//!
//! Cline (apps/vscode/src/core/hooks/hook-factory.ts, sdk/hooks-adapter.ts) sends
//! `{clineVersion, hookName, timestamp, taskId, workspaceRoots, userId,
//! preToolUse: {toolName, parameters}}` and reads `{cancel, contextModification,
//! errorMessage}` on stdout. A non-zero exit, the fixed 30-second timeout or
//! output it cannot parse is logged and the tool runs, so every answer is whole
//! JSON on exit 0. `cancel: true` is Cline's only way to stop a tool: it stops the
//! task, and the user resumes it. Cline does not run a rewritten command, so an
//! approved command is answered with the `gate --ticket` line to run instead.

use super::host::{Call, Decision, Host, Reply, ShellCall, reason};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub struct Cline;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    hook_name: String,
    #[serde(default)]
    task_id: Option<String>,
    #[serde(default)]
    workspace_roots: Vec<String>,
    pre_tool_use: PreToolUse,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreToolUse {
    tool_name: String,
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
}

impl Host for Cline {
    const AGENT: &'static str = "cline";
    const DEFAULT_WAIT: Option<Duration> = Some(Duration::from_secs(20));
    /// Cline's hook timeout is a fixed 30 seconds.
    const MAX_WAIT: Option<Duration> = Some(Duration::from_secs(25));
    const REWRITES: bool = false;

    fn parse(text: &str) -> Result<Call, String> {
        let event: Event = super::parse_json(text, "Cline PreToolUse")?;
        if event.hook_name != "PreToolUse" {
            return Err(format!(
                "gate hook cline handles PreToolUse, not {:?}; install it as hooks/PreToolUse",
                event.hook_name
            ));
        }
        let tool = event.pre_tool_use.tool_name;
        if tool != "execute_command" {
            return Ok(Call::Other(tool));
        }
        let Some(Value::String(line)) = event.pre_tool_use.parameters.get("command") else {
            return Err("gate refused the tool call: execute_command has no command".into());
        };
        // Cline runs commands in the (first) workspace root.
        let cwd = match event.workspace_roots.first() {
            Some(root) => PathBuf::from(root),
            None => std::env::current_dir().map_err(|e| {
                format!("gate refused the tool call: no workspace root and no directory: {e}")
            })?,
        };
        Ok(Call::Shell(ShellCall {
            line: line.clone(),
            cwd,
            session: event.task_id,
            description: None,
            tool_input: json!({"command": line}),
        }))
    }

    fn reply(decision: &Decision, _input: Option<&Value>) -> Reply {
        match decision {
            Decision::Pass | Decision::Allow { .. } => Reply::json(json!({"cancel": false})),
            // Cline cannot ask: a question it cannot put is a stop.
            Decision::Deny(_) | Decision::Ask(_) => Reply::json(json!({
                "cancel": true,
                "errorMessage": reason(decision),
                "contextModification": reason(decision),
            })),
        }
    }
}
