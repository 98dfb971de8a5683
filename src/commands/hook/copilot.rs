//! GitHub Copilot CLI (`gate hook copilot`), a `preToolUse` command hook in
//! `.github/hooks/*.json`.
//!
//! Copilot CLI sends `{sessionId, timestamp, cwd, toolName, toolArgs}` (toolArgs
//! a JSON string) and reads `{permissionDecision: allow|deny|ask,
//! permissionDecisionReason}` on stdout. A hook that times out (`timeoutSec`,
//! default 30) or fails lets the tool run, so the answer is always a whole JSON
//! object on exit 0, well within the timeout. Copilot CLI is not documented to
//! run a rewritten command, so an approved command is answered with the
//! `gate --ticket` line to run instead.

use super::host::{Call, Decision, Host, Reply, ShellCall};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub struct Copilot;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(default)]
    session_id: Option<String>,
    cwd: String,
    tool_name: String,
    tool_args: Value,
}

#[derive(Debug, Deserialize)]
struct ShellArgs {
    command: String,
    #[serde(default)]
    description: Option<String>,
}

impl Host for Copilot {
    const AGENT: &'static str = "copilot";
    const DEFAULT_WAIT: Option<Duration> = Some(Duration::from_secs(20));
    const REWRITES: bool = false;

    fn parse(text: &str) -> Result<Call, String> {
        if serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("tool_name").is_some()) {
            return Err(
                "gate hook copilot reads the camelCase preToolUse event; register it \
                        under \"preToolUse\", not \"PreToolUse\", in .github/hooks"
                    .into(),
            );
        }
        let event: Event = super::parse_json(text, "Copilot CLI preToolUse")?;
        if event.tool_name != "bash" {
            return Ok(Call::Other(event.tool_name));
        }
        // toolArgs is a JSON text; an object is taken as well.
        let args = match &event.tool_args {
            Value::String(text) => serde_json::from_str(text),
            other => serde_json::from_value::<ShellArgs>(other.clone()),
        }
        .map_err(|e| format!("gate refused the tool call: invalid bash tool arguments: {e}"))?;
        Ok(Call::Shell(ShellCall {
            line: args.command.clone(),
            cwd: PathBuf::from(event.cwd),
            session: event.session_id,
            description: args.description,
            tool_input: json!({"command": args.command}),
        }))
    }

    fn reply(decision: &Decision, _input: Option<&Value>) -> Reply {
        let (verdict, reason) = match decision {
            Decision::Pass => return Reply::default(),
            Decision::Allow { reason, .. } => ("allow", reason),
            Decision::Deny(reason) => ("deny", reason),
            Decision::Ask(reason) => ("ask", reason),
        };
        Reply::json(json!({"permissionDecision": verdict, "permissionDecisionReason": reason}))
    }
}
