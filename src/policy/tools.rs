//! MCP tool calls: `[[tool]]` rules and `[mcp]` settings, and the verdict on one
//! call. A tool rule matches a call by server name, tool name and argument values
//! (globs), under the same conditions as a `[[rule]]`; strictest wins over every
//! matching tool rule, and an unmatched call gets `[mcp] default` (else the
//! policy's `default`). Pure, like the rest of `policy`.

use super::evaluate::{action_given_verification, conditions_hold};
use super::{Action, Glob, Policy, Request, Rule, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

mod read;

pub(super) use read::{read_mcp, read_tool_rules};

/// One `[[tool]]` rule. `rule` holds what it shares with a `[[rule]]` (name,
/// action, reason, conditions, approval settings); its `patterns` are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRule {
    pub rule: Rule,
    /// The MCP server's name (`gate mcp proxy --name`); `*` when not given.
    pub server: Glob,
    /// The tool's name; `*` when not given.
    pub tool: Glob,
    /// Argument paths and the glob each value must match; all must hold.
    pub arguments: Vec<ArgumentMatch>,
}

/// `arguments.PATH = "GLOB"`: the value at PATH (dot-separated keys, a number
/// indexes an array) must exist and match GLOB. Strings match as they are, other
/// values as their canonical JSON text (`true`, `3`, `{"a":1}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgumentMatch {
    pub path: Vec<String>,
    pub glob: Glob,
}

/// `[mcp]`: how tool calls through `gate mcp proxy` are decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpSettings {
    /// What an unmatched tool call gets; `None`: the policy's `default`.
    pub default: Option<Action>,
    /// Leave tools the policy denies whatever their arguments out of `tools/list`.
    pub hide_denied: bool,
}

/// One MCP tool call, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub server: String,
    pub tool: String,
    /// The call's `arguments` object (`{}` when the call sent none).
    pub arguments: Json,
}

impl ToolCall {
    /// The arguments as canonical JSON: object keys sorted, no whitespace.
    pub fn canonical_arguments(&self) -> String {
        canonical_json(&self.arguments)
    }
}

/// JSON text with object keys sorted and no whitespace (serde_json's maps are
/// sorted unless `preserve_order` is on, so sort explicitly to be sure).
pub fn canonical_json(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Json::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

impl ToolRule {
    fn names(&self, server: &str, tool: &str) -> bool {
        self.server.is_match(server) && self.tool.is_match(tool)
    }

    fn matches(&self, call: &ToolCall, request: &Request) -> bool {
        self.names(&call.server, &call.tool)
            && conditions_hold(&self.rule.conditions, request)
            && self.arguments.iter().all(|m| m.holds(&call.arguments))
    }
}

impl ArgumentMatch {
    fn holds(&self, arguments: &Json) -> bool {
        let mut value = arguments;
        for key in &self.path {
            let next = match value {
                Json::Object(map) => map.get(key),
                Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(next) => value = next,
                None => return false,
            }
        }
        match value {
            Json::String(text) => self.glob.is_match(text),
            other => self.glob.is_match(&canonical_json(other)),
        }
    }
}

impl Policy {
    /// What an unmatched tool call gets.
    pub fn tool_default(&self) -> Action {
        self.mcp.default.unwrap_or(self.default)
    }

    /// Decide one tool call in `request`'s context (its actor, agent, CI, env,
    /// cwd; its argv is not looked at). Strictest wins over every matching
    /// `[[tool]]` rule; with none, `tool_default`.
    pub fn evaluate_tool(&self, call: &ToolCall, request: &Request) -> Verdict {
        // Each matching rule with what it does here: a `ci_verified` rule is
        // decided as for commands (the requester cannot verify, so such a rule
        // never allows and a deny asks instead).
        let matching: Vec<(&Rule, Action)> = self
            .tools
            .iter()
            .filter(|t| t.matches(call, request))
            .filter_map(|t| {
                action_given_verification(&t.rule, request.ci_verified).map(|a| (&t.rule, a))
            })
            .collect();
        let what = format!("tool \"{}\" of server \"{}\"", call.tool, call.server);
        let Some(decision) = matching.iter().map(|(_, action)| *action).max() else {
            let default = self.tool_default();
            let reason = format!(
                "no tool rule matched {what}; the tool default is {}",
                default.as_str()
            );
            let mut verdict = bare_verdict(default, reason);
            if default == Action::Approve {
                super::approval::resolve_rules(self, &mut verdict, &[Vec::new()]);
            }
            return verdict;
        };
        let deciding: Vec<&Rule> = matching
            .iter()
            .filter(|(_, action)| *action == decision)
            .map(|(rule, _)| *rule)
            .collect();
        let names: Vec<String> = deciding.iter().map(|r| format!("\"{}\"", r.name)).collect();
        let noun = if names.len() == 1 {
            "tool rule"
        } else {
            "tool rules"
        };
        let verb = match (decision, names.len()) {
            (Action::Allow, 1) => "allows",
            (Action::Allow, _) => "allow",
            (Action::Approve, 1) => "requires approval for",
            (Action::Approve, _) => "require approval for",
            (Action::Deny, 1) => "denies",
            (Action::Deny, _) => "deny",
        };
        let mut reason = format!("{noun} {} {verb} {what}", names.join(", "));
        let reasons: Vec<&str> = deciding
            .iter()
            .filter_map(|r| r.reason.as_deref())
            .collect();
        if !reasons.is_empty() {
            reason = format!("{reason}: {}", reasons.join("; "));
        }
        let mut verdict = bare_verdict(decision, reason);
        verdict.rules = deciding.iter().map(|r| r.name.clone()).collect();
        if decision == Action::Approve {
            super::approval::resolve_rules(self, &mut verdict, &[deciding]);
        }
        verdict
    }

    /// Whether every call of `tool` on `server` is denied, whatever its
    /// arguments: a deny tool rule without argument matches applies in
    /// `request`'s context, or no tool rule could match and the tool default is
    /// deny. What `[mcp] hide_denied` leaves out of `tools/list`.
    pub fn denies_tool_outright(&self, server: &str, tool: &str, request: &Request) -> bool {
        let named: Vec<&ToolRule> = self
            .tools
            .iter()
            .filter(|t| t.names(server, tool))
            .collect();
        let denied = named.iter().any(|t| {
            t.arguments.is_empty()
                && conditions_hold(&t.rule.conditions, request)
                && action_given_verification(&t.rule, request.ci_verified) == Some(Action::Deny)
        });
        denied || (named.is_empty() && self.tool_default() == Action::Deny)
    }
}

fn bare_verdict(decision: Action, reason: String) -> Verdict {
    Verdict {
        decision,
        reason,
        commands: Vec::new(),
        rules: Vec::new(),
        approval: None,
    }
}

#[cfg(test)]
mod tests;
