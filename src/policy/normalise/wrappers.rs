//! Programs that run another program: what each one's options are, and where the
//! wrapped command starts.

use super::Step;
use super::options::{OptionSpec, scan};

/// What running `argv` amounts to, if its program is a known wrapper.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "env" => env(argv),
        "sudo" => sudo(argv),
        "doas" => doas(argv),
        "nice" => plain(argv, &NICE),
        "nohup" | "builtin" => plain(argv, &OptionSpec::default()),
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
        _ => return None,
    };
    Some(steps)
}

/// The label recorded in `via` for a wrapper.
fn run(argv: &[String], from: usize) -> Step {
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

const ENV: OptionSpec = OptionSpec {
    flags: "i0v",
    valued: "uCSP",
    long_flags: &[
        "ignore-environment",
        "null",
        "debug",
        "list-signal-handling",
        "help",
        "version",
    ],
    long_valued: &["unset", "chdir", "split-string"],
    long_optional: &["block-signal", "default-signal", "ignore-signal"],
    ..EMPTY
};

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
    let at = skip_assignments(argv, at);
    if at < argv.len() {
        vec![run(argv, at)]
    } else {
        vec![Step::Keep]
    }
}

const SUDO: OptionSpec = OptionSpec {
    flags: "AbBEeHiKklnNPSsVv",
    valued: "CDghprRTtUu",
    long_flags: &[
        "askpass",
        "background",
        "bell",
        "edit",
        "help",
        "login",
        "list",
        "non-interactive",
        "no-update",
        "preserve-groups",
        "remove-timestamp",
        "reset-timestamp",
        "set-home",
        "shell",
        "stdin",
        "validate",
        "version",
    ],
    long_valued: &[
        "chdir",
        "chroot",
        "close-from",
        "command-timeout",
        "group",
        "host",
        "other-user",
        "prompt",
        "role",
        "type",
        "user",
    ],
    long_optional: &["preserve-env"],
    ..EMPTY
};

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
        return vec![run(argv, at)];
    }
    if found.has(&["-s", "--shell", "-i", "--login"]) {
        return vec![interactive_shell(&argv[0])];
    }
    vec![Step::Keep]
}

fn interactive_shell(program: &str) -> Step {
    Step::Opaque(format!(
        "{} starts an interactive root shell; what it will run cannot be known",
        super::basename(program)
    ))
}

const DOAS: OptionSpec = OptionSpec {
    flags: "nsL",
    valued: "uaC",
    ..EMPTY
};

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

const EMPTY: OptionSpec = OptionSpec {
    flags: "",
    valued: "",
    optional: "",
    long_flags: &[],
    long_valued: &[],
    long_optional: &[],
    numeric: false,
};

const NICE: OptionSpec = OptionSpec {
    valued: "n",
    long_valued: &["adjustment"],
    long_flags: &["help", "version"],
    numeric: true,
    ..EMPTY
};

const TIMEOUT: OptionSpec = OptionSpec {
    flags: "v",
    valued: "sk",
    long_flags: &[
        "preserve-status",
        "foreground",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["signal", "kill-after"],
    ..EMPTY
};

const TIME: OptionSpec = OptionSpec {
    flags: "apvqV",
    valued: "fo",
    long_flags: &[
        "append",
        "portability",
        "verbose",
        "quiet",
        "version",
        "help",
    ],
    long_valued: &["format", "output"],
    ..EMPTY
};

fn command(argv: &[String]) -> Vec<Step> {
    const COMMAND: OptionSpec = OptionSpec {
        flags: "pvV",
        ..EMPTY
    };
    match scan(&COMMAND, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        // `command -v X` only looks X up.
        Ok(found) if found.has(&["-v", "-V"]) => vec![Step::Keep],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

const EXEC: OptionSpec = OptionSpec {
    flags: "cl",
    valued: "a",
    ..EMPTY
};

const STDBUF: OptionSpec = OptionSpec {
    valued: "ioe",
    long_valued: &["input", "output", "error"],
    long_flags: &["help", "version"],
    ..EMPTY
};

const XARGS: OptionSpec = OptionSpec {
    flags: "0oprtx",
    valued: "adEILnPsJRS",
    optional: "eil",
    long_flags: &[
        "null",
        "open-tty",
        "interactive",
        "no-run-if-empty",
        "verbose",
        "exit",
        "show-limits",
        "help",
        "version",
    ],
    long_valued: &[
        "arg-file",
        "delimiter",
        "max-args",
        "max-procs",
        "max-chars",
        "process-slot-var",
    ],
    long_optional: &["eof", "replace", "max-lines"],
    ..EMPTY
};

/// The command runs with arguments read from stdin appended (or substituted for
/// the `-I` placeholder); its argv is kept as written. With no command, xargs runs `echo`.
fn xargs(argv: &[String]) -> Vec<Step> {
    match scan(&XARGS, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Run {
            label: "xargs".into(),
            argv: vec!["echo".into()],
        }],
    }
}

const WATCH: OptionSpec = OptionSpec {
    flags: "bcCeghprtwx",
    valued: "nq",
    optional: "d",
    long_flags: &[
        "beep", "color", "no-color", "errexit", "chgexit", "precise", "no-title", "no-wrap",
        "exec", "no-rerun", "help", "version",
    ],
    long_valued: &["interval", "equexit"],
    long_optional: &["differences"],
    ..EMPTY
};

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

const SETSID: OptionSpec = OptionSpec {
    flags: "cfw",
    long_flags: &["ctty", "fork", "wait", "help", "version"],
    ..EMPTY
};

const IONICE: OptionSpec = OptionSpec {
    flags: "t",
    valued: "cnpPu",
    long_flags: &["ignore", "help", "version"],
    long_valued: &["class", "classdata", "pid", "pgid", "uid"],
    ..EMPTY
};

const CHRT: OptionSpec = OptionSpec {
    flags: "abdefimoprRv",
    valued: "TPD",
    long_flags: &[
        "all-tasks",
        "batch",
        "deadline",
        "fifo",
        "idle",
        "max",
        "other",
        "pid",
        "rr",
        "reset-on-fork",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["sched-runtime", "sched-period", "sched-deadline"],
    ..EMPTY
};

const TASKSET: OptionSpec = OptionSpec {
    flags: "acp",
    long_flags: &["all-tasks", "cpu-list", "pid", "help", "version"],
    ..EMPTY
};

const FLOCK: OptionSpec = OptionSpec {
    flags: "sexnoFuhV",
    valued: "wE",
    long_flags: &[
        "shared",
        "exclusive",
        "nonblock",
        "nb",
        "close",
        "no-fork",
        "unlock",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["timeout", "wait", "conflict-exit-code"],
    ..EMPTY
};

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

const UNBUFFER: OptionSpec = OptionSpec {
    flags: "p",
    ..EMPTY
};
const CHRONIC: OptionSpec = OptionSpec {
    flags: "ev",
    ..EMPTY
};
const CAFFEINATE: OptionSpec = OptionSpec {
    flags: "dimsu",
    valued: "tw",
    ..EMPTY
};

/// `busybox APPLET ARGS…` runs the applet; `busybox --list` and friends run nothing.
fn busybox(argv: &[String]) -> Vec<Step> {
    match argv.get(1) {
        Some(applet) if !applet.starts_with('-') => vec![run(argv, 1)],
        _ => vec![Step::Keep],
    }
}
