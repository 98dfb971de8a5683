//! Configuration that makes a program run a command: `git -c core.pager=…`,
//! `tar --to-command=…`, `rsync -e …`, `zip -TT …`, `make --eval …`, `less +!…`
//! and environment variables such as `GIT_SSH_COMMAND` or `LESSOPEN`.
//!
//! Such a command is opaque (the program decides when and how it runs, with what
//! arguments). Where the value is itself a shell line it is analysed as well, so a
//! rule that denies what it runs still denies.

use super::Step;

/// What running `argv` amounts to, if its program can be configured to run others.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "git" => git(argv),
        "tar" | "gtar" | "bsdtar" => tar(argv),
        "zip" => zip(argv),
        "make" | "gmake" => make(argv),
        "rsync" => rsync(argv),
        "less" => less(argv),
        "man" => man(argv),
        _ => return None,
    };
    Some(steps.unwrap_or_else(|| vec![Step::Keep]))
}

/// The steps for `program`'s `what`, which runs `line` (when known) with arguments
/// of the program's own appended. A single program name (`-e ssh`, `PAGER=cat`) is
/// analysed as that command; anything else is opaque, and analysed as a shell line
/// as well so that a rule denying what it runs still denies.
fn runs(program: &str, what: &str, line: Option<&str>) -> Option<Vec<Step>> {
    let label = format!("{program} {what}");
    let line = line.map(str::trim).filter(|line| !line.is_empty());
    if let Some(word) = line.filter(|line| is_program_name(line)) {
        return Some(vec![
            Step::Keep,
            Step::Run {
                label,
                argv: vec![word.to_string()],
            },
        ]);
    }
    let mut steps = vec![Step::Opaque(format!("{label} runs a command"))];
    if let Some(line) = line {
        steps.push(Step::Line {
            label,
            line: line.to_string(),
        });
    }
    Some(steps)
}

/// `runs`, for a setting whose program reports its own invocation once: only
/// what the setting adds.
pub(super) fn runs_besides(program: &str, what: &str, line: Option<&str>) -> Vec<Step> {
    let mut steps = runs(program, what, line).unwrap_or_default();
    steps.retain(|step| !matches!(step, Step::Keep));
    steps
}

pub(super) fn is_program_name(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+".contains(c))
}

/// The value of an option spelled `--name=V`, `--name V`, or as any unambiguous
/// prefix of `--name` at least `min` characters long (getopt_long accepts those).
fn long_value<'a>(argv: &'a [String], name: &str, min: usize) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(at, arg)| {
        let given = arg.strip_prefix("--")?;
        let (given, attached) = match given.split_once('=') {
            Some((given, value)) => (given, Some(value)),
            None => (given, None),
        };
        (given.len() >= min && name.starts_with(given)).then(|| {
            attached
                .or_else(|| argv.get(at + 1).map(String::as_str))
                .unwrap_or("")
        })
    })
}

/// `git -c KEY=VALUE`, `--config-env`, `clone --config`, `--upload-pack`,
/// `--receive-pack`, `--exec-path=DIR`, `rebase --exec`, `bisect run`,
/// `submodule foreach`, `difftool --extcmd` and `filter-branch --*-filter`.
fn git(argv: &[String]) -> Option<Vec<Step>> {
    for (at, arg) in argv.iter().enumerate().skip(1) {
        let next = argv.get(at + 1).map(String::as_str);
        let setting = match arg.as_str() {
            "-c" | "--config" => next,
            "--config-env" => return runs("git", "--config-env", None),
            _ => arg
                .strip_prefix("--config=")
                .or_else(|| arg.strip_prefix("--config-env="))
                .or_else(|| arg.strip_prefix("-c").filter(|s| s.contains('='))),
        };
        if let Some(steps) = setting.and_then(git_setting) {
            return Some(steps);
        }
        if arg.starts_with("--config-env=") {
            return runs("git", "--config-env", None);
        }
    }
    for name in ["upload-pack", "receive-pack"] {
        if let Some(command) = long_value(argv, name, 3) {
            return runs("git", &format!("--{name}"), Some(command));
        }
    }
    if argv.iter().any(|arg| arg.starts_with("--exec-path=")) {
        return runs("git", "--exec-path", None);
    }
    let subcommand = git_subcommand(argv)?;
    let rest = &argv[subcommand + 1..];
    match argv[subcommand].as_str() {
        "clone" if rest.iter().any(|arg| arg == "-u") => runs("git", "clone -u", None),
        "rebase" | "difftool" => {
            let value = |short: &str, long: &str| {
                rest.iter().enumerate().find_map(|(at, arg)| {
                    if arg == short || arg == long {
                        rest.get(at + 1).map(String::as_str)
                    } else {
                        arg.strip_prefix(&format!("{long}="))
                    }
                })
            };
            let line = value("-x", "--exec").or_else(|| value("-x", "--extcmd"));
            line.and_then(|line| runs("git", &argv[subcommand], Some(line)))
        }
        "bisect" if rest.first().is_some_and(|word| word == "run") && rest.len() > 1 => Some(vec![
            Step::Keep,
            Step::Run {
                label: "git bisect run".into(),
                argv: rest[1..].to_vec(),
            },
        ]),
        "submodule" if rest.iter().any(|word| word == "foreach") => {
            let at = rest.iter().position(|word| word == "foreach")? + 1;
            let words: Vec<&String> = rest[at..]
                .iter()
                .skip_while(|w| w.starts_with('-'))
                .collect();
            let line = words
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            runs("git", "submodule foreach", Some(&line))
        }
        "filter-branch" if rest.iter().any(|arg| arg.ends_with("-filter")) => {
            runs("git", "filter-branch", None)
        }
        _ => None,
    }
}

