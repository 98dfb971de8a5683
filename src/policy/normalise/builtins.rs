//! Bash builtins that run code without a visible command: they take variable
//! names or arithmetic, and bash expands an array subscript there (running any
//! `$(…)` in it), or they take a callback, or they rewrite the variables that
//! decide what a command name runs.

use super::{globs, injection};

/// Builtins whose operands are variable names or arithmetic.
const NAME_TAKERS: &[&str] = &[
    "declare",
    "typeset",
    "local",
    "export",
    "readonly",
    "unset",
    "let",
    "read",
    "getopts",
    "wait",
    "mapfile",
    "readarray",
    "shift",
    "return",
    "exit",
    "ulimit",
];
/// Builtins whose argument after `-v` is a variable name.
const DASH_V_TAKERS: &[&str] = &["printf", "test", "["];
/// Builtins whose operands may assign variables (`declare NAME=value`).
const ASSIGNERS: &[&str] = &["declare", "typeset", "local", "export", "readonly"];

/// Why running builtin `name` with `args` runs code nobody typed, if it does.
pub(super) fn runs_hidden_code(name: &str, args: &[String]) -> Option<String> {
    if matches!(name, "mapfile" | "readarray") && args.iter().any(|arg| short_flag(arg, 'C')) {
        return Some(format!("{name} -C runs a callback that is not analysed"));
    }
    let evaluated = if NAME_TAKERS.contains(&name) {
        args.iter().find(|arg| globs::subscript_runs_code(arg))
    } else if DASH_V_TAKERS.contains(&name) {
        args.windows(2)
            .find(|pair| pair[0] == "-v" && globs::subscript_runs_code(&pair[1]))
            .map(|pair| &pair[1])
    } else {
        None
    };
    if let Some(word) = evaluated {
        return Some(format!(
            "{name} evaluates the array subscript in {word:?}, which can run commands"
        ));
    }
    if ASSIGNERS.contains(&name) {
        return args
            .iter()
            .filter(|arg| !arg.starts_with(['-', '+']))
            .find_map(|arg| injection::assignment(arg.split('=').next().unwrap_or(arg)));
    }
    None
}

fn short_flag(arg: &str, flag: char) -> bool {
    arg.len() > 1 && arg.starts_with('-') && !arg.starts_with("--") && arg[1..].contains(flag)
}
