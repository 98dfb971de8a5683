//! Normalisation: turn an argv (or a shell line) into the simple commands that will
//! really run, unwrapping wrappers and parsing `sh -c` strings with a real parser.
//!
//! This module owns the answer to "what does this request run?". It never guesses:
//! an option it does not know, an expansion in command position or a string it
//! cannot parse makes the command opaque, with the reason, so policy can decide.
//! Pure: no I/O, no environment, never panics on input.

mod ansi_c;
mod builtins;
mod compose;
mod config_exec;
mod container_options;
mod containers;
mod env_split;
mod globs;
mod injection;
mod inline_code;
mod inline_code_js;
mod inline_code_words;
mod interpreters;
mod js_runtime_options;
mod js_runtimes;
mod options;
mod parallel;
mod remote;
mod remote_copy;
mod sandbox_options;
mod sandboxes;
mod shell;
mod simple;
mod small_languages;
mod ssh_options;
mod tracers;
mod words;
mod wrapper_options;
mod wrappers;

pub use interpreters::runs_inline_code;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many wrappers and nested shells we unwrap before calling the request opaque.
const MAX_DEPTH: usize = 16;

/// One command found in the request after unwrapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleCommand {
    /// The argv that will run, argv[0] as written (possibly a path).
    pub argv: Vec<String>,
    /// Wrappers peeled off to get here, outermost first (e.g. `["sudo", "env", "sh -c"]`).
    pub via: Vec<String>,
    /// Why this command cannot be analysed statically, if it cannot.
    pub opaque: Option<String>,
    /// Words of `argv` whose value is only known at run time (expansions,
    /// file-name patterns), kept as written in `argv`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<RuntimeWord>,
    /// The executable argv[0] resolves to, when it is not what argv[0] says (a
    /// symlink, another name): rules may match either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
}

/// One word of a command that the shell expands at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeWord {
    /// Its index in `argv`.
    pub at: usize,
    /// A glob every value it can take matches; `None` when any value is possible.
    pub values: Option<String>,
    /// Whether it may become zero or several arguments.
    pub splits: bool,
}

/// Normalise an argv as given to `gate -- ...`.
pub fn normalise(argv: &[String]) -> Vec<SimpleCommand> {
    normalise_resolved(argv, None, &BTreeMap::new())
}

/// Normalise an argv whose program resolves to `executable` (found by the caller
/// on PATH, symlinks followed) and that runs with `env`. A shell or wrapper under
/// another name is unwrapped like the original, and variables that inject code
/// into shells or programs make what they reach opaque.
pub fn normalise_resolved(
    argv: &[String],
    executable: Option<&str>,
    env: &BTreeMap<String, String>,
) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let Some(program) = argv.first() else {
        return out;
    };
    // Only a different name matters: `ls` found at /usr/bin/ls is still `ls`.
    let resolved = executable.filter(|path| basename(path) != basename(program));
    // What the name typed means and what the file that runs is: both count, so
    // `./kubectl -c …` that is really bash is read as bash as well as kubectl.
    let typed = dispatch(basename(program), argv);
    let real = resolved.and_then(|path| dispatch(basename(path), argv));
    let steps = match (typed, real) {
        (None, None) => vec![Step::Keep],
        (typed, real) => typed.into_iter().chain(real).flatten().collect(),
    };
    for step in steps {
        follow(step, argv, &[], 0, &mut out);
    }
    if let Some(path) = resolved {
        out.iter_mut()
            .filter(|command| command.via.is_empty() && command.argv.first() == Some(program))
            .for_each(|command| command.executable = Some(path.to_string()));
    }
    mark_inherited(&mut out, &injection::inherited(env));
    out
}

/// Commands reached by an environment that injects code become opaque.
fn mark_inherited(commands: &mut [SimpleCommand], inherited: &injection::Inherited) {
    for command in commands.iter_mut().filter(|c| c.opaque.is_none()) {
        let in_shell = command.via.iter().any(|label| shell::is_shell_label(label));
        command.opaque = match (&inherited.programs, &inherited.shells) {
            (Some(reason), _) => Some(reason.clone()),
            (None, Some(reason)) if in_shell => Some(reason.clone()),
            _ => None,
        };
    }
}

/// Normalise a shell line (as in `sh -c LINE` or a `[[test]]` command).
pub fn normalise_line(line: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    if let Err(reason) = shell::walk_line(line, &[], 0, &mut out) {
        let argv = line.split_whitespace().map(String::from).collect();
        out.push(command(argv, &[], Some(reason)));
    }
    out
}

/// What a program does with the rest of its argv, as far as normalisation goes.
#[derive(Debug)]
enum Step {
    /// The argv is the command (not a wrapper, or a wrapper with nothing to wrap).
    Keep,
    /// Report this argv instead (`sudo -e F` is `sudoedit F`).
    KeepAs(Vec<String>),
    /// The argv cannot be analysed, for this reason.
    Opaque(String),
    /// The wrapper runs this argv.
    Run { label: String, argv: Vec<String> },
    /// The wrapper runs this string with a shell.
    Line { label: String, line: String },
    /// `env -S`: the string splits into words that replace it, then env carries on.
    SplitString {
        prefix: Vec<String>,
        split: String,
        rest: Vec<String>,
    },
}

