//! Parse and validate policy TOML into a [`Policy`], collecting every error.
//!
//! The document is walked by hand over `toml`'s spanned tree (not through serde) so
//! that every unknown key, wrong type and bad value is reported with its position
//! in one pass. Sections are read in dependency order — people, groups, approval,
//! rules, tests — so references can be checked as they are read.

use super::agents::read_agents;
use super::broker_urls;
use super::cases::read_tests;
use super::read::{Reader, Value, read_document};
use super::rules::{Directory, read_rules};
use super::validate::read_approvers_and_quorum;
use super::{
    Action, ApiChannel, ApprovalSettings, Channels, Diagnostic, InlineCode, Person, Policy,
    RuleIndex,
};
use std::collections::BTreeMap;
use toml::de::DeTable;

const ROOT_KEYS: &[&str] = &[
    "version",
    "default",
    "opaque",
    "inline_code",
    "people",
    "groups",
    "approval",
    "channels",
    "rule",
    "redact",
    "test",
    "agents",
    "options",
    "audit",
    "tool",
    "mcp",
];
const AUDIT_KEYS: &[&str] = &["forward"];
const PERSON_KEYS: &[&str] = &["unix", "slack", "email", "teams", "github", "oidc"];
const APPROVAL_KEYS: &[&str] = &["approvers", "quorum", "timeout"];
const REDACT_KEYS: &[&str] = &["patterns"];
const CHANNELS_KEYS: &[&str] = &["api"];
const API_CHANNEL_KEYS: &[&str] = &["url", "server_key"];

/// The policy language version this build understands.
const VERSION: u32 = 1;

pub fn parse(source: &str, path: &str) -> Result<Policy, Vec<Diagnostic>> {
    read_document(source, path, read_policy)
}

fn read_policy(reader: &mut Reader<'_>, root: &DeTable<'_>) -> Policy {
    reader.reject_unknown_keys(root, ROOT_KEYS, "the top level");
    reader.version(root, VERSION, "policy", "policies");
    let action = |reader: &mut Reader<'_>, key: &str| {
        root.get(key)
            .and_then(|value| reader.action(value, key))
            .unwrap_or(Action::Approve)
    };
    let default = action(reader, "default");
    let opaque = action(reader, "opaque");
    let inline_code = root
        .get("inline_code")
        .and_then(|value| read_inline_code(reader, value))
        .unwrap_or_default();
    let people = root
        .get("people")
        .map(|value| read_people(reader, value))
        .unwrap_or_default();
    let groups = root
        .get("groups")
        .map(|value| read_groups(reader, value, &people))
        .unwrap_or_default();
    let approval = root
        .get("approval")
        .map(|value| read_approval(reader, value, &people, &groups))
        .unwrap_or_default();
    let channels = root
        .get("channels")
        .map(|value| read_channels(reader, value))
        .unwrap_or_default();
    let directory = Directory {
        people: &people,
        groups: &groups,
        approval: &approval,
    };
    let options = super::flags::read_declared(reader, root.get("options"));
    let mut rules = read_rules(reader, root.get("rule"), &directory);
    let grammars = super::flags::Grammars { declared: &options };
    for rule in &mut rules {
        let broad = rule.action != Action::Allow;
        for pattern in &mut rule.patterns {
            pattern.understand_flags(&grammars, broad);
        }
    }
    let (tools, tool_names) = super::tools::read_tool_rules(reader, root.get("tool"), &directory);
    check_tool_names(reader, &tool_names, &rules);
    let mcp = root
        .get("mcp")
        .map(|value| super::tools::read_mcp(reader, value))
        .unwrap_or_default();
    let tests = read_tests(reader, root.get("test"));
    let redact = root
        .get("redact")
        .map(|value| read_redact(reader, value))
        .unwrap_or_default();
    let agents = root
        .get("agents")
        .map(|value| read_agents(reader, value))
        .unwrap_or_default();
    let forward = root
        .get("audit")
        .and_then(|value| read_audit(reader, value))
        .unwrap_or_default();
    let index = RuleIndex::build(&rules);
    let mut policy = Policy {
        version: VERSION,
        default,
        opaque,
        inline_code,
        people,
        groups,
        approval,
        channels,
        rules,
        redact,
        tests,
        agents,
        options,
        forward,
        tools,
        mcp,
        index,
    };
    add_implicit_people(&mut policy);
    policy
}

