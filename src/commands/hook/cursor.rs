//! Cursor (`gate hook cursor`), a `beforeShellExecution` hook in
//! `.cursor/hooks.json`.
//!
//! Cursor reads `{permission: allow|deny|ask, user_message, agent_message}` on
//! stdout; exit 2 also denies; with `failClosed: true` in hooks.json a crash,
//! timeout or unparsable output blocks too (without it they let the command
//! run). Cursor does not run a rewritten command, so an approved command is
//! answered with the `gate --ticket` line to run instead.

use super::host::{Call, Decision, Host, Reply, ShellCall};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub struct Cursor;

#[derive(Debug, Deserialize)]
struct Event {
    hook_event_name: String,
    #[serde(default)]
    conversation_id: Option<String>,
    command: String,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    workspace_roots: Vec<String>,
}

impl Host for Cursor {
    const AGENT: &'static str = "cursor";
    const DEFAULT_WAIT: Option<Duration> = Some(Duration::from_secs(20));
    const REWRITES: bool = false;

    fn parse(text: &str) -> Result<Call, String> {
        let event: Event = super::parse_json(text, "Cursor beforeShellExecution")?;
        if event.hook_event_name != "beforeShellExecution" {
            return Err(format!(
                "gate hook cursor handles beforeShellExecution events, not {:?}",
                event.hook_event_name
            ));
        }
        let cwd = event
            .cwd
            .filter(|cwd| !cwd.is_empty())
            .or_else(|| event.workspace_roots.first().cloned())
            .ok_or("gate refused the tool call: the event names no directory (cwd)")?;
        Ok(Call::Shell(ShellCall {
            line: event.command.clone(),
            cwd: PathBuf::from(cwd),
            session: event.conversation_id,
            description: None,
            tool_input: json!({"command": event.command}),
        }))
    }

    fn reply(decision: &Decision, _input: Option<&Value>) -> Reply {
        match decision {
            Decision::Pass => Reply::json(json!({"permission": "allow"})),
            Decision::Allow { reason, .. } => Reply::json(json!({
                "permission": "allow",
                "user_message": reason,
            })),
            Decision::Ask(reason) => Reply::json(json!({
                "permission": "ask",
                "user_message": reason,
                "agent_message": reason,
            })),
            Decision::Deny(reason) => Reply::blocking(
                json!({"permission": "deny", "user_message": reason, "agent_message": reason}),
                reason,
            ),
        }
    }
}
