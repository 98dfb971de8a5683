//! Interpreters given code on the command line (`python -c`, `perl -e`, `ruby -e`,
//! `node -e/-p`, `php -r`, `lua -e`; deno's and bun's ways are read in
//! `js_runtimes`) or on stdin (`tclsh`, `python -`), and the small languages with
//! a way out to the shell (awk's `system()` and pipes, sed's `e`). Inline code is screened by `inline_code`; a script file is kept as a
//! command like any other program.

use super::Step;
use super::inline_code::{Language, Spawned, screen};

/// How an interpreter was asked to run.
#[derive(Debug, Default)]
pub(super) struct Invocation {
    /// Inline code, in the order given.
    pub code: Vec<String>,
    /// Modules loaded from the command line (`-MFoo`, `-rfoo`).
    pub modules: Vec<String>,
    /// A script file, a module to run (`python -m`), or an option that only
    /// reports (`--version`): what runs is a program, not inline code.
    pub program: bool,
    /// Why the invocation cannot be analysed (stdin, an interactive prompt…).
    pub opaque: Option<String>,
    /// Shell lines the runtime runs itself (`bun exec LINE`), with their labels.
    pub lines: Vec<(String, String)>,
}

/// What running `argv` amounts to, if its program is an interpreter.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    if let Some(language) = language(name) {
        let invocation = invocation(language, argv);
        return Some(steps(language, name, invocation));
    }
    match family(name) {
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => Some(super::small_languages::awk(argv)),
        "sed" | "gsed" => Some(super::small_languages::sed(argv)),
        "tclsh" | "wish" | "expect" => Some(tcl(name, argv)),
        _ => None,
    }
}

/// Whether `argv` runs inline code of a general-purpose language: the commands
/// the policy's `inline_code` setting is about.
pub fn runs_inline_code(argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        return false;
    };
    language(super::basename(program))
        .is_some_and(|language| !invocation(language, argv).code.is_empty())
}

/// `python3.12` → `python`; version suffixes are dropped.
fn family(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
}

fn language(name: &str) -> Option<Language> {
    Some(match family(name) {
        "python" | "pypy" => Language::Python,
        "perl" => Language::Perl,
        "ruby" => Language::Ruby,
        "node" | "nodejs" | "deno" | "bun" => Language::JavaScript,
        "php" => Language::Php,
        "lua" | "luajit" => Language::Lua,
        _ => return None,
    })
}

fn steps(language: Language, name: &str, invocation: Invocation) -> Vec<Step> {
    let lines = invocation
        .lines
        .into_iter()
        .map(|(label, line)| Step::Line { label, line });
    if invocation.code.is_empty() {
        let first = match invocation.opaque {
            Some(reason) => Step::Opaque(reason),
            None => Step::Keep,
        };
        return std::iter::once(first).chain(lines).collect();
    }
    let screened = screen(language, &invocation.code.join("\n"), &invocation.modules);
    let label = format!("{} inline code", family(name));
    // Code run before a prompt (`deno repl --eval`) is still screened, so a
    // command in it that a rule denies is denied.
    let mut steps = vec![match invocation.opaque.or(screened.opaque) {
        Some(reason) => Step::Opaque(reason),
        None => Step::Keep,
    }];
    steps.extend(lines);
    steps.extend(screened.spawned.into_iter().map(|spawned| match spawned {
        Spawned::Line(line) => Step::Line {
            label: label.clone(),
            line,
        },
        Spawned::Argv(argv) => Step::Run {
            label: label.clone(),
            argv,
        },
    }));
    steps
}

fn invocation(language: Language, argv: &[String]) -> Invocation {
    let mut found = match (family(super::basename(&argv[0])), language) {
        ("deno", _) => super::js_runtimes::deno(argv),
        ("bun", _) => super::js_runtimes::bun(argv),
        (_, language) => by_language(language, argv),
    };
    if found.opaque.is_none() && found.code.is_empty() && !found.program {
        found.opaque = Some(format!(
            "{} reads its program from stdin, which cannot be seen",
            super::basename(&argv[0])
        ));
    }
    found
}

fn by_language(language: Language, argv: &[String]) -> Invocation {
    match language {
        Language::Python => python(argv),
        Language::Perl => perl(argv),
        Language::Ruby => ruby(argv),
        Language::JavaScript => node(argv),
        Language::Php => php(argv),
        Language::Lua => lua(argv),
    }
}

fn value_of(cluster_rest: &str, argv: &[String], at: &mut usize) -> Option<String> {
    if cluster_rest.is_empty() {
        *at += 1;
        argv.get(*at - 1).cloned()
    } else {
        Some(cluster_rest.to_string())
    }
}

