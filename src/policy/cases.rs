//! Reading `[[test]]` entries: the command line, the expected decision, and the
//! optional request context a case is decided in.

use super::TestCase;
use super::read::{Reader, Value};
use super::rules::{array_of_tables, required};
use std::collections::BTreeMap;
use toml::de::DeTable;

const TEST_KEYS: &[&str] = &["command", "expect", "env", "cwd", "actor", "agent", "ci"];

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
    let command_value = required(
        reader,
        table,
        &header,
        "test",
        "command",
        "\"kubectl get pods\"",
    );
    let command = command_value.and_then(|v| reader.string(v, "command"));
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
