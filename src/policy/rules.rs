//! Reading `[[rule]]` entries: required keys, match patterns, conditions and
//! per-rule approval overrides (allowed on approve rules only).

use super::read::{Reader, Value};
use super::validate::{check_approvers, check_quorum_reachable, check_unique_names};
use super::{Action, ApprovalSettings, Conditions, Pattern, Person, Rule};
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const RULE_KEYS: &[&str] = &[
    "name",
    "action",
    "match",
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
    "forward",
];
/// Keys that only mean something on an `approve` rule.
const APPROVAL_KEYS: &[&str] = &[
    "approvers",
    "quorum",
    "timeout",
    "require_reason",
    "break_glass",
];

/// What a rule's approval settings may refer to.
pub(super) struct Directory<'a> {
    pub people: &'a BTreeMap<String, Person>,
    pub groups: &'a BTreeMap<String, Vec<String>>,
    pub approval: &'a ApprovalSettings,
}

pub(super) fn read_rules(
    reader: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    directory: &Directory<'_>,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut names = Vec::new();
    for (header, table) in array_of_tables(reader, value, "rule") {
        if let Some((rule, name)) = read_rule(reader, header, table, directory) {
            rules.push(rule);
            names.push(name);
        }
    }
    check_unique_names(reader, &names);
    rules
}

/// The tables of `[[key]]`, each with the span of its header.
pub(in crate::policy) fn array_of_tables<'v, 'i>(
    reader: &mut Reader<'_>,
    value: Option<&'v Value<'i>>,
    key: &str,
) -> Vec<(std::ops::Range<usize>, &'v DeTable<'i>)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        let message = format!("\"{key}\" must be an array of tables");
        reader.error(
            value.span(),
            message,
            Some(format!("write each one as [[{key}]]")),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| Some((item.span(), reader.table(item, key)?)))
        .collect()
}

pub(super) fn required<'v, 'i>(
    reader: &mut Reader<'_>,
    table: &'v DeTable<'i>,
    header: &std::ops::Range<usize>,
    section: &str,
    key: &str,
    example: &str,
) -> Option<&'v Value<'i>> {
    let value = table.get(key);
    if value.is_none() {
        let message = format!("[[{section}]] is missing \"{key}\"");
        reader.error(
            header.clone(),
            message,
            Some(format!("add {key} = {example}")),
        );
    }
    value
}

/// The `name` and `action` every `[[rule]]` and `[[tool]]` (`kind`) must have.
pub(super) fn name_and_action(
    reader: &mut Reader<'_>,
    table: &DeTable<'_>,
    header: &std::ops::Range<usize>,
    kind: &str,
) -> (Option<Spanned<String>>, Option<Action>) {
    let name_value = required(
        reader,
        table,
        header,
        kind,
        "name",
        "\"a short unique name\"",
    );
    let name = name_value.and_then(|v| Some(Spanned::new(v.span(), reader.string(v, "name")?)));
    let example = "\"allow\", \"approve\" or \"deny\"";
    let action = required(reader, table, header, kind, "action", example)
        .and_then(|v| reader.action(v, "action"));
    (name, action)
}

fn read_rule(
    reader: &mut Reader<'_>,
    header: std::ops::Range<usize>,
    table: &DeTable<'_>,
    directory: &Directory<'_>,
) -> Option<(Rule, Spanned<String>)> {
    reader.reject_unknown_keys(table, RULE_KEYS, "[[rule]]");
    let (name, action) = name_and_action(reader, table, &header, "rule");
    let patterns = required(
        reader,
        table,
        &header,
        "rule",
        "match",
        "\"program args **\"",
    )
    .and_then(|v| read_patterns(reader, v));
    let reason = table.get("reason").and_then(|v| reader.string(v, "reason"));
    let conditions = read_conditions(reader, table);
    let label = name.as_ref().map_or("this rule", |n| n.get_ref().as_str());
    let overrides = read_approval_overrides(reader, table, action, label, directory);
    let rule = Rule {
        name: name.as_ref()?.get_ref().clone(),
        action: action?,
        reason,
        patterns: patterns?,
        conditions: conditions?,
        approvers: overrides.approvers,
        quorum: overrides.quorum,
        timeout: overrides.timeout,
        require_reason: overrides.require_reason,
        break_glass: overrides.break_glass,
        forward_strict: read_forward(reader, table),
    };
    Some((rule, name?))
}

/// A rule's `forward`: only `"strict"` means something on a rule.
fn read_forward(reader: &mut Reader<'_>, table: &DeTable<'_>) -> bool {
    let Some(value) = table.get("forward") else {
        return false;
    };
    match reader.string(value, "forward").as_deref() {
        Some("strict") => true,
        Some(other) => {
            let hint = "a rule can only say forward = \"strict\": its commands start only once \
                        the broker took their decision record ([audit] forward sets the rest)";
            reader.error(
                value.span(),
                format!("unknown forward \"{other}\" on a rule"),
                Some(hint.to_string()),
            );
            false
        }
        None => false,
    }
}