/// `python [-bBdEhiIOPqsSuvVx] [-W arg] [-X opt] (-c CODE | -m MOD | FILE | -) [args]`
fn python(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        match arg.as_str() {
            "-" => return found,
            "--" => {
                found.program = at < argv.len();
                return found;
            }
            "--help" | "--version" | "--help-env" | "--help-xoptions" | "--help-all" => {
                found.program = true;
                return found;
            }
            "--check-hash-based-pycs" => at += 1,
            _ if arg.starts_with("--") => {
                found.opaque = Some(format!("unrecognised option {arg} to python"));
                return found;
            }
            _ if arg.starts_with('-') && arg.len() > 1 => {
                for (i, c) in arg[1..].char_indices() {
                    let rest = &arg[1 + i + c.len_utf8()..];
                    match c {
                        'c' | 'm' => {
                            let value = value_of(rest, argv, &mut at);
                            if c == 'm' {
                                found.program = true;
                            } else if let Some(code) = value {
                                found.code.push(code);
                            }
                            return found;
                        }
                        'W' | 'X' => {
                            value_of(rest, argv, &mut at);
                            break;
                        }
                        'i' => {
                            found.opaque =
                                Some("python -i reads commands from stdin after the code".into());
                            return found;
                        }
                        'h' | 'V' | '?' => found.program = true,
                        c if "bBdEIOPqRsSuvx3t".contains(c) => {}
                        _ => {
                            found.opaque = Some(format!("unrecognised option -{c} to python"));
                            return found;
                        }
                    }
                }
            }
            _ => {
                found.program = true;
                return found;
            }
        }
    }
    found
}

/// perl's switches cluster, and several take the rest of the cluster as a value.
fn perl(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        if arg == "--" || arg == "-" || !arg.starts_with('-') {
            found.program |=
                arg != "-" && (arg != "--" || at < argv.len()) && found.code.is_empty();
            return found;
        }
        let cluster = &arg[1..];
        let mut chars = cluster.char_indices();
        while let Some((i, c)) = chars.next() {
            let rest = &cluster[i + c.len_utf8()..];
            match c {
                'e' | 'E' => {
                    found.code.extend(value_of(rest, argv, &mut at));
                    break;
                }
                'M' | 'm' => {
                    let module = value_of(rest, argv, &mut at).unwrap_or_default();
                    let module = module.trim_start_matches('-');
                    let module = module.split(['=', ' ']).next().unwrap_or("");
                    found.modules.push(module.to_string());
                    break;
                }
                'I' => {
                    value_of(rest, argv, &mut at);
                    break;
                }
                'i' | 'x' | 'C' | 'D' | 'F' => break,
                'l' | '0' => {
                    let digits = rest
                        .chars()
                        .take_while(|c| c.is_ascii_hexdigit() || *c == 'x')
                        .count();
                    for _ in 0..digits {
                        chars.next();
                    }
                }
                'd' => {
                    found.opaque = Some("perl -d runs the debugger, which reads commands".into());
                    return found;
                }
                'v' | 'V' | 'h' | 'c' => found.program = true,
                c if "anpsStTuUwWX".contains(c) => {}
                _ => {
                    found.opaque = Some(format!("unrecognised option -{c} to perl"));
                    return found;
                }
            }
        }
    }
    found
}

fn ruby(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        if let Some(long) = arg.strip_prefix("--") {
            if long.is_empty() {
                found.program |= at < argv.len() && found.code.is_empty();
                return found;
            }
            if matches!(long, "version" | "help" | "copyright") {
                found.program = true;
            }
            if matches!(long, "encoding" | "external-encoding" | "internal-encoding") {
                at += 1;
            }
            continue;
        }
        if arg == "-" || !arg.starts_with('-') {
            found.program |= arg != "-" && found.code.is_empty();
            return found;
        }
        let cluster = &arg[1..];
        for (i, c) in cluster.char_indices() {
            let rest = &cluster[i + c.len_utf8()..];
            match c {
                'e' => {
                    found.code.extend(value_of(rest, argv, &mut at));
                    break;
                }
                'r' => {
                    found.modules.extend(value_of(rest, argv, &mut at));
                    break;
                }
                'I' | 'C' | 'E' => {
                    value_of(rest, argv, &mut at);
                    break;
                }
                'F' | 'K' | 'T' | 'x' | '0' | 'i' | 'W' => break,
                'v' | 'h' | 'c' | 'y' => found.program = true,
                c if "adlnpsSwU".contains(c) => {}
                _ => {
                    found.opaque = Some(format!("unrecognised option -{c} to ruby"));
                    return found;
                }
            }
        }
    }
    found
}

