//! Programs that run another program: what each one's options are, and where the
//! wrapped command starts.

use super::Step;
use super::options::{OptionSpec, Scanned, scan};
use super::wrapper_options::{
    CAFFEINATE, CHRONIC, CHRT, COMMAND, DOAS, EMPTY, ENV, EXEC, FLOCK, IONICE, NICE, PKEXEC,
    SETSID, STDBUF, SU, SUDO, TASKSET, TIME, TIMEOUT, UNBUFFER, WATCH, XARGS,
};

/// What running `argv` amounts to, if its program is a known wrapper.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "env" => env(argv),
        "sudo" => sudo(argv),
        "doas" => doas(argv),
        "nice" => plain(argv, &NICE),
        "nohup" | "builtin" => plain(argv, &EMPTY),
        "timeout" => with_leading_operands(argv, &TIMEOUT, 1),
        "time" => plain(argv, &TIME),
        "command" => command(argv),
        "exec" => plain(argv, &EXEC),
        "stdbuf" => plain(argv, &STDBUF),
        "xargs" => xargs(argv),
        "watch" => watch(argv),
        "setsid" => plain(argv, &SETSID),
        "ionice" => unless(
            argv,
            &IONICE,
            &["-p", "-P", "-u", "--pid", "--pgid", "--uid"],
            0,
        ),
        "chrt" => unless(argv, &CHRT, &["-p", "--pid", "-m", "--max"], 1),
        "taskset" => unless(argv, &TASKSET, &["-p", "--pid"], 1),
        "flock" => flock(argv),
        "unbuffer" => plain(argv, &UNBUFFER),
        "chronic" => plain(argv, &CHRONIC),
        "caffeinate" => plain(argv, &CAFFEINATE),
        "busybox" => busybox(argv),
        "su" | "runuser" => su(argv),
        "pkexec" => pkexec(argv),
        "gate" => gate(argv),
        "sem" => super::parallel::parallel(argv),
        "{}" => vec![Step::Opaque(
            "the command is a file name find or xargs substitutes at run time".into(),
        )],
        _ => return others(name, argv),
    };
    Some(steps)
}

/// Programs that run programs, by concern, each in its own module.
fn others(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    super::sandboxes::unwrap(name, argv)
        .or_else(|| super::tracers::unwrap(name, argv))
        .or_else(|| super::remote::unwrap(name, argv))
        .or_else(|| super::remote_copy::unwrap(name, argv))
        .or_else(|| super::containers::unwrap(name, argv))
        .or_else(|| super::compose::unwrap(name, argv))
        .or_else(|| super::config_exec::unwrap(name, argv))
        .or_else(|| super::interpreters::unwrap(name, argv))
}

/// `gate [--policy F] [--reason T] [--json] [--break-glass] [--ticket ID] -- CMD`
/// runs CMD (under whatever approval CMD itself needs); `gate SUBCOMMAND …` runs
/// no command of its own.
fn gate(argv: &[String]) -> Vec<Step> {
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        match arg.as_str() {
            "--" if at + 1 < argv.len() => return vec![run(argv, at + 1)],
            "--json" | "--break-glass" => at += 1,
            "--policy" | "--reason" | "--ticket" => at += 2,
            _ if ["--policy=", "--reason=", "--ticket="]
                .iter()
                .any(|option| arg.starts_with(option)) =>
            {
                at += 1
            }
            _ => break,
        }
    }
    vec![Step::Keep]
}

/// The label recorded in `via` for a wrapper.
pub(super) fn run(argv: &[String], from: usize) -> Step {
    Step::Run {
        label: super::basename(&argv[0]).to_string(),
        argv: argv[from..].to_vec(),
    }
}

/// Options, then the command; no command means the wrapper runs on its own.
fn plain(argv: &[String], spec: &OptionSpec) -> Vec<Step> {
    with_leading_operands(argv, spec, 0)
}

/// Options, then `skip` operands of the wrapper's own (a duration, a mask), then the command.
fn with_leading_operands(argv: &[String], spec: &OptionSpec, skip: usize) -> Vec<Step> {
    match scan(spec, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands + skip < argv.len() => vec![run(argv, found.operands + skip)],
        Ok(_) => vec![Step::Keep],
    }
}

/// Like `with_leading_operands`, but the listed options make the program act on
/// existing processes instead of starting a command.
fn unless(argv: &[String], spec: &OptionSpec, acting_on_pids: &[&str], skip: usize) -> Vec<Step> {
    match scan(spec, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.has(acting_on_pids) => vec![Step::Keep],
        Ok(_) => with_leading_operands(argv, spec, skip),
    }
}

/// Skip `NAME=value` operands, which env and sudo put into the environment.
fn skip_assignments(argv: &[String], mut at: usize) -> usize {
    while argv.get(at).is_some_and(|arg| is_assignment(arg)) {
        at += 1;
    }
    at
}

fn is_assignment(arg: &str) -> bool {
    arg.split_once('=')
        .is_some_and(|(name, _)| !name.is_empty())
}

