//! Claude Code (`gate hook claude-code`): a PreToolUse event on stdin, one JSON
//! object on stdout, always exit 0 (Claude Code reads a non-zero exit as "no
//! decision"). Bash goes through the shared core; other tools get what
//! `[agents.claude-code] tools` says, and no decision by default.

use super::event;
use super::host::{Call, Decision, Host, Reply, ShellCall, with_command};
use crate::guard;
use crate::paths::Home;
use crate::policy::ToolDecision;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct ClaudeCode;

impl Host for ClaudeCode {
    const AGENT: &'static str = "claude-code";
    const DEFAULT_WAIT: Option<Duration> = None;
    const REWRITES: bool = true;

    fn parse(text: &str) -> Result<Call, String> {
        let refused = |e: String| format!("gate refused the tool call: {e}");
        let event = event::parse(text).map_err(refused)?;
        if event.tool_name != "Bash" {
            return Ok(Call::Other(event.tool_name));
        }
        let input = event::bash_input(&event).map_err(refused)?;
        Ok(Call::Shell(ShellCall {
            line: input.command.clone(),
            cwd: PathBuf::from(&event.cwd),
            session: Some(event.session_id.clone()),
            description: input.description.clone(),
            tool_input: serde_json::to_value(&input).unwrap_or(Value::Null),
        }))
    }

    fn reply(decision: &Decision, input: Option<&Value>) -> Reply {
        let (verdict, reason, updated) = match decision {
            Decision::Pass => return Reply::default(),
            Decision::Allow { reason, rewritten } => (
                "allow",
                reason,
                rewritten.as_deref().map(|line| with_command(input, line)),
            ),
            Decision::Deny(reason) => ("deny", reason, None),
            Decision::Ask(reason) => ("ask", reason, None),
        };
        let mut output = json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": verdict,
            "permissionDecisionReason": reason,
        });
        if let Some(updated) = updated {
            output["updatedInput"] = updated;
        }
        Reply::json(json!({ "hookSpecificOutput": output }))
    }

    /// Only the tools table matters here; no command is evaluated.
    fn other_tool(tool: &str, policy: Option<&Path>, home: &Home) -> Result<Decision, String> {
        let loaded = guard::load(policy, home, super::super::stderr_color(), &[])
            .map_err(super::policy_error)?;
        let settings = &loaded.policy.agents.claude_code;
        Ok(match settings.tools.get(tool) {
            None => Decision::Pass,
            Some(ToolDecision::Allow) => Decision::Allow {
                reason: format!("gate: the policy allows the {tool} tool"),
                rewritten: None,
            },
            Some(ToolDecision::Deny) => Decision::Deny(format!(
                "gate: the policy denies the {tool} tool ([agents.claude-code] tools); do not \
                 retry it, and tell the user if the task needs it"
            )),
            Some(ToolDecision::Ask) => Decision::Ask(format!(
                "gate: the policy asks you to confirm each use of the {tool} tool"
            )),
        })
    }
}
