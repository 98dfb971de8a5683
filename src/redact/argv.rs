//! Argv-aware redaction: secrets that are only recognisable from the word
//! *before* them (`--password VALUE`, `docker login -p VALUE`, `smbclient -U u%p`)
//! or from the program (`mysql -pSECRET`, `7z -pSECRET`, `htpasswd -b f u PASS`).
//!
//! Works on the words of one simple command, wherever they come from: an argv
//! as gate received it, or a shell line split by `words`. Never changes the
//! number of words. The option grammars are the `tools` table; options whose
//! name says "secret" for any program are decided by `names`.

use super::MASK;
use super::context::value_up_to_next_key;
use super::names::{is_credentials_flag, is_secret_flag, is_secret_name};
use super::rule::{Mode, is_variable_reference};
use super::tools::{Given, Part, TOOLS, Tool, WRAPPERS, is_tool};

/// One word of a command as the program will receive it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arg<'a> {
    pub(super) value: &'a str,
    /// A shell will still expand `$NAME` in it: such a reference names a secret
    /// without revealing it. False for an argv element, which is final.
    pub(super) expands: bool,
}

/// For each word of one simple command, its masked form if it holds a secret.
pub(super) fn mask_command(args: &[Arg<'_>]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; args.len()];
    let programs = programs(args);
    let mut pending: Option<Part> = None;
    for (i, arg) in args.iter().enumerate() {
        if let Some(part) = pending.take() {
            if AUTH_SCHEMES
                .iter()
                .any(|s| arg.value.eq_ignore_ascii_case(s))
            {
                pending = Some(part);
                continue;
            }
            if !is_option(arg.value) {
                out[i] = mask_part(*arg, part);
                continue;
            }
        }
        if is_credential_header(arg.value) {
            // `Cookie: a=b` split into two words by an unquoted shell line.
            pending = Some(Part::Whole);
            continue;
        }
        let (masked, next) = generic_flag(*arg);
        out[i] = masked;
        pending = next;
        let Some(p) = programs[i] else { continue };
        for tool in tools_for(args, p) {
            if !applies(tool, args, p, i) || needs_command_position(tool) && !commands_at(args, p) {
                continue;
            }
            if tool.given == Given::Rest && tool.options.contains(&arg.value) {
                for (j, later) in args.iter().enumerate().skip(i + 1) {
                    out[j] = mask_part(*later, Part::Whole);
                }
                return out;
            }
            // `config` right after the program: `npm config set KEY VALUE`.
            let configuring = i > p + 1 && tool.after.contains(&args[p + 1].value);
            let (masked, next) = tool_option(tool, *arg, configuring);
            if masked.is_some() {
                out[i] = masked;
            }
            pending = next.or(pending);
        }
    }
    mask_last_operands(args, &programs, &mut out);
    out
}

/// Where the program that reads each word starts, if it is one the table knows.
/// Found anywhere in the command, so `sudo mysql -pX`, `docker exec db mysql -pX`
/// and `echo redis-cli -a X` are all covered: an option that means "password"
/// only for one program is masked wherever that program's name comes first.
fn programs(args: &[Arg<'_>]) -> Vec<Option<usize>> {
    let mut out = vec![None; args.len()];
    let Some(head) = args.iter().position(|a| !is_assignment(a.value)) else {
        return out;
    };
    let mut current = is_tool(basename(args[head].value)).then_some(head);
    for (i, arg) in args.iter().enumerate().skip(head + 1) {
        out[i] = current;
        if !is_option(arg.value) && is_tool(basename(arg.value)) {
            current = Some(i);
        }
    }
    out
}

/// Whether the program at `p` really is in command position: the head, or after a
/// wrapper. Rows that mask an operand (`vault login X`) need this, so prose such
/// as "the vault login is broken" keeps its words.
fn commands_at(args: &[Arg<'_>], p: usize) -> bool {
    let Some(head) = args.iter().position(|a| !is_assignment(a.value)) else {
        return false;
    };
    p == head || WRAPPERS.contains(&basename(args[head].value))
}

fn needs_command_position(tool: &Tool) -> bool {
    tool.given == Given::LastOperand
}

fn tools_for<'a>(args: &[Arg<'a>], program: usize) -> impl Iterator<Item = &'static Tool> + 'a {
    let name = basename(args[program].value);
    TOOLS.iter().filter(move |t| t.programs.contains(&name))
}

/// Whether `tool`'s subcommand and flag conditions hold for word `i`.
fn applies(tool: &Tool, args: &[Arg<'_>], program: usize, i: usize) -> bool {
    let between = &args[program + 1..i];
    let after = tool.after.is_empty() || between.iter().any(|a| tool.after.contains(&a.value));
    let when = tool.when.chars().all(|letter| {
        args[program + 1..]
            .iter()
            .any(|a| short_cluster(a.value).is_some_and(|c| c.contains(letter)))
    });
    after && when
}

/// The masked word and what the next word is, for one row of the table.
/// `configuring`: the program's first word is the row's subcommand and this is a later word.
fn tool_option(tool: &Tool, arg: Arg<'_>, configuring: bool) -> (Option<String>, Option<Part>) {
    if tool.given == Given::AfterSecretKey {
        let key = configuring && is_secret_config_key(arg.value);
        return (None, key.then_some(tool.part));
    }
    for option in tool.options {
        if arg.value == *option {
            let takes_next = matches!(tool.given, Given::Next | Given::Either);
            return (None, takes_next.then_some(tool.part));
        }
        if !matches!(tool.given, Given::Attached | Given::Either) {
            continue;
        }
        if let Some(found) = attached(tool, option, arg.value) {
            return match found {
                Attached::Value(at) => {
                    let (option, value) = arg.value.split_at(at);
                    let value = Arg { value, ..arg };
                    (
                        mask_part(value, tool.part).map(|v| format!("{option}{v}")),
                        None,
                    )
                }
                Attached::NextWord if tool.given == Given::Either => (None, Some(tool.part)),
                Attached::NextWord => (None, None),
            };
        }
    }
    (None, None)
}

enum Attached {
    /// The value starts at this byte of the word.
    Value(usize),
    /// The option ends a cluster; its value is the next word.
    NextWord,
}

/// `--opt=VALUE`, `-pVALUE`, or (for clustering programs) `-xwVALUE` / `-xw VALUE`.
fn attached(tool: &Tool, option: &str, word: &str) -> Option<Attached> {
    if option.starts_with("--") {
        let value = word.strip_prefix(option)?.strip_prefix('=')?;
        return Some(Attached::Value(word.len() - value.len()));
    }
    if let Some(value) = word.strip_prefix(option).filter(|v| !v.is_empty()) {
        return Some(Attached::Value(word.len() - value.len()));
    }
    let letter = option.strip_prefix('-').filter(|l| l.len() == 1)?;
    let cluster = short_cluster(word).filter(|_| tool.clusters)?;
    let at = cluster.find(letter)?;
    if !cluster[..at].bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let value_at = 1 + at + 1;
    if value_at == word.len() {
        Some(Attached::NextWord)
    } else {
        Some(Attached::Value(value_at))
    }
}

/// `--password=X` and `--password X` for any program; `--creds user:X`;
/// `DB_PASS=X` as a word of its own (before a command, after `env` or `-e`).
fn generic_flag(arg: Arg<'_>) -> (Option<String>, Option<Part>) {
    if !arg.value.starts_with('-') {
        return (secret_assignment(arg), None);
    }
    let (flag, value) = match arg.value.split_once('=') {
        Some((flag, value)) => (flag, Some(value)),
        None => (arg.value, None),
    };
    let part = if is_secret_flag(flag) {
        Part::Whole
    } else if is_credentials_flag(flag) {
        Part::After(':')
    } else {
        return (None, None);
    };
    match value {
        None => (None, Some(part)),
        Some(value) => {
            let masked = mask_part(Arg { value, ..arg }, part);
            (masked.map(|v| format!("{flag}={v}")), None)
        }
    }
}

/// Schemes between an `Authorization:` header name and its credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "negotiate", "bot"];

/// A header name alone as a word, whose value is a credential.
fn is_credential_header(word: &str) -> bool {
    let Some(name) = word.strip_suffix(':') else {
        return false;
    };
    // `{password:` from a dict literal an unquoted shell line split into words.
    let name = name.trim_start_matches(['{', '(', '[', ',', '"', '\'']);
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "cookie" | "set-cookie" | "authorization" | "proxy-authorization"
    ) || name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && super::names::is_secret_name(&name)
}

/// `NAME=value` with a name that says secret: the value masked up to any
/// following helm `,key=`.
fn secret_assignment(arg: Arg<'_>) -> Option<String> {
    if !is_assignment(arg.value) {
        return None;
    }
    let (name, value) = arg.value.split_once('=')?;
    if !is_secret_name(name) {
        return None;
    }
    let mode = if arg.expands {
        Mode::Shell
    } else {
        Mode::Literal
    };
    let range = value_up_to_next_key(value, mode)?;
    if range.is_empty() || &value[range.clone()] == MASK {
        return None;
    }
    Some(format!("{name}={MASK}{}", &value[range.end..]))
}

/// `htpasswd -b file user PASS`, `vault login TOKEN`: the last operand.
fn mask_last_operands(args: &[Arg<'_>], programs: &[Option<usize>], out: &mut [Option<String>]) {
    let Some(last) = args.len().checked_sub(1) else {
        return;
    };
    let Some(program) = programs[last] else {
        return;
    };
    if !commands_at(args, program) {
        return;
    }
    for tool in tools_for(args, program).filter(|t| t.given == Given::LastOperand) {
        let start = match tool.after.is_empty() {
            true => Some(program),
            false => (program + 1..args.len()).find(|&j| tool.after.contains(&args[j].value)),
        };
        let Some(start) = start else { continue };
        if !applies(tool, args, program, last) {
            continue;
        }
        let operand = (start + 1..args.len())
            .rev()
            .find(|&j| !is_option(args[j].value) && !is_assignment(args[j].value));
        if let Some(j) = operand.filter(|&j| !is_option_value(args, j)) {
            out[j] = mask_part(args[j], tool.part);
        }
    }
}

/// Whether word `j` is the value of a preceding single-letter option other than
/// a flag cluster, as in `htpasswd -C 10`: then it is not the operand.
fn is_option_value(args: &[Arg<'_>], j: usize) -> bool {
    j > 0 && matches!(args[j - 1].value, "-C" | "-r" | "-salt")
}

/// The masked form of a value, or `None` if nothing in it is secret.
pub(super) fn mask_part(arg: Arg<'_>, part: Part) -> Option<String> {
    let value = arg.value;
    let masked = match part {
        Part::Whole => mask_whole(arg)?,
        Part::After(sep) => {
            let (head, secret) = value.split_once(sep)?;
            mask_whole(Arg {
                value: secret,
                ..arg
            })?;
            format!("{head}{sep}{MASK}")
        }
        Part::AfterColonOrWhole if value.contains(':') => mask_part(arg, Part::After(':'))?,
        Part::AfterColonOrWhole => mask_whole(arg)?,
        Part::CookieData if value.contains('=') => mask_whole(arg)?,
        Part::CookieData => return None,
    };
    (masked != value).then_some(masked)
}

fn mask_whole(arg: Arg<'_>) -> Option<String> {
    let reference = arg.expands && is_variable_reference(arg.value);
    // `****}` is a value masked already, with the punctuation after it.
    let masked = arg
        .value
        .trim_end_matches(['}', ']', ')', ',', ';', '"', '\''])
        == MASK;
    (!arg.value.is_empty() && !reference && !masked).then(|| MASK.to_owned())
}

/// A configuration key naming a secret: `//registry.npmjs.org/:_authToken`,
/// `github.token`, `pypi-token.pypi`, `aws_secret_access_key`.
fn is_secret_config_key(word: &str) -> bool {
    !word.contains('=') && word.split(['.', ':', '/']).any(is_secret_name)
}

fn is_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// `NAME=value` before the program (`DB_PASS=x mysql`).
fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The letters of a short-option cluster (`-xvf` → `xvf`).
fn short_cluster(word: &str) -> Option<&str> {
    let letters = word.strip_prefix('-')?;
    let first = letters.bytes().next()?;
    (first.is_ascii_alphabetic()).then_some(letters)
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Programs whose `-c` option takes a shell line.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "busybox", "fish", "su",
    "runuser", "script", "sg", "flock",
];

/// Which argv elements are shell lines (the argument of `sh -c`, `bash -lc`, `su -c`):
/// in those a `$NAME` is still a reference; every other element is final.
pub(super) fn shell_lines(argv: &[String]) -> Vec<bool> {
    let mut shell_seen = false;
    let mut out = vec![false; argv.len()];
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 && shell_seen {
            let previous = argv[i - 1].as_str();
            let c_option = previous == "--command"
                || short_cluster(previous)
                    .is_some_and(|c| c.contains('c') && c.bytes().all(|b| b.is_ascii_alphabetic()));
            out[i] = c_option;
        }
        shell_seen |= SHELLS.contains(&basename(arg));
    }
    out
}
