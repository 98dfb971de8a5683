//! Reading `[[tool]]` rules and `[mcp]`: the same strict reader, conditions
//! and approval settings as `[[rule]]`, plus server, tool and argument globs.

use super::{ArgumentMatch, McpSettings, ToolRule};
use crate::policy::read::{Reader, Value};
use crate::policy::rules::{
    Directory, array_of_tables, name_and_action, read_approval_overrides, read_conditions,
};
use crate::policy::{Conditions, Glob, Rule};
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

pub(in crate::policy) fn read_mcp(reader: &mut Reader<'_>, value: &Value<'_>) -> McpSettings {
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

pub(in crate::policy) fn read_tool_rules(
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
    let (name, action) = name_and_action(reader, table, &header, "tool");
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