fn read_patterns(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<Pattern>> {
    let items = reader.list(value, "match", true)?;
    if items.is_empty() {
        let hint = "add a pattern such as \"kubectl delete **\"";
        reader.error(
            value.span(),
            "\"match\" needs at least one pattern",
            Some(hint.to_string()),
        );
        return None;
    }
    let mut patterns = Vec::new();
    let mut all_ok = true;
    for item in items {
        let Some(text) = reader.string(item, "match") else {
            all_ok = false;
            continue;
        };
        match Pattern::parse(&text) {
            Ok(pattern) => patterns.push(pattern),
            Err(err) => {
                reader.pattern_error(item, &text, "pattern", err);
                all_ok = false;
            }
        }
    }
    all_ok.then_some(patterns)
}

pub(super) fn read_conditions(reader: &mut Reader<'_>, table: &DeTable<'_>) -> Option<Conditions> {
    let mut conditions = Conditions::default();
    let mut all_ok = true;
    if let Some(env) = table.get("env").and_then(|v| reader.table(v, "env")) {
        for (name, glob) in env {
            match reader.glob(glob, name.get_ref()) {
                Some(glob) => {
                    conditions.env.insert(name.get_ref().to_string(), glob);
                }
                None => all_ok = false,
            }
        }
    }
    for (key, slot) in [
        ("cwd", &mut conditions.cwd),
        ("actor", &mut conditions.actor),
        ("agent", &mut conditions.agent),
        ("ci", &mut conditions.ci),
        ("repository", &mut conditions.repository),
        ("ref", &mut conditions.git_ref),
    ] {
        if let Some(value) = table.get(key) {
            *slot = reader.glob(value, key);
            all_ok &= slot.is_some();
        }
    }
    if let Some(value) = table.get("ci_verified") {
        conditions.ci_verified = reader.bool(value, "ci_verified");
        all_ok &= conditions.ci_verified.is_some();
    }
    all_ok.then_some(conditions)
}

/// A rule's own approval settings, each `None` when `[approval]` applies.
#[derive(Default)]
pub(super) struct Overrides {
    pub approvers: Option<Vec<String>>,
    pub quorum: Option<u32>,
    pub timeout: Option<std::time::Duration>,
    pub require_reason: bool,
    pub break_glass: bool,
}

pub(super) fn read_approval_overrides(
    reader: &mut Reader<'_>,
    table: &DeTable<'_>,
    action: Option<Action>,
    rule_name: &str,
    directory: &Directory<'_>,
) -> Overrides {
    if let Some(action) = action.filter(|a| *a != Action::Approve) {
        reject_approval_keys(reader, table, action);
        return Overrides::default();
    }
    let approvers = table
        .get("approvers")
        .and_then(|v| reader.strings(v, "approvers"));
    let known = match &approvers {
        Some(entries) => check_approvers(reader, entries, directory.people, directory.groups),
        None => true,
    };
    let overrides = Overrides {
        approvers: approvers.map(|list| list.into_iter().map(Spanned::into_inner).collect()),
        quorum: table.get("quorum").and_then(|v| {
            let if_zero =
                "quorum = 1 needs one approval; to need none, make the rule action = \"allow\"";
            reader.count(v, "quorum", if_zero)
        }),
        timeout: table
            .get("timeout")
            .and_then(|v| reader.duration(v, "timeout")),
        require_reason: flag(reader, table, "require_reason"),
        break_glass: flag(reader, table, "break_glass"),
    };
    // Only a rule that changes approvers or quorum can newly become unreachable;
    // [approval] itself was checked on its own.
    let at = table.get("quorum").or(table.get("approvers"));
    if let Some(at) = at.filter(|_| known) {
        let approvers = overrides
            .approvers
            .as_deref()
            .unwrap_or(&directory.approval.approvers);
        let quorum = overrides.quorum.unwrap_or(directory.approval.quorum);
        let owner = format!("rule \"{rule_name}\"");
        check_quorum_reachable(
            reader,
            at.span(),
            &owner,
            approvers,
            quorum,
            directory.groups,
        );
    }
    overrides
}

fn reject_approval_keys(reader: &mut Reader<'_>, table: &DeTable<'_>, action: Action) {
    for key in table
        .keys()
        .filter(|k| APPROVAL_KEYS.contains(&k.get_ref().as_ref()))
    {
        let key_name: &str = key.get_ref();
        let message = format!("\"{key_name}\" only applies to approve rules");
        let hint = format!(
            "this rule's action is \"{}\"; remove \"{key_name}\" or set action = \"approve\"",
            action.as_str()
        );
        reader.error(key.span(), message, Some(hint));
    }
}

fn flag(reader: &mut Reader<'_>, table: &DeTable<'_>, key: &str) -> bool {
    table
        .get(key)
        .and_then(|v| reader.bool(v, key))
        .unwrap_or(false)
}