fn env(argv: &[String]) -> Vec<Step> {
    let found = match scan(&ENV, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if let Some(split) = found.value(&["-S", "--split-string"]) {
        return vec![Step::SplitString {
            prefix: vec![argv[0].clone()],
            split: split.to_string(),
            rest: argv[found.operands..].to_vec(),
        }];
    }
    // A lone `-` is an old spelling of `-i`.
    let mut at = found.operands;
    if argv.get(at).is_some_and(|arg| arg == "-") {
        at += 1;
    }
    let command_at = skip_assignments(argv, at);
    with_environment(argv, at..command_at, run_or_keep(argv, command_at))
}

fn run_or_keep(argv: &[String], at: usize) -> Step {
    if at < argv.len() {
        run(argv, at)
    } else {
        Step::Keep
    }
}

/// `steps`, after what the `NAME=value` words in `assignments` make the command run.
fn with_environment(argv: &[String], assignments: std::ops::Range<usize>, step: Step) -> Vec<Step> {
    let mut steps: Vec<Step> = argv[assignments]
        .iter()
        .filter_map(|arg| arg.split_once('='))
        .flat_map(|(name, value)| super::config_exec::environment(name, value))
        .collect();
    steps.push(step);
    steps
}

fn sudo(argv: &[String]) -> Vec<Step> {
    let found = match scan(&SUDO, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let at = skip_assignments(argv, found.operands);
    if found.has(&["-e", "--edit"]) {
        let mut edit = vec!["sudoedit".to_string()];
        edit.extend_from_slice(&argv[at..]);
        return vec![Step::KeepAs(edit)];
    }
    if found.has(&[
        "-l",
        "--list",
        "-v",
        "--validate",
        "-K",
        "-V",
        "--version",
        "--help",
    ]) {
        return vec![Step::Keep];
    }
    if at < argv.len() {
        return with_environment(argv, found.operands..at, run(argv, at));
    }
    if found.has(&["-s", "--shell", "-i", "--login"]) {
        return vec![interactive_shell(&argv[0])];
    }
    vec![Step::Keep]
}

pub(super) fn interactive_shell(program: &str) -> Step {
    Step::Opaque(format!(
        "{} starts an interactive shell; what it will run cannot be known",
        super::basename(program)
    ))
}

fn doas(argv: &[String]) -> Vec<Step> {
    let found = match scan(&DOAS, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    // `-C` only checks the config; `-L` only clears persisted logins.
    if found.has(&["-C", "-L"]) {
        return vec![Step::Keep];
    }
    if found.operands < argv.len() {
        return vec![run(argv, found.operands)];
    }
    if found.has(&["-s"]) {
        return vec![interactive_shell(&argv[0])];
    }
    vec![Step::Keep]
}

fn command(argv: &[String]) -> Vec<Step> {
    match scan(&COMMAND, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        // `command -v X` only looks X up.
        Ok(found) if found.has(&["-v", "-V"]) => vec![Step::Keep],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

/// The command runs with arguments read from stdin appended (or substituted for
/// the `-I` placeholder); its argv is kept as written. With no command, xargs runs `echo`.
fn xargs(argv: &[String]) -> Vec<Step> {
    match scan(&XARGS, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found)
            if found
                .value(&["-I", "-i", "--replace"])
                .is_some_and(|marker| {
                    argv.get(found.operands).is_some_and(|c| c.contains(marker))
                }) =>
        {
            vec![Step::Opaque(
                "xargs puts its input into the command name".into(),
            )]
        }
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Run {
            label: "xargs".into(),
            argv: vec!["echo".into()],
        }],
    }
}

/// Without `-x`, watch joins its operands and runs them with `sh -c`.
fn watch(argv: &[String]) -> Vec<Step> {
    let found = match scan(&WATCH, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let operands = &argv[found.operands..];
    if operands.is_empty() {
        return vec![Step::Keep];
    }
    if found.has(&["-x", "--exec"]) {
        return vec![run(argv, found.operands)];
    }
    vec![Step::Line {
        label: "watch".into(),
        line: operands.join(" "),
    }]
}

/// `flock LOCK CMD ARGS…`, `flock LOCK -c STRING` (run with `sh -c`), or `flock FD`.
fn flock(argv: &[String]) -> Vec<Step> {
    let found = match scan(&FLOCK, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let command_at = found.operands + 1;
    match argv.get(command_at).map(String::as_str) {
        None => vec![Step::Keep],
        Some("-c" | "--command") => match argv.get(command_at + 1) {
            Some(line) => vec![Step::Line {
                label: "flock -c".into(),
                line: line.clone(),
            }],
            None => vec![Step::Opaque(
                "flock -c is missing its command string".into(),
            )],
        },
        Some(_) => vec![run(argv, command_at)],
    }
}

/// `busybox APPLET ARGS…` runs the applet; `busybox --list` and friends run nothing.
fn busybox(argv: &[String]) -> Vec<Step> {
    match argv.get(1) {
        Some(applet) if !applet.starts_with('-') => vec![run(argv, 1)],
        _ => vec![Step::Keep],
    }
}

/// `su [options] [-] [USER [ARGS…]]`: options may follow the user (su permutes its
/// arguments). With `-c STRING` the string runs in the user's shell; without it su
/// starts an interactive shell.
fn su(argv: &[String]) -> Vec<Step> {
    let mut options = Vec::new();
    let mut at = 1;
    while at < argv.len() {
        match scan(&SU, argv, at) {
            Ok(found) => {
                options.extend(found.options);
                at = found.operands + 1;
            }
            Err(reason) => return vec![Step::Opaque(reason)],
        }
    }
    let found = Scanned {
        options,
        operands: argv.len(),
    };
    if let Some(line) = found.value(&["-c", "--command", "--session-command"]) {
        return vec![Step::Line {
            label: "su -c".into(),
            line: line.to_string(),
        }];
    }
    if found.has(&["--help", "--version", "-h", "-V"]) {
        return vec![Step::Keep];
    }
    vec![interactive_shell(&argv[0])]
}

/// `pkexec [--user U] CMD…`; with no command pkexec starts a root shell.
fn pkexec(argv: &[String]) -> Vec<Step> {
    match scan(&PKEXEC, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(found) if found.has(&["--help", "--version"]) => vec![Step::Keep],
        Ok(_) => vec![interactive_shell(&argv[0])],
    }
}
