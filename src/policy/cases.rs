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
