//! Wrappers that run a command in another namespace, root, sandbox, session or
//! group: where each one's command starts, and the forms that run a shell instead.
//!
//! Those that start the user's shell when given no command (chroot, unshare,
//! nsenter, setarch, sg, script, firejail) are opaque then: the shell reads its
//! commands from stdin, which gate cannot see.

use super::Step;
use super::options::{OptionSpec, scan};
use super::sandbox_options::{
    CHROOT, DBUS_RUN_SESSION, FLATPAK_SPAWN, NSENTER, PRLIMIT, SCRIPT, SETARCH, SETPRIV,
    SYSTEMD_RUN, UNSHARE,
};
use super::wrappers::{interactive_shell, run};

/// What running `argv` amounts to, if its program is one of these wrappers.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "chroot" => or_shell(argv, &CHROOT, 1),
        "unshare" => or_shell(argv, &UNSHARE, 0),
        "nsenter" => or_shell(argv, &NSENTER, 0),
        "setpriv" => setpriv(argv),
        "prlimit" => prlimit(argv),
        "setarch" => setarch(argv, 1),
        "linux32" | "linux64" | "i386" | "x86_64" | "uname26" => setarch(argv, 0),
        "sg" => sg(argv),
        "script" => script(argv),
        "dbus-run-session" => dbus_run_session(argv),
        "systemd-run" => systemd_run(argv),
        "flatpak-spawn" => flatpak_spawn(argv),
        "firejail" => firejail(argv),
        "ip" => ip(argv),
        _ => return None,
    };
    Some(steps)
}

/// Options, `skip` operands of the wrapper's own (chroot's new root), then the
/// command; with no command the wrapper starts an interactive shell.
fn or_shell(argv: &[String], spec: &OptionSpec, skip: usize) -> Vec<Step> {
    match scan(spec, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.has(&["-h", "--help", "-V", "--version"]) => vec![Step::Keep],
        Ok(found) if found.operands + skip < argv.len() => vec![run(argv, found.operands + skip)],
        Ok(_) => vec![interactive_shell(&argv[0])],
    }
}

