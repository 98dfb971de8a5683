//! Reading `[[test]]` entries: the command line, the expected decision, and the
//! optional request context a case is decided in.

use super::read::{Reader, Value};
use super::rules::{array_of_tables, required};
use super::{TestCase, ToolCall};
use std::collections::BTreeMap;
use toml::de::DeTable;

const TEST_KEYS: &[&str] = &[
    "command", "tool", "expect", "env", "cwd", "actor", "agent", "ci",
];
const TOOL_CASE_KEYS: &[&str] = &["server", "name", "arguments"];

pub(super) fn read_tests(reader: &mut Reader<'_>, value: Option<&Value<'_>>) -> Vec<TestCase> {
    array_of_tables(reader, value, "test")
        .into_iter()
        .filter_map(|(header, table)| read_test(reader, header, table))
        .collect()
}

fn read_test(
    reader: &mut Reader<'_>,
    header: std::ops::Range<usize>,
    table: &DeTable<'_>,
) -> Option<TestCase> {
    reader.reject_unknown_keys(table, TEST_KEYS, "[[test]]");
    let (command_value, command, tool) = match table.get("tool") {
        Some(value) => {
            if let Some(both) = table.get("command") {
                let hint = "a case tests a command or a tool call: split it into two [[test]]s";
                reader.error(
                    both.span(),
                    "a [[test]] has both \"command\" and \"tool\"",
                    Some(hint.into()),
                );
            }
            let tool = read_tool_case(reader, value);
            let shown = tool.as_ref().map(|call| {
                format!(
                    "mcp {} {} {}",
                    call.server,
                    call.tool,
                    call.canonical_arguments()
                )
            });
            (Some(value), shown, tool)
        }
        None => {
            let value = required(
                reader,
                table,
                &header,
                "test",
                "command",
                "\"kubectl get pods\"",
            );
            (value, value.and_then(|v| reader.string(v, "command")), None)
        }
    };
    let example = "\"allow\", \"approve\" or \"deny\"";
    let expect = required(reader, table, &header, "test", "expect", example)
        .and_then(|v| reader.action(v, "expect"));
    let mut env = BTreeMap::new();
    if let Some(vars) = table.get("env").and_then(|v| reader.table(v, "env")) {
        for (name, value) in vars {
            if let Some(text) = reader.string(value, name.get_ref()) {
                env.insert(name.get_ref().to_string(), text);
            }
        }
    }
    let mut text = |key: &str| table.get(key).and_then(|v| reader.string(v, key));
    let (cwd, actor, agent, ci) = (text("cwd"), text("actor"), text("agent"), text("ci"));
    let line = reader.line_of(header.start);
    Some(TestCase {
        command: command?,
        tool,
        expect: expect?,
        env,
        cwd,
        actor,
        agent,
        ci,
        line,
        command_span: command_value?.span(),
    })
}

/// `tool = { server = "S", name = "T", arguments = { … } }`: a tool call case.
fn read_tool_case(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<ToolCall> {
    let table = reader.table(value, "tool")?;
    reader.reject_unknown_keys(table, TOOL_CASE_KEYS, "a [[test]]'s tool");
    let mut text = |key: &str, example: &str| match table.get(key) {
        Some(v) => reader.string(v, key),
        None => {
            let hint = format!("add {key} = {example}");
            reader.error(
                value.span(),
                format!("a [[test]]'s tool is missing \"{key}\""),
                Some(hint),
            );
            None
        }
    };
    let (server, tool) = (
        text("server", "\"github\""),
        text("name", "\"delete_repo\""),
    );
    let arguments = match table.get("arguments") {
        None => Some(serde_json::json!({})),
        Some(v) => {
            // The literal as written, read again as a TOML value, then as JSON.
            let literal = &reader.source[v.span()];
            let parsed = toml::from_str::<toml::Table>(&format!("a = {literal}"))
                .ok()
                .and_then(|mut t| t.remove("a"))
                .filter(toml::Value::is_table)
                .and_then(|t| serde_json::to_value(t).ok());
            if parsed.is_none() {
                let hint =
                    "write the arguments as a table, e.g. arguments = { repo = \"prod-db\" }";
                reader.error(v.span(), "\"arguments\" must be a table", Some(hint.into()));
            }
            parsed
        }
    };
    Some(ToolCall {
        server: server?,
        tool: tool?,
        arguments: arguments?,
    })
}

impl TestCase {
    /// The request context the case sets beyond its command, as
    /// `[env K=V, actor A, agent G, ci C, cwd D]`; empty when it sets none. Cases
    /// that differ only here would otherwise read as the same line.
    pub fn context(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.env.is_empty() {
            let vars: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("env {}", vars.join(" ")));
        }
        let settings = [
            ("actor", &self.actor),
            ("agent", &self.agent),
            ("ci", &self.ci),
            ("cwd", &self.cwd),
        ];
        for (key, value) in settings {
            if let Some(value) = value {
                parts.push(format!("{key} {value}"));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("[{}]", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    #[test]
    fn a_case_shows_the_context_it_sets() {
        let source = "version = 1\n\
            [[test]]\ncommand = \"ls\"\nexpect = \"allow\"\n\
            [[test]]\ncommand = \"ls\"\nexpect = \"allow\"\nactor = \"bot\"\ncwd = \"/srv\"\n\
            env = { B = \"2\", A = \"1\" }\nci = \"github\"\nagent = \"claude-code\"\n";
        let policy = Policy::parse(source, "p.toml").unwrap();
        assert_eq!(policy.tests[0].context(), "");
        assert_eq!(
            policy.tests[1].context(),
            "[env A=1 B=2, actor bot, agent claude-code, ci github, cwd /srv]"
        );
    }
}
