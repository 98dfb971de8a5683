//! MCP tool calls: `[[tool]]` rules and `[mcp]` settings, and the verdict on one
//! call. A tool rule matches a call by server name, tool name and argument values
//! (globs), under the same conditions as a `[[rule]]`; strictest wins over every
//! matching tool rule, and an unmatched call gets `[mcp] default` (else the
//! policy's `default`). Pure, like the rest of `policy`.

use super::evaluate::conditions_hold;
use super::read::{Reader, Value};
use super::rules::{
    Directory, array_of_tables, read_approval_overrides, read_conditions, required,
};
use super::{Action, Conditions, Glob, Policy, Request, Rule, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const TOOL_KEYS: &[&str] = &[
    "name",
    "action",
    "server",
    "tool",
    "arguments",
    "reason",
    "env",
    "cwd",
    "actor",
    "agent",
    "ci",
    "repository",
    "ref",
    "ci_verified",
    "approvers",
    "quorum",
    "timeout",
    "require_reason",
    "break_glass",
];
const MCP_KEYS: &[&str] = &["default", "hide_denied"];

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
        let matching: Vec<&ToolRule> = self
            .tools
            .iter()
            .filter(|t| t.matches(call, request))
            .collect();
        let what = format!("tool \"{}\" of server \"{}\"", call.tool, call.server);
        let Some(decision) = matching.iter().map(|t| t.rule.action).max() else {
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
            .map(|t| &t.rule)
            .filter(|r| r.action == decision)
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
            t.rule.action == Action::Deny
                && t.arguments.is_empty()
                && conditions_hold(&t.rule.conditions, request)
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

pub(super) fn read_mcp(reader: &mut Reader<'_>, value: &Value<'_>) -> McpSettings {
    let mut settings = McpSettings::default();
    let Some(table) = reader.table(value, "mcp") else {
        return settings;
    };
    reader.reject_unknown_keys(table, MCP_KEYS, "[mcp]");
    settings.default = table
        .get("default")
        .and_then(|v| reader.action(v, "default"));
    if let Some(v) = table.get("hide_denied") {
        settings.hide_denied = reader.bool(v, "hide_denied").unwrap_or(false);
    }
    settings
}

pub(super) fn read_tool_rules(
    reader: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    directory: &Directory<'_>,
) -> (Vec<ToolRule>, Vec<Spanned<String>>) {
    let mut rules = Vec::new();
    let mut names = Vec::new();
    for (header, table) in array_of_tables(reader, value, "tool") {
        if let Some((rule, name)) = read_tool_rule(reader, header, table, directory) {
            rules.push(rule);
            names.push(name);
        }
    }
    (rules, names)
}

fn read_tool_rule(
    reader: &mut Reader<'_>,
    header: std::ops::Range<usize>,
    table: &DeTable<'_>,
    directory: &Directory<'_>,
) -> Option<(ToolRule, Spanned<String>)> {
    reader.reject_unknown_keys(table, TOOL_KEYS, "[[tool]]");
    let name_value = required(
        reader,
        table,
        &header,
        "tool",
        "name",
        "\"a short unique name\"",
    );
    let name = name_value.and_then(|v| Some(Spanned::new(v.span(), reader.string(v, "name")?)));
    let example = "\"allow\", \"approve\" or \"deny\"";
    let action = required(reader, table, &header, "tool", "action", example)
        .and_then(|v| reader.action(v, "action"));
    let mut glob = |key: &str| match table.get(key) {
        None => Some(Glob::parse("*").expect("* is a glob")),
        Some(v) => reader.glob(v, key),
    };
    let (server, tool) = (glob("server"), glob("tool"));
    let arguments = match table.get("arguments") {
        None => Some(Vec::new()),
        Some(v) => read_arguments(reader, v),
    };
    let reason = table.get("reason").and_then(|v| reader.string(v, "reason"));
    let conditions: Option<Conditions> = read_conditions(reader, table);
    let label = name.as_ref().map_or("this rule", |n| n.get_ref().as_str());
    let overrides = read_approval_overrides(reader, table, action, label, directory);
    let rule = Rule {
        name: name.as_ref()?.get_ref().clone(),
        action: action?,
        reason,
        patterns: Vec::new(),
        conditions: conditions?,
        approvers: overrides.approvers,
        quorum: overrides.quorum,
        timeout: overrides.timeout,
        require_reason: overrides.require_reason,
        break_glass: overrides.break_glass,
        forward_strict: false,
    };
    let tool_rule = ToolRule {
        rule,
        server: server?,
        tool: tool?,
        arguments: arguments?,
    };
    Some((tool_rule, name?))
}

/// `arguments = { repo = "prod-*", "options.force" = "true" }` or the dotted
/// form `arguments.repo = "prod-*"`: nested tables and dotted keys both give a
/// path; every leaf must be a glob string.
fn read_arguments(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<ArgumentMatch>> {
    let mut found = Vec::new();
    let mut all_ok = true;
    walk_arguments(reader, value, &mut Vec::new(), &mut found, &mut all_ok);
    all_ok.then_some(found)
}

fn walk_arguments(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    path: &mut Vec<String>,
    found: &mut Vec<ArgumentMatch>,
    all_ok: &mut bool,
) {
    let key = if path.is_empty() {
        "arguments".to_string()
    } else {
        format!("arguments.{}", path.join("."))
    };
    match value.get_ref() {
        DeValue::Table(table) => {
            for (name, inner) in table {
                let depth = path.len();
                path.extend(name.get_ref().split('.').map(str::to_string));
                walk_arguments(reader, inner, path, found, all_ok);
                path.truncate(depth);
            }
        }
        DeValue::String(_) if !path.is_empty() => match reader.glob(value, &key) {
            Some(glob) => found.push(ArgumentMatch {
                path: path.clone(),
                glob,
            }),
            None => *all_ok = false,
        },
        _ => {
            let hint = "each argument path takes a glob string, e.g. arguments.repo = \"prod-*\" \
                        (write other values as their JSON text: \"true\", \"3\")";
            reader.error(
                value.span(),
                format!("\"{key}\" must be a glob string or a table of them"),
                Some(hint.to_string()),
            );
            *all_ok = false;
        }
    }
}

#[cfg(test)]
mod tests;
