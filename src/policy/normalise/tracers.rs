//! Tracers, debuggers and job runners that start the command they are given:
//! strace, ltrace, valgrind, gdb and GNU parallel.

use super::Step;
use super::options::scan;
use super::sandbox_options::{LTRACE, STRACE};
use super::wrappers::run;

/// What running `argv` amounts to, if its program is one of these.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "strace" => strace(argv),
        "ltrace" => ltrace(argv),
        "valgrind" => valgrind(argv),
        "gdb" => gdb(argv),
        "parallel" => super::parallel::parallel(argv),
        _ => return None,
    };
    Some(steps)
}

/// `strace [options] COMMAND…`, or `-p PID` to attach. `-o |CMD` (or `!CMD`)
/// pipes the trace into a shell command.
fn strace(argv: &[String]) -> Vec<Step> {
    let found = match scan(&STRACE, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let mut steps: Vec<Step> = found
        .options
        .iter()
        .filter(|(name, _)| name == "-o" || name == "--output")
        .filter_map(|(_, value)| value.as_deref()?.strip_prefix(['|', '!']))
        .map(|line| Step::Line {
            label: "strace -o".into(),
            line: line.to_string(),
        })
        .collect();
    if found.operands < argv.len() {
        steps.push(run(argv, found.operands));
    }
    if steps.is_empty() {
        steps.push(Step::Keep);
    }
    steps
}

fn ltrace(argv: &[String]) -> Vec<Step> {
    match scan(&LTRACE, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

/// `valgrind [--option[=value]]… PROGRAM…`: every valgrind option is one word.
/// `--db-command=` names a command valgrind runs itself.
fn valgrind(argv: &[String]) -> Vec<Step> {
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        if arg == "--" {
            at += 1;
            break;
        }
        if !arg.starts_with('-') {
            break;
        }
        if arg.starts_with("--db-command") || arg.starts_with("--vgdb-prefix") {
            return vec![Step::Opaque(format!(
                "valgrind {arg} names a command it runs"
            ))];
        }
        at += 1;
    }
    if at < argv.len() {
        vec![run(argv, at)]
    } else {
        vec![Step::Keep]
    }
}

/// gdb options, written with one dash or two, as gdb accepts both.
const GDB_FLAGS: &[&str] = &[
    "batch",
    "batch-silent",
    "q",
    "quiet",
    "silent",
    "nx",
    "n",
    "nh",
    "readnow",
    "readnever",
    "tui",
    "write",
    "return-child-result",
    "nw",
    "nowindows",
    "w",
    "windows",
    "version",
    "help",
    "configuration",
    "dbx",
    "statistics",
    "interpreter=mi",
];
const GDB_VALUED: &[&str] = &[
    "p",
    "pid",
    "c",
    "core",
    "se",
    "s",
    "symbols",
    "e",
    "exec",
    "d",
    "directory",
    "cd",
    "tty",
    "t",
    "b",
    "l",
    "interpreter",
    "i",
    "data-directory",
    "D",
    "init-eval-command",
    "iex",
    "eval-command",
    "ex",
    "command",
    "x",
    "init-command",
    "ix",
];
/// gdb commands that neither run a shell nor call code: the rest (`shell`, `!`,
/// `pipe`, `python`, `call`, `print` of a call, `source`…) are not analysed.
const GDB_HARMLESS: &[&str] = &[
    "run",
    "r",
    "start",
    "starti",
    "bt",
    "backtrace",
    "where",
    "info",
    "i",
    "quit",
    "q",
    "continue",
    "c",
    "next",
    "n",
    "step",
    "s",
    "break",
    "b",
    "tbreak",
    "watch",
    "finish",
    "kill",
    "frame",
    "f",
    "up",
    "down",
    "list",
    "l",
    "disassemble",
    "x",
    "thread",
    "detach",
    "set",
    "show",
    "echo",
    "display",
    "delete",
    "handle",
];

/// `gdb [options] [PROGRAM [CORE|PID]]` or `gdb [options] --args PROGRAM ARGS…`.
/// The program may be run, so it is analysed as a command. `-ex`/`-iex` commands
/// are gdb commands: `shell CMD` and `!CMD` are shell lines; anything that could
/// run code gdb does not show (`python`, `call`, `pipe`, a script `-x`) is opaque.
fn gdb(argv: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut operands = Vec::new();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        let Some(option) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            operands.push(arg.clone());
            continue;
        };
        if option == "args" {
            if at < argv.len() {
                steps.push(Step::Run {
                    label: "gdb --args".into(),
                    argv: argv[at..].to_vec(),
                });
            }
            operands.clear();
            break;
        }
        let (name, attached) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (option, None),
        };
        if GDB_FLAGS.contains(&option) {
            continue;
        }
        if !GDB_VALUED.contains(&name) {
            return vec![Step::Opaque(format!("unrecognised option {arg} to gdb"))];
        }
        let Some(value) = attached.or_else(|| {
            at += 1;
            argv.get(at - 1).cloned()
        }) else {
            return vec![Step::Opaque(format!("gdb {arg} is missing its value"))];
        };
        match name {
            "ex" | "eval-command" | "iex" | "init-eval-command" => {
                steps.extend(gdb_command(&value))
            }
            "x" | "command" | "ix" | "init-command" => {
                return vec![Step::Opaque(
                    "gdb runs a command file that is not analysed".into(),
                )];
            }
            _ => {}
        }
    }
    if let Some(program) = operands.first() {
        steps.push(Step::Run {
            label: "gdb".into(),
            argv: vec![program.clone()],
        });
    }
    steps.insert(0, Step::Keep);
    steps
}

/// What one gdb command adds: nothing when it is harmless.
fn gdb_command(command: &str) -> Option<Step> {
    let command = command.trim_start();
    if let Some(line) = command.strip_prefix('!') {
        return Some(shell_line(line));
    }
    let word = command.split_whitespace().next().unwrap_or("");
    if word == "shell" {
        return Some(shell_line(command["shell".len()..].trim_start()));
    }
    if GDB_HARMLESS.contains(&word) && !command.contains(['(', '$', '|', '`']) {
        return None;
    }
    Some(Step::Opaque(format!(
        "gdb command \"{word}\" is not analysed"
    )))
}

fn shell_line(line: &str) -> Step {
    Step::Line {
        label: "gdb shell".into(),
        line: line.to_string(),
    }
}