/// node's options that take the next word as their value.
const NODE_VALUED: &[&str] = &[
    "--input-type",
    "-C",
    "--conditions",
    "--title",
    "--inspect-port",
    "--debug-port",
    "--redirect-warnings",
    "--disable-warning",
    "--stack-size",
    "--max-old-space-size",
    "--test-name-pattern",
    "--test-reporter",
    "--test-reporter-destination",
];
/// node's options that load code from elsewhere.
const NODE_LOADS: &[&str] = &[
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "--env-file",
    "-i",
    "--interactive",
    "--inspect",
    "--inspect-brk",
];

fn node(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        let name = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        match name {
            "-e" | "--eval" | "-p" | "--print" | "-pe" | "-ep" => {
                found.code.extend(argv.get(at).cloned());
                at += 1;
            }
            _ if NODE_LOADS.contains(&name) || name.starts_with("--inspect") => {
                found.opaque = Some(format!("node {name} loads or runs code that is not seen"));
                return found;
            }
            "-c" | "--check" | "-v" | "--version" | "-h" | "--help" => found.program = true,
            "--" => {
                found.program |= at < argv.len() && found.code.is_empty();
                return found;
            }
            "-" => return found,
            _ if NODE_VALUED.contains(&name) && !arg.contains('=') => at += 1,
            _ if arg.starts_with("--") => {}
            _ if arg.starts_with('-') => {
                found.opaque = Some(format!("unrecognised option {arg} to node"));
                return found;
            }
            _ => {
                found.program |= found.code.is_empty();
                return found;
            }
        }
    }
    found
}

fn php(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        match arg.as_str() {
            "-r" | "-B" | "-R" | "-E" => {
                found.code.extend(argv.get(at).cloned());
                at += 1;
            }
            "-d" => {
                let setting = argv.get(at).map(String::as_str).unwrap_or("");
                at += 1;
                if setting.starts_with("auto_")
                    || setting.contains("prepend")
                    || setting.contains("disable_functions")
                {
                    found.opaque = Some(format!("php -d {setting} changes what code runs"));
                    return found;
                }
            }
            "-c" | "-t" | "-S" => at += 1,
            "-a" | "-z" | "-F" => {
                found.opaque = Some(format!("php {arg} runs code that is not seen"));
                return found;
            }
            "-f" => {
                found.program = true;
                return found;
            }
            "-l" | "-v" | "-h" | "-H" | "-i" | "-m" | "-n" | "-q" | "-s" | "-w" | "-e" => {
                found.program |=
                    matches!(arg.as_str(), "-l" | "-v" | "-h" | "-i" | "-m" | "-s" | "-w");
            }
            "--" => {
                found.program |= at < argv.len() && found.code.is_empty();
                return found;
            }
            _ if arg.starts_with('-') => {
                found.opaque = Some(format!("unrecognised option {arg} to php"));
                return found;
            }
            _ => {
                found.program |= found.code.is_empty();
                return found;
            }
        }
    }
    found
}

fn lua(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        match arg.as_str() {
            "-e" => {
                found.code.extend(argv.get(at).cloned());
                at += 1;
            }
            _ if arg.starts_with("-e") => found.code.push(arg[2..].to_string()),
            "-i" => {
                found.opaque = Some("lua -i reads commands from stdin".into());
                return found;
            }
            _ if arg.starts_with("-l") => {
                found.opaque = Some("lua -l loads a module that is not seen".into());
                return found;
            }
            "-v" => found.program = true,
            "-E" | "-W" => {}
            "--" => {
                found.program |= at < argv.len() && found.code.is_empty();
                return found;
            }
            "-" => return found,
            _ if arg.starts_with('-') => {
                found.opaque = Some(format!("unrecognised option {arg} to lua"));
                return found;
            }
            _ => {
                found.program |= found.code.is_empty();
                return found;
            }
        }
    }
    found
}

/// `tclsh [SCRIPT]`, `wish`, `expect [-c CMDS] [SCRIPT]`: a script file is kept;
/// commands on stdin or after `-c` are not analysed.
fn tcl(name: &str, argv: &[String]) -> Vec<Step> {
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        match arg.as_str() {
            "-c" if name == "expect" => {
                return vec![Step::Opaque("expect -c commands are not analysed".into())];
            }
            "-f" if at + 1 < argv.len() => return vec![Step::Keep],
            "-encoding" => at += 2,
            "-" => break,
            _ if arg.starts_with('-') => at += 1,
            _ => return vec![Step::Keep],
        }
    }
    vec![Step::Opaque(format!(
        "{name} reads its commands from stdin, which cannot be seen"
    ))]
}