/// `setpriv [options] PROGRAM…`; `-d` only prints the current state.
fn setpriv(argv: &[String]) -> Vec<Step> {
    match scan(&SETPRIV, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

/// `prlimit [limits] COMMAND…`, or `prlimit --pid PID` acting on a process.
fn prlimit(argv: &[String]) -> Vec<Step> {
    match scan(&PRLIMIT, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.has(&["-p", "--pid"]) => vec![Step::Keep],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

/// `setarch ARCH [options] [PROGRAM…]`; as `linux32`/`linux64` the ARCH is the name.
/// With no program it runs /bin/sh.
fn setarch(argv: &[String], arch_operands: usize) -> Vec<Step> {
    if arch_operands == 1 && argv.get(1).is_none_or(|arch| arch.starts_with('-')) {
        // `setarch --list`, `setarch -h`: no architecture, nothing run.
        return match scan(&SETARCH, argv, 1) {
            Err(reason) => vec![Step::Opaque(reason)],
            Ok(_) => vec![Step::Keep],
        };
    }
    match scan(&SETARCH, argv, 1 + arch_operands) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![interactive_shell(&argv[0])],
    }
}

/// `sg [-] GROUP [-c] COMMAND`: the command is a string run by `/bin/sh -c`.
fn sg(argv: &[String]) -> Vec<Step> {
    let mut at = 1;
    if argv.get(at).is_some_and(|arg| arg == "-") {
        at += 1;
    }
    if argv.get(at).is_none_or(|group| group.starts_with('-')) {
        return vec![Step::Keep];
    }
    at += 1;
    if argv.get(at).is_some_and(|arg| arg == "-c") {
        at += 1;
    }
    match argv.get(at..) {
        Some(words) if !words.is_empty() => vec![Step::Line {
            label: "sg".into(),
            line: words.join(" "),
        }],
        _ => vec![interactive_shell(&argv[0])],
    }
}

/// `script [options] [FILE]`: `-c STRING` runs in the user's shell; without it
/// script starts an interactive shell. Options may follow the file (it permutes).
fn script(argv: &[String]) -> Vec<Step> {
    let mut options = Vec::new();
    let mut at = 1;
    while at < argv.len() {
        match scan(&SCRIPT, argv, at) {
            Ok(found) => {
                options.extend(found.options);
                at = found.operands + 1;
            }
            Err(reason) => return vec![Step::Opaque(reason)],
        }
    }
    let found = super::options::Scanned {
        options,
        operands: argv.len(),
    };
    if let Some(line) = found.value(&["-c", "--command"]) {
        return vec![Step::Line {
            label: "script -c".into(),
            line: line.to_string(),
        }];
    }
    if found.has(&["-h", "--help", "-V", "--version"]) {
        return vec![Step::Keep];
    }
    vec![interactive_shell(&argv[0])]
}

/// `dbus-run-session [--dbus-daemon=BINARY] [--] PROGRAM…`: the daemon it starts
/// is a program too.
fn dbus_run_session(argv: &[String]) -> Vec<Step> {
    let found = match scan(&DBUS_RUN_SESSION, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let mut steps = Vec::new();
    if let Some(daemon) = found.value(&["--dbus-daemon"]) {
        steps.push(Step::Run {
            label: "dbus-run-session --dbus-daemon".into(),
            argv: vec![daemon.to_string()],
        });
    }
    if found.operands < argv.len() {
        steps.push(run(argv, found.operands));
    }
    if steps.is_empty() {
        steps.push(Step::Keep);
    }
    steps
}

/// `systemd-run [options] COMMAND…`. A unit property that names a command
/// (`-p ExecStartPre=…`) runs it too, in systemd's own syntax: opaque.
fn systemd_run(argv: &[String]) -> Vec<Step> {
    let found = match scan(&SYSTEMD_RUN, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let property_runs = found.options.iter().any(|(name, value)| {
        name.ends_with("property") || name == "-p"
    } && value.as_deref().is_some_and(|v| {
        v.trim_start().to_ascii_lowercase().starts_with("exec")
    }));
    if property_runs {
        return vec![Step::Opaque(
            "systemd-run sets a unit property that runs a command".into(),
        )];
    }
    if found.operands < argv.len() {
        return vec![run(argv, found.operands)];
    }
    if found.has(&["-S", "--shell"]) {
        return vec![interactive_shell(&argv[0])];
    }
    vec![Step::Keep]
}

fn flatpak_spawn(argv: &[String]) -> Vec<Step> {
    match scan(&FLATPAK_SPAWN, argv, 1) {
        Err(reason) => vec![Step::Opaque(reason)],
        Ok(found) if found.operands < argv.len() => vec![run(argv, found.operands)],
        Ok(_) => vec![Step::Keep],
    }
}

/// `firejail [--option[=value]]… [--] PROGRAM…`. Every firejail option is one
/// word, so the program is the first word that is not an option. Options that
/// only report (`--list`, `--tree`…) run nothing; otherwise no program means the
/// user's shell. `--shell=` and `--join*` pick what runs: opaque.
fn firejail(argv: &[String]) -> Vec<Step> {
    const REPORTS: &[&str] = &[
        "--list",
        "--tree",
        "--top",
        "--help",
        "--version",
        "--netstats",
        "--ls",
        "--get",
    ];
    let mut at = 1;
    let mut reports = false;
    while let Some(arg) = argv.get(at) {
        if arg == "--" {
            at += 1;
            break;
        }
        if !arg.starts_with("--") {
            if arg.starts_with('-') {
                return vec![Step::Opaque(format!(
                    "unrecognised option {arg} to firejail"
                ))];
            }
            break;
        }
        let name = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        if name == "--shell" && !arg.ends_with("=none") || name.starts_with("--join") {
            return vec![Step::Opaque(format!(
                "firejail {name} chooses what runs in the sandbox"
            ))];
        }
        reports |= REPORTS.contains(&name) || name.starts_with("--debug");
        at += 1;
    }
    if at < argv.len() {
        return vec![run(argv, at)];
    }
    if reports {
        return vec![Step::Keep];
    }
    vec![interactive_shell(&argv[0])]
}

/// `ip [options] netns exec NAME COMMAND…` (`ip -all netns exec COMMAND…` runs it
/// in every namespace). ip accepts any unambiguous prefix of its words and
/// single-dash long options; `-n`, `-b`, `-f`, `-l`, `-rc` take a value.
fn ip(argv: &[String]) -> Vec<Step> {
    let mut at = 1;
    let mut all = false;
    while let Some(arg) = argv.get(at) {
        let Some(option) = arg.strip_prefix('-') else {
            break;
        };
        let option = option.strip_prefix('-').unwrap_or(option);
        all |= option.len() >= 2 && "all".starts_with(option);
        let valued = ["netns", "batch", "rcvbuf", "family", "loops"]
            .iter()
            .any(|long| !option.is_empty() && long.starts_with(option))
            || option == "rc";
        at += if valued { 2 } else { 1 };
    }
    let word = |at: usize| argv.get(at).map(String::as_str).unwrap_or("");
    let netns = word(at).len() >= 3 && "netns".starts_with(word(at));
    let exec = !word(at + 1).is_empty() && "exec".starts_with(word(at + 1));
    if !(netns && exec) {
        return vec![Step::Keep];
    }
    let command_at = at + if all { 2 } else { 3 };
    if command_at < argv.len() {
        vec![Step::Run {
            label: "ip netns exec".into(),
            argv: argv[command_at..].to_vec(),
        }]
    } else {
        vec![Step::Keep]
    }
}
