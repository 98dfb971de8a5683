//! The Claude Code PreToolUse event on stdin (`claude_code` reads it).
//!
//! Strict on input: an unknown top-level field, a missing one or a wrong type is
//! an error, which the caller turns into a deny (fail closed). The Bash tool's
//! input is read into known fields only, so the rewritten input carries nothing
//! gate did not look at.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fields gate does not use are still parsed, so the event's shape is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PreToolUse {
    pub session_id: String,
    #[serde(default)]
    pub transcript_path: Option<String>,
    pub cwd: String,
    #[serde(default)]
    pub permission_mode: Option<String>,
    pub hook_event_name: String,
    pub tool_name: String,
    pub tool_input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// The Bash tool's input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BashInput {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_in_background: Option<bool>,
    /// Claude Code's sandbox opt-out; passed through unchanged.
    #[serde(
        default,
        rename = "dangerouslyDisableSandbox",
        skip_serializing_if = "Option::is_none"
    )]
    pub dangerously_disable_sandbox: Option<bool>,
}

/// Parse stdin; the error is one line for the deny reason.
pub fn parse(text: &str) -> Result<PreToolUse, String> {
    let event: PreToolUse =
        serde_json::from_str(text).map_err(|e| format!("invalid PreToolUse event: {e}"))?;
    if event.hook_event_name != "PreToolUse" {
        return Err(format!(
            "gate hook claude-code handles PreToolUse events, not {:?}; register it under \"PreToolUse\" in settings.json",
            event.hook_event_name
        ));
    }
    Ok(event)
}

pub fn bash_input(event: &PreToolUse) -> Result<BashInput, String> {
    serde_json::from_value(event.tool_input.clone())
        .map_err(|e| format!("invalid Bash tool input: {e}"))
}
