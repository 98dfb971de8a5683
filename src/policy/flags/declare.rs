//! Reading a policy's `[[options]]` entries: option grammars for programs the
//! built-in table does not know, or options it lacks.
//!
//! ```toml
//! [[options]]
//! program = "deployctl release"      # a program, then a subcommand path
//! flags = ["-f --force", "-e --env ="]
//! abbreviations = false              # unique prefixes of long options (getopt_long)
//! ```

use super::{Declared, parse_line};
use crate::policy::read::{Reader, Value};
use crate::policy::rules::array_of_tables;

const OPTIONS_KEYS: &[&str] = &["program", "flags", "abbreviations"];

pub(in crate::policy) fn read_declared(
    reader: &mut Reader<'_>,
    value: Option<&Value<'_>>,
) -> Vec<Declared> {
    let mut declared = Vec::new();
    for (header, table) in array_of_tables(reader, value, "options") {
        reader.reject_unknown_keys(table, OPTIONS_KEYS, "[[options]]");
        let Some(program) = table.get("program") else {
            reader.error(
                header,
                "[[options]] needs \"program\"",
                Some("name the program, e.g. program = \"deployctl\" (or \"deployctl release\" for a subcommand)".into()),
            );
            continue;
        };
        let Some(text) = reader.string(program, "program") else {
            continue;
        };
        let path: Vec<String> = text.split_whitespace().map(String::from).collect();
        if path.is_empty() || path[0].contains('/') {
            reader.error(
                program.span(),
                format!("\"{text}\" is not a program name"),
                Some("write the program's name without a directory, e.g. \"deployctl\"".into()),
            );
            continue;
        }
        let abbreviations = table
            .get("abbreviations")
            .and_then(|v| reader.bool(v, "abbreviations"))
            .unwrap_or(false);
        let mut options = Vec::new();
        if let Some(lines) = table.get("flags").and_then(|v| reader.strings(v, "flags")) {
            for line in lines {
                match parse_line(line.get_ref()) {
                    Ok(opt) => options.push(opt),
                    Err(bad) => reader.error(line.span(), bad.message, Some(bad.hint)),
                }
            }
        }
        declared.push(Declared {
            path,
            options,
            abbreviations,
        });
    }
    declared
}