/// Normalise one argv into `out`, following wrappers down to what they run.
fn normalise_argv(argv: Vec<String>, via: &[String], depth: usize, out: &mut Vec<SimpleCommand>) {
    let Some(program) = argv.first() else { return };
    if depth > MAX_DEPTH {
        let reason = format!("wrappers and shells nested more than {MAX_DEPTH} deep");
        out.push(command(argv, via, Some(reason)));
        return;
    }
    let steps = dispatch(basename(program), &argv).unwrap_or_else(|| vec![Step::Keep]);
    for step in steps {
        follow(step, &argv, via, depth, out);
    }
}

/// What running `name` with `argv` amounts to, when it is more than itself.
fn dispatch(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    if let Some(reason) = sets_injecting_variable(name, argv) {
        return Some(vec![Step::Opaque(reason)]);
    }
    wrappers::unwrap(name, argv)
        .or_else(|| shell::invocation(name, argv))
        .or_else(|| builtin(name, argv))
}

/// `env BASH_ENV=f …`, `sudo LD_PRELOAD=x …`: programs that set variables from
/// `NAME=value` arguments, setting one that injects code.
fn sets_injecting_variable(name: &str, argv: &[String]) -> Option<String> {
    if !matches!(name, "env" | "sudo" | "doas") {
        return None;
    }
    argv[1..]
        .iter()
        .find_map(|arg| injection::assignment_word(arg))
}

fn follow(step: Step, argv: &[String], via: &[String], depth: usize, out: &mut Vec<SimpleCommand>) {
    match step {
        Step::Keep => out.push(command(argv.to_vec(), via, runtime_name(argv))),
        Step::KeepAs(replacement) => out.push(command(replacement, via, None)),
        Step::Opaque(reason) => out.push(command(argv.to_vec(), via, Some(reason))),
        Step::Run { label, argv: inner } => {
            normalise_argv(inner, &with_label(via, &label), depth + 1, out)
        }
        Step::Line { label, line } => {
            let inner_via = with_label(via, &label);
            let before = out.len();
            match shell::walk_line(&line, &inner_via, depth + 1, out) {
                Err(reason) => out.push(command(argv.to_vec(), via, Some(reason))),
                // An empty string runs nothing; report the invocation itself.
                Ok(()) if out.len() == before => out.push(command(argv.to_vec(), via, None)),
                Ok(()) => {}
            }
        }
        Step::SplitString {
            prefix,
            split,
            rest,
        } => match env_split::split(&split) {
            Ok(split) => normalise_argv([prefix, split, rest].concat(), via, depth + 1, out),
            Err(reason) => out.push(command(argv.to_vec(), via, Some(reason))),
        },
    }
}

/// Shell builtins and programs that run code from somewhere we cannot see, or run
/// a second command besides themselves.
fn builtin(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let args = &argv[1..];
    let steps = match name {
        "eval" if !args.is_empty() => vec![
            Step::Opaque("eval runs a string built at run time".into()),
            Step::Line {
                label: "eval".into(),
                line: args.join(" "),
            },
        ],
        "source" | "." => vec![Step::Opaque(format!(
            "{name} runs commands from a file that is not analysed"
        ))],
        "alias" if args.iter().any(|arg| arg.contains('=')) => {
            vec![Step::Opaque(
                "alias changes what later command names run".into(),
            )]
        }
        "hash"
            if args
                .iter()
                .any(|arg| arg.starts_with('-') && arg.contains('p')) =>
        {
            vec![Step::Opaque(
                "hash -p changes what a command name runs".into(),
            )]
        }
        "trap" => trap(args),
        "find" => find(argv),
        _ => vec![Step::Opaque(builtins::runs_hidden_code(name, args)?)],
    };
    Some(steps)
}

/// `trap 'CMD' SIGNAL…` runs CMD later; analyse it as a line.
fn trap(args: &[String]) -> Vec<Step> {
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    match args {
        [action, _signal, ..] if action != "-" && !action.starts_with('-') => vec![
            Step::Keep,
            Step::Line {
                label: "trap".into(),
                line: action.clone(),
            },
        ],
        _ => vec![Step::Keep],
    }
}

/// `find … -exec CMD … ;` runs CMD for each file; `{}` stands for the file.
fn find(argv: &[String]) -> Vec<Step> {
    let mut steps = vec![Step::Keep];
    let mut rest = argv;
    while let Some(at) = rest
        .iter()
        .position(|arg| matches!(arg.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))
    {
        let after = &rest[at + 1..];
        let end = after
            .iter()
            .position(|arg| arg == ";" || arg == "+")
            .unwrap_or(after.len());
        if end > 0 {
            steps.push(Step::Run {
                label: format!("find {}", rest[at]),
                argv: after[..end].to_vec(),
            });
        }
        rest = after.get(end..).unwrap_or_default();
    }
    steps
}

/// A command name that looks like an unexpanded expansion (`$CMD`, `` `x` ``).
fn runtime_name(argv: &[String]) -> Option<String> {
    let name = argv.first()?;
    name.contains(['$', '`'])
        .then(|| "the command name is only known at run time (an expansion)".to_string())
}

fn command(argv: Vec<String>, via: &[String], opaque: Option<String>) -> SimpleCommand {
    SimpleCommand {
        argv,
        via: via.to_vec(),
        opaque,
        runtime: Vec::new(),
        executable: None,
    }
}

fn with_label(via: &[String], label: &str) -> Vec<String> {
    let mut via = via.to_vec();
    via.push(label.to_string());
    via
}

fn basename(program: &str) -> &str {
    super::pattern::basename(program)
}

#[cfg(test)]
mod tests;
