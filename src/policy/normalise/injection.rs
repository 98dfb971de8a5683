//! Code that reaches a shell through its environment rather than its command
//! line: a file bash sources first (`BASH_ENV`, `ENV`), exported functions that
//! replace commands (`BASH_FUNC_name%%`), options and prompts that expand code
//! (`SHELLOPTS`, `BASHOPTS`, `PS4` under `-x`, `PROMPT_COMMAND`), the command hash
//! and alias tables (`BASH_CMDS`, `BASH_ALIASES`), and libraries loaded into any
//! program (`LD_PRELOAD`, `LD_AUDIT`).

use std::collections::BTreeMap;

/// Variables that make a shell run code nobody typed.
const SHELL_VARIABLES: &[&str] = &[
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PROMPT_COMMAND",
    "PS0",
    "PS4",
    "BASH_CMDS",
    "BASH_ALIASES",
];
/// Variables that load code into every program.
const LOADER_VARIABLES: &[&str] = &["LD_PRELOAD", "LD_AUDIT"];

/// Why assigning `name` (as written before `=`, maybe with a subscript) runs
/// code, if it does.
pub(super) fn assignment(name: &str) -> Option<String> {
    let base = name.split(['[', '+']).next().unwrap_or(name);
    let named = SHELL_VARIABLES.contains(&base) || LOADER_VARIABLES.contains(&base);
    (named || base.starts_with("BASH_FUNC_"))
        .then(|| format!("setting {base} makes the shell run code that is not analysed"))
}

/// Why `word` (`NAME=value`, as env and sudo take it) runs code, if it does.
pub(super) fn assignment_word(word: &str) -> Option<String> {
    let (name, _) = word.split_once('=')?;
    assignment(name)
}

/// What an environment means for the commands found in a request: a reason that
/// every shell is opaque, and a reason that every program is.
#[derive(Debug, Default)]
pub(super) struct Inherited {
    pub shells: Option<String>,
    pub programs: Option<String>,
}

pub(super) fn inherited(env: &BTreeMap<String, String>) -> Inherited {
    let set = |name: &&&str| env.get(**name).is_some_and(|value| !value.is_empty());
    let loader = LOADER_VARIABLES.iter().find(set);
    let shell = SHELL_VARIABLES
        .iter()
        .find(set)
        .map(|name| name.to_string())
        .or_else(|| {
            env.keys()
                .find(|name| name.starts_with("BASH_FUNC_"))
                .cloned()
        })
        .or_else(|| {
            env.iter()
                .find(|(_, value)| {
                    super::globs::subscript_runs_code(value) && value.contains(['(', '`'])
                })
                .map(|(name, _)| name.clone())
        });
    Inherited {
        shells: shell.map(|name| {
            format!("{name} in the environment makes the shell run code that is not analysed")
        }),
        programs: loader
            .map(|name| format!("{name} in the environment loads code into the program")),
    }
}