/// The index of git's subcommand: the first word after its global options.
fn git_subcommand(argv: &[String]) -> Option<usize> {
    const VALUED: &[&str] = &[
        "-c",
        "-C",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--config-env",
        "--super-prefix",
        "--attr-source",
        "--list-cmds",
    ];
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        if !arg.starts_with('-') {
            return Some(at);
        }
        at += if VALUED.contains(&arg.as_str()) { 2 } else { 1 };
    }
    None
}

/// Configuration keys whose value names a program or a shell line git runs,
/// matched on the lowercased key: a whole section, or the last part of the key.
const GIT_SECTIONS: &[&str] = &["alias", "include", "includeif", "filter", "pager"];
const GIT_KEY_ENDS: &[&str] = &[
    "pager",
    "editor",
    "fsmonitor",
    "sshcommand",
    "askpass",
    "hookspath",
    "gitproxy",
    "alternaterefscommand",
    "helper",
    "external",
    "textconv",
    "command",
    "cmd",
    "driver",
    "program",
    "packobjectshook",
    "uploadpack",
    "receivepack",
    "allow",
    "browser",
    "path",
    "update",
    "difffilter",
    "sendmailcmd",
    "smtpserver",
    "tool",
];

fn git_setting(setting: &str) -> Option<Vec<Step>> {
    let (key, value) = setting.split_once('=').unwrap_or((setting, ""));
    let key = key.to_ascii_lowercase();
    if !key.contains('.') {
        return None;
    }
    let section = key.split('.').next().unwrap_or("");
    let last = key.rsplit('.').next().unwrap_or("");
    if !GIT_SECTIONS.contains(&section) && !GIT_KEY_ENDS.contains(&last) {
        return None;
    }
    let what = format!("-c {key}");
    let command_valued = COMMAND_KEY_ENDS.contains(&last) || section == "filter";
    match value.strip_prefix('!') {
        Some(line) => runs("git", &what, Some(line)),
        None if section != "alias" && command_valued && is_shell_value(value) => {
            runs("git", &what, Some(value))
        }
        None => runs("git", &what, None),
    }
}

/// Of those keys, the ones whose value is itself a command line.
const COMMAND_KEY_ENDS: &[&str] = &[
    "pager",
    "editor",
    "fsmonitor",
    "sshcommand",
    "askpass",
    "gitproxy",
    "alternaterefscommand",
    "external",
    "textconv",
    "command",
    "cmd",
    "driver",
    "program",
    "packobjectshook",
    "uploadpack",
    "receivepack",
    "difffilter",
    "sendmailcmd",
    "helper",
];

/// A value that is a command rather than a switch or a path list.
fn is_shell_value(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "" | "true" | "false" | "yes" | "no" | "on" | "off" | "always" | "never" | "1" | "0"
    )
}

