//! `[agents.claude-code]`: how the Claude Code hook treats tools other than Bash,
//! and how long it waits for a person. Parsed like the rest of the policy, with
//! every error at its position; no I/O.

use super::read::{Reader, Value, did_you_mean};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const AGENTS_KEYS: &[&str] = &["claude-code"];
const CLAUDE_CODE_KEYS: &[&str] = &["approval_timeout", "tools"];

/// Default wait for a person from inside the hook: well under Claude Code's own
/// 600-second hook timeout, so gate answers (deny) before Claude Code gives up.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// `[agents]`: per-agent integration settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agents {
    pub claude_code: ClaudeCode,
}

/// `[agents.claude-code]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaudeCode {
    /// How long the hook waits for a person before it denies.
    pub approval_timeout: Duration,
    /// Decisions for tools other than Bash, by exact tool name (`Write`,
    /// `WebFetch`, `mcp__github__create_issue`). A tool not listed gets no
    /// decision from gate: Claude Code's own permission settings apply.
    pub tools: BTreeMap<String, ToolDecision>,
}

impl Default for ClaudeCode {
    fn default() -> Self {
        ClaudeCode {
            approval_timeout: DEFAULT_HOOK_TIMEOUT,
            tools: BTreeMap::new(),
        }
    }
}

/// What the hook answers for a non-Bash tool: Claude Code's permission decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolDecision {
    Allow,
    Deny,
    /// Claude Code asks the person at the keyboard.
    Ask,
}

impl ToolDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolDecision::Allow => "allow",
            ToolDecision::Deny => "deny",
            ToolDecision::Ask => "ask",
        }
    }
}

pub(crate) fn read_agents(reader: &mut Reader<'_>, value: &Value<'_>) -> Agents {
    let Some(table) = reader.table(value, "agents") else {
        return Agents::default();
    };
    reader.reject_unknown_keys(table, AGENTS_KEYS, "[agents]");
    let mut agents = Agents::default();
    let Some(value) = table.get("claude-code") else {
        return agents;
    };
    let Some(table) = reader.table(value, "agents.claude-code") else {
        return agents;
    };
    reader.reject_unknown_keys(table, CLAUDE_CODE_KEYS, "[agents.claude-code]");
    let settings = &mut agents.claude_code;
    if let Some(timeout) = table
        .get("approval_timeout")
        .and_then(|v| reader.duration(v, "approval_timeout"))
    {
        settings.approval_timeout = timeout;
    }
    if let Some(tools) = table.get("tools").and_then(|v| reader.table(v, "tools")) {
        for (name, value) in tools {
            if let Some(decision) = tool_decision(reader, value, name.get_ref()) {
                settings.tools.insert(name.get_ref().to_string(), decision);
            }
        }
    }
    agents
}

fn tool_decision(reader: &mut Reader<'_>, value: &Value<'_>, tool: &str) -> Option<ToolDecision> {
    let text = reader.string(value, tool)?;
    match text.as_str() {
        "allow" => Some(ToolDecision::Allow),
        "deny" => Some(ToolDecision::Deny),
        "ask" => Some(ToolDecision::Ask),
        other => {
            let names = ["allow", "deny", "ask"];
            let hint = did_you_mean(other, names).unwrap_or_else(|| {
                "use \"allow\", \"deny\" or \"ask\" (Claude Code asks the person at the keyboard)"
                    .to_string()
            });
            reader.error(
                value.span(),
                format!("unknown decision \"{other}\" for tool \"{tool}\""),
                Some(hint),
            );
            None
        }
    }
}