/// Tool rule names are unique among themselves and against `[[rule]]` names:
/// approvals and audit records name rules by name alone.
fn check_tool_names(
    reader: &mut Reader<'_>,
    names: &[toml::Spanned<String>],
    rules: &[super::Rule],
) {
    super::validate::check_unique_names(reader, names);
    for name in names {
        if rules.iter().any(|rule| &rule.name == name.get_ref()) {
            let message = format!("a [[rule]] is already named \"{}\"", name.get_ref());
            let hint = "give the [[tool]] rule a name of its own".to_string();
            reader.error(name.span(), message, Some(hint));
        }
    }
}

/// `[audit] forward = "off" | "background" | "strict"`.
fn read_audit(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<super::Forward> {
    let table = reader.table(value, "audit")?;
    reader.reject_unknown_keys(table, AUDIT_KEYS, "[audit]");
    let value = table.get("forward")?;
    let text = reader.string(value, "forward")?;
    let words = ["off", "background", "strict"];
    match text.as_str() {
        "off" => Some(super::Forward::Off),
        "background" => Some(super::Forward::Background),
        "strict" => Some(super::Forward::Strict),
        other => {
            let hint = super::read::did_you_mean(other, words).unwrap_or_else(|| {
                "use \"off\", \"background\" (after each run) or \"strict\" (before each \
                 command starts)"
                    .to_string()
            });
            reader.error(
                value.span(),
                format!("unknown forward \"{other}\""),
                Some(hint),
            );
            None
        }
    }
}

fn read_inline_code(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<InlineCode> {
    let text = reader.string(value, "inline_code")?;
    match text.as_str() {
        "rules" => Some(InlineCode::Rules),
        "opaque" => Some(InlineCode::Opaque),
        other => {
            let hint = super::read::did_you_mean(other, ["rules", "opaque"])
                .unwrap_or_else(|| "use \"rules\" or \"opaque\"".to_string());
            reader.error(
                value.span(),
                format!("unknown inline_code \"{other}\""),
                Some(hint),
            );
            None
        }
    }
}

/// A name in `[groups]` or an approver list without a `[people.NAME]` section is
/// a person known only by their login: `unix = NAME`.
fn add_implicit_people(policy: &mut Policy) {
    let rule_approvers = policy
        .rules
        .iter()
        .chain(policy.tools.iter().map(|tool| &tool.rule))
        .filter_map(|rule| rule.approvers.as_ref());
    let names: Vec<String> = policy
        .groups
        .values()
        .chain(std::iter::once(&policy.approval.approvers))
        .chain(rule_approvers)
        .flatten()
        .filter(|name| !name.contains(':') && !policy.people.contains_key(*name))
        .cloned()
        .collect();
    for name in names {
        let person = Person {
            unix: Some(name.clone()),
            ..Person::default()
        };
        policy.people.insert(name, person);
    }
}

pub(crate) fn read_people(reader: &mut Reader<'_>, value: &Value<'_>) -> BTreeMap<String, Person> {
    let mut people = BTreeMap::new();
    // Identity -> person, so one identity cannot stand for two people.
    let mut owners: BTreeMap<(String, String), String> = BTreeMap::new();
    let Some(table) = reader.table(value, "people") else {
        return people;
    };
    for (name, entry) in table {
        let name: &str = name.get_ref();
        let Some(fields) = reader.table(entry, &format!("people.{name}")) else {
            continue;
        };
        reader.reject_unknown_keys(fields, PERSON_KEYS, &format!("[people.{name}]"));
        let mut person = Person::default();
        for (key, id) in fields {
            let key: &str = key.get_ref();
            let Some(text) = reader.string(id, key) else {
                continue;
            };
            if let Some(owner) = owners.insert((key.to_string(), text.clone()), name.to_string()) {
                let hint = "each identity belongs to one person, so nobody can approve their own request under another name";
                let message = format!("{key} identity \"{text}\" already belongs to \"{owner}\"");
                reader.error(id.span(), message, Some(hint.to_string()));
            }
            let slot = match key {
                "unix" => &mut person.unix,
                "slack" => &mut person.slack,
                "email" => &mut person.email,
                "teams" => &mut person.teams,
                "github" => &mut person.github,
                "oidc" => &mut person.oidc,
                _ => continue,
            };
            *slot = Some(text);
        }
        people.insert(name.to_string(), person);
    }
    people
}

pub(crate) fn read_groups(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    people: &BTreeMap<String, Person>,
) -> BTreeMap<String, Vec<String>> {
    let mut groups = BTreeMap::new();
    let Some(table) = reader.table(value, "groups") else {
        return groups;
    };
    for (name, members) in table {
        let name: &str = name.get_ref();
        let Some(members) = reader.strings(members, name) else {
            continue;
        };
        for member in &members {
            if !people.contains_key(member.get_ref()) {
                // Either a typo (reported) or a person known only by login.
                super::validate::unknown_person(reader, member, people);
            }
        }
        let names = members.into_iter().map(|m| m.into_inner()).collect();
        groups.insert(name.to_string(), names);
    }
    groups
}

fn read_approval(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> ApprovalSettings {
    let mut settings = ApprovalSettings::default();
    let Some(table) = reader.table(value, "approval") else {
        return settings;
    };
    reader.reject_unknown_keys(table, APPROVAL_KEYS, "[approval]");
    (settings.approvers, settings.quorum) =
        read_approvers_and_quorum(reader, table, "[approval]", people, groups, 1);
    if let Some(duration) = table
        .get("timeout")
        .and_then(|v| reader.duration(v, "timeout"))
    {
        settings.timeout = duration;
    }
    settings
}

fn read_channels(reader: &mut Reader<'_>, value: &Value<'_>) -> Channels {
    let Some(table) = reader.table(value, "channels") else {
        return Channels::default();
    };
    reader.reject_unknown_keys(table, CHANNELS_KEYS, "[channels]");
    let api = table.get("api").and_then(|value| {
        let table = reader.table(value, "channels.api")?;
        reader.reject_unknown_keys(table, API_CHANNEL_KEYS, "[channels.api]");
        let url = table
            .get("url")
            .map(|v| read_broker_urls(reader, v))
            .unwrap_or_default();
        let server_key = table.get("server_key").and_then(|v| {
            let path = reader.string(v, "server_key")?;
            if path.is_empty() {
                let hint = "name the PEM file `gate serve pubkey` printed, e.g. server_key = \"broker.pem\"";
                reader.error(v.span(), "\"server_key\" is empty", Some(hint.to_string()));
                return None;
            }
            Some(path)
        });
        Some(ApiChannel { url, server_key })
    });
    Channels { api }
}

/// `url`: a broker's base URL, or several replicas' as an array or a string
/// separated by commas; each must be http(s). A bad one is named.
fn read_broker_urls(reader: &mut Reader<'_>, value: &Value<'_>) -> Vec<String> {
    let Some(items) = reader.list(value, "url", true) else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    for item in items {
        let Some(text) = reader.string(item, "url") else {
            continue;
        };
        for url in broker_urls::split(&text) {
            if let Some(problem) = broker_urls::problem(url) {
                let message = if url == text.trim() {
                    problem.to_string()
                } else {
                    format!("{problem}: \"{url}\"")
                };
                let hint = "write the broker's base URL, e.g. url = \"https://gate.example.com\", \
                            or several replicas' as url = [\"https://a:8443\", \"https://b:8443\"]";
                reader.error(item.span(), message, Some(hint.to_string()));
                continue;
            }
            urls.push(url.to_string());
        }
    }
    urls
}

fn read_redact(reader: &mut Reader<'_>, value: &Value<'_>) -> Vec<String> {
    let Some(table) = reader.table(value, "redact") else {
        return Vec::new();
    };
    reader.reject_unknown_keys(table, REDACT_KEYS, "[redact]");
    let Some(patterns) = table
        .get("patterns")
        .and_then(|v| reader.strings(v, "patterns"))
    else {
        return Vec::new();
    };
    for pattern in &patterns {
        if let Err(err) = regex::Regex::new(pattern.get_ref()) {
            let message = format!("invalid redact pattern: {}", regex_error_summary(&err));
            let hint = "patterns are Rust regular expressions (https://docs.rs/regex)";
            reader.error(pattern.span(), message, Some(hint.to_string()));
        }
    }
    patterns.into_iter().map(|p| p.into_inner()).collect()
}

/// The last line of a regex error (its own caret drawing is dropped; ours points
/// at the string literal).
fn regex_error_summary(err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text.lines().last().unwrap_or("invalid regular expression");
    last.trim_start_matches("error: ").to_string()
}
