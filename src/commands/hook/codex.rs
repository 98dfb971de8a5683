//! OpenAI Codex CLI (`gate hook codex`), a `[[hooks.PreToolUse]]` command hook.
//!
//! Codex (codex-rs/hooks/src/events/pre_tool_use.rs) blocks on exit 0 with
//! `hookSpecificOutput.permissionDecision = "deny"` and a non-empty reason, or on
//! exit 2 with the reason on stderr; any other exit, a timeout, a crash or
//! invalid JSON lets the tool run. So a deny is both: the JSON on stdout and exit
//! 2 with the reason on stderr. An allow is no output (Codex's own approval
//! policy applies); an approved command is `permissionDecision = "allow"` with
//! `updatedInput`, the only allow Codex accepts.

use super::host::{Call, Decision, Host, Reply, ShellCall, with_command};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub struct Codex;

#[derive(Debug, Deserialize)]
struct Event {
    session_id: String,
    cwd: String,
    hook_event_name: String,
    tool_name: String,
    tool_input: Value,
}

/// The shell tool's input: `{command}` and nothing else (Codex's schema).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShellInput {
    command: String,
}

impl Host for Codex {
    const AGENT: &'static str = "codex";
    const DEFAULT_WAIT: Option<Duration> = Some(Duration::from_secs(60));
    const REWRITES: bool = true;

    fn parse(text: &str) -> Result<Call, String> {
        let event: Event = super::parse_json(text, "Codex PreToolUse")?;
        if event.hook_event_name != "PreToolUse" {
            return Err(format!(
                "gate hook codex handles PreToolUse events, not {:?}; register it under [[hooks.PreToolUse]]",
                event.hook_event_name
            ));
        }
        if event.tool_name != "Bash" {
            return Ok(Call::Other(event.tool_name));
        }
        let input: ShellInput = serde_json::from_value(event.tool_input.clone())
            .map_err(|e| format!("gate refused the tool call: invalid Bash tool input: {e}"))?;
        Ok(Call::Shell(ShellCall {
            line: input.command,
            cwd: PathBuf::from(event.cwd),
            session: Some(event.session_id),
            description: None,
            tool_input: event.tool_input,
        }))
    }

    fn reply(decision: &Decision, input: Option<&Value>) -> Reply {
        match decision {
            Decision::Pass
            | Decision::Allow {
                rewritten: None, ..
            } => Reply::default(),
            Decision::Allow {
                reason,
                rewritten: Some(line),
            } => Reply::json(json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "permissionDecisionReason": reason,
                "updatedInput": with_command(input, line),
            }})),
            // Codex has no "ask" for hooks: a question it cannot put is a deny.
            Decision::Deny(reason) | Decision::Ask(reason) => Reply::blocking(
                json!({"hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }}),
                reason,
            ),
        }
    }
}