/// tar's options that run a command: `--to-command`, `--use-compress-program`/`-I`,
/// `--info-script`/`--new-volume-script`/`-F`, `--rsh-command`, `--rmt-command`,
/// and `--checkpoint-action=exec=…`.
fn tar(argv: &[String]) -> Option<Vec<Step>> {
    for (name, min) in [
        ("to-command", 4),
        ("use-compress-program", 5),
        ("info-script", 3),
        ("new-volume-script", 3),
        ("rsh-command", 3),
        ("rmt-command", 3),
    ] {
        if let Some(command) = long_value(argv, name, min) {
            return runs("tar", &format!("--{name}"), Some(command));
        }
    }
    if let Some(action) = long_value(argv, "checkpoint-action", 12)
        && let Some(command) = action.strip_prefix("exec=")
    {
        return runs("tar", "--checkpoint-action=exec", Some(command));
    }
    // Short options in a cluster (`-cI prog`, `-xvF script`), or the old-style
    // first word (`tar cIf prog a.tar`): I and F take a program.
    const VALUED: &str = "bCfFgHIKLNTVX";
    for (at, arg) in argv.iter().enumerate().skip(1) {
        let cluster = match arg.strip_prefix('-') {
            Some(cluster) if !cluster.starts_with('-') => cluster,
            None if at == 1 => {
                if arg.contains(['I', 'F']) {
                    return runs("tar", "I/F", None);
                }
                continue;
            }
            _ => continue,
        };
        for (i, c) in cluster.char_indices() {
            if !VALUED.contains(c) {
                continue;
            }
            let rest = &cluster[i + 1..];
            let value = if rest.is_empty() {
                argv.get(at + 1).map(String::as_str)
            } else {
                Some(rest)
            };
            if matches!(c, 'I' | 'F') {
                return runs("tar", &format!("-{c}"), value);
            }
            break;
        }
    }
    None
}

/// `zip -TT CMD` / `--unzip-command CMD` tests the archive with CMD.
fn zip(argv: &[String]) -> Option<Vec<Step>> {
    for (at, arg) in argv.iter().enumerate() {
        if let Some(attached) = arg.strip_prefix("-TT") {
            let command = if attached.is_empty() {
                argv.get(at + 1).map(String::as_str)
            } else {
                Some(attached)
            };
            return runs("zip", "-TT", command);
        }
    }
    long_value(argv, "unzip-command", 3)
        .and_then(|command| runs("zip", "--unzip-command", Some(command)))
}

/// `make --eval=TEXT` / `-E TEXT` adds makefile text (recipes, `$(shell …)`);
/// `-f -` reads the makefile from stdin.
fn make(argv: &[String]) -> Option<Vec<Step>> {
    let eval = long_value(argv, "eval", 2).is_some()
        || argv.iter().any(|arg| {
            arg.starts_with("-E")
                || (arg.starts_with('-') && !arg.starts_with("--") && arg.contains('E'))
        });
    let stdin = argv
        .windows(2)
        .any(|pair| matches!(pair[0].as_str(), "-f" | "--file" | "--makefile") && pair[1] == "-")
        || argv
            .iter()
            .any(|arg| matches!(arg.as_str(), "-f-" | "--file=-" | "--makefile=-"));
    if eval {
        return Some(vec![Step::Opaque(
            "make --eval adds makefile text that runs commands".into(),
        )]);
    }
    stdin.then(|| {
        vec![Step::Opaque(
            "make reads its makefile from stdin, which cannot be seen".into(),
        )]
    })
}

/// `rsync -e CMD` / `--rsh=CMD` runs CMD locally to reach the remote side;
/// `--rsync-path` and `-M`/`--remote-option` choose what runs over there.
fn rsync(argv: &[String]) -> Option<Vec<Step>> {
    if let Some(command) = long_value(argv, "rsh", 3) {
        return remote_shell("--rsh", Some(command));
    }
    for name in ["rsync-path", "remote-option"] {
        if long_value(argv, name, 3).is_some() {
            return runs("rsync", &format!("--{name}"), None);
        }
    }
    const VALUED: &str = "BefTM@";
    for (at, arg) in argv.iter().enumerate().skip(1) {
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
            continue;
        };
        if let Some(i) = cluster.find(|c| VALUED.contains(c)) {
            let rest = &cluster[i + 1..];
            let value = if rest.is_empty() {
                argv.get(at + 1).map(String::as_str)
            } else {
                Some(rest)
            };
            match &cluster[i..i + 1] {
                "e" => return remote_shell("-e", value),
                "M" => return runs("rsync", "-M", None),
                _ => {}
            }
        }
    }
    None
}

/// rsync's remote shell: run as `PROGRAM HOST rsync --server …`, so a program
/// that is not a remote shell (`-e strace`, `-e bash`) runs the host word as a
/// command. Only a remote shell's name is judged as that program.
fn remote_shell(what: &str, line: Option<&str>) -> Option<Vec<Step>> {
    const REMOTE_SHELLS: &[&str] = &["ssh", "rsh", "autossh", "dbclient", "plink"];
    let line = line.map(str::trim).unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    let plain = words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+=,:@".contains(c))
    });
    let remote = words
        .first()
        .is_some_and(|program| REMOTE_SHELLS.contains(&super::basename(program)));
    match words.as_slice() {
        [program] if plain && !remote => Some(vec![
            Step::Opaque(format!(
                "rsync {what} {program} runs {program} with the host name as its command"
            )),
            Step::Run {
                label: format!("rsync {what}"),
                argv: vec![program.to_string()],
            },
        ]),
        // `-e 'ssh -p 2222'`: the remote shell with its options, judged as itself.
        [_, _, ..] if plain && remote => Some(vec![
            Step::Keep,
            Step::Run {
                label: format!("rsync {what}"),
                argv: words.iter().map(|w| w.to_string()).collect(),
            },
        ]),
        _ => runs("rsync", what, Some(line)),
    }
}

/// `less '+!CMD'` / `'+|CMD'` runs a shell command from less's own command line;
/// a lesskey file (`-k`, `--lesskey-*`) can set LESSOPEN.
fn less(argv: &[String]) -> Option<Vec<Step>> {
    if argv
        .iter()
        .skip(1)
        .any(|arg| arg.starts_with('+') && arg.contains(['!', '|']))
    {
        return runs("less", "+!", None);
    }
    let lesskey = argv.iter().skip(1).any(|arg| {
        arg.starts_with("--lesskey")
            || (arg.starts_with('-') && !arg.starts_with("--") && arg.contains('k'))
    });
    lesskey.then(|| {
        vec![Step::Opaque(
            "less reads a lesskey file that may set LESSOPEN".into(),
        )]
    })
}

/// `man -P PAGER` / `--pager=PAGER` and `-H`/`--html=BROWSER` run a command.
fn man(argv: &[String]) -> Option<Vec<Step>> {
    for (at, arg) in argv.iter().enumerate().skip(1) {
        let value = match arg.as_str() {
            "-P" | "--pager" | "-H" | "--html" => argv.get(at + 1).map(String::as_str),
            _ => arg
                .strip_prefix("--pager=")
                .or_else(|| arg.strip_prefix("--html="))
                .or_else(|| {
                    arg.strip_prefix("-P")
                        .or_else(|| arg.strip_prefix("-H"))
                        .filter(|v| !v.is_empty())
                }),
        };
        if value.is_some() || arg.starts_with("-H") {
            return runs("man", "pager", value);
        }
    }
    None
}

/// Environment variables that make a program run a command: (name, the value is
/// a shell line). Others in `LOADED` load code into whatever runs.
const COMMAND_VARIABLES: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "PAGER",
    "GIT_EDITOR",
    "EDITOR",
    "VISUAL",
    "GIT_SEQUENCE_EDITOR",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_PROXY_COMMAND",
    "MANPAGER",
    "BROWSER",
    "RSYNC_RSH",
    "RSYNC_CONNECT_PROG",
    "LESSOPEN",
    "LESSCLOSE",
    "SUDO_ASKPASS",
    "SYSTEMD_PAGER",
];
const LOADED: &[&str] = &[
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "LESSKEY",
    "LESSKEYIN",
    "LESSKEY_CONTENT",
    "TAR_OPTIONS",
    "LD_PRELOAD",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "PERL5OPT",
    "PERL5DB",
    "RUBYOPT",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "PROMPT_COMMAND",
    "PS4",
];

/// What setting `name=value` in a command's environment adds to it: nothing for
/// ordinary variables.
pub(super) fn environment(name: &str, value: &str) -> Vec<Step> {
    if COMMAND_VARIABLES.contains(&name) {
        let line = value.trim_start_matches(['|', '-']);
        return runs_besides("environment", name, Some(line));
    }
    let loads = LOADED.contains(&name)
        || name.starts_with("GIT_CONFIG_KEY_")
        || name.starts_with("GIT_CONFIG_VALUE_")
        || name.starts_with("BASH_FUNC_")
        || (matches!(name, "MAKEFLAGS" | "GNUMAKEFLAGS" | "MFLAGS")
            && (value.contains("eval") || value.contains('E')))
        || (name == "NODE_OPTIONS"
            && ["-r", "require", "import", "loader"]
                .iter()
                .any(|w| value.contains(w)))
        || (name == "ZIPOPT" && value.contains("TT"));
    if loads {
        vec![Step::Opaque(format!(
            "the environment variable {name} makes the program run code it names"
        ))]
    } else {
        Vec::new()
    }
}
