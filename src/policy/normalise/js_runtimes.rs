//! deno and bun: how each is asked to run JavaScript or TypeScript. Inline code
//! (`deno eval CODE`, `deno repl --eval CODE`, `bun -e/-p CODE`) is screened like
//! node's; a script file (`deno run main.ts`, `deno main.ts`, `bun run x.ts`) or
//! another subcommand is a program like any other; code on stdin (`deno run -`,
//! `deno` alone, `deno repl`, `bun repl`) is opaque. `bun exec LINE` runs LINE
//! with bun's shell. An option gate does not know is opaque, since it could take
//! the word gate reads as the code.

use super::interpreters::Invocation;
use super::js_runtime_options::{BUN, DENO, Kind, Table};

/// `deno [options] [SUBCOMMAND | SCRIPT] …`
pub(super) fn deno(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    let read = |found: &mut Invocation, at: &mut usize| options(&DENO, argv, at, found);
    if let Err(reason) = read(&mut found, &mut at) {
        return opaque(found, reason);
    }
    match argv.get(at).map(String::as_str) {
        None if found.program => {}
        None => found.opaque = Some("deno without a script starts a REPL on stdin".into()),
        Some("eval") => {
            at += 1;
            if let Err(reason) = read(&mut found, &mut at) {
                return opaque(found, reason);
            }
            found.code.extend(argv.get(at).cloned());
            found.program |= found.code.is_empty();
        }
        Some("repl") => {
            at += 1;
            if let Err(reason) = read(&mut found, &mut at) {
                return opaque(found, reason);
            }
            found.opaque = Some("deno repl reads commands from stdin".into());
        }
        Some("run") => {
            at += 1;
            if let Err(reason) = read(&mut found, &mut at) {
                return opaque(found, reason);
            }
            script("deno", argv, at, &mut found);
        }
        Some("task") => task(argv, at + 1, &mut found),
        Some(_) => script("deno", argv, at, &mut found),
    }
    found
}

/// `deno task [options] NAME`, or `deno task --eval LINE`: a line for deno's
/// task shell.
fn task(argv: &[String], mut at: usize, found: &mut Invocation) {
    let mut eval = false;
    while let Some(arg) = argv.get(at).filter(|arg| arg.starts_with('-')) {
        at += 1;
        match arg.as_str() {
            "--eval" => eval = true,
            "--cwd" | "-c" | "--config" | "-f" | "--filter" => at += 1,
            "--" => break,
            _ => {}
        }
    }
    found.program = true;
    if eval && at < argv.len() {
        found
            .lines
            .push(("deno task --eval".into(), argv[at..].join(" ")));
    }
}

/// `bun [options] (-e CODE | -p CODE | run … | exec LINE | repl | SUBCOMMAND | FILE) …`
pub(super) fn bun(argv: &[String]) -> Invocation {
    let mut found = Invocation::default();
    let mut at = 1;
    if let Err(reason) = options(&BUN, argv, &mut at, &mut found) {
        return opaque(found, reason);
    }
    if !found.code.is_empty() {
        return found;
    }
    match argv.get(at).map(String::as_str) {
        None => found.program = true,
        Some("run") => {
            at += 1;
            if let Err(reason) = options(&BUN, argv, &mut at, &mut found) {
                return opaque(found, reason);
            }
            if found.code.is_empty() {
                script("bun", argv, at, &mut found);
            }
        }
        Some("exec") => {
            found.program = true;
            if at + 1 < argv.len() {
                found
                    .lines
                    .push(("bun exec".into(), argv[at + 1..].join(" ")));
            }
        }
        Some("repl") => found.opaque = Some("bun repl reads commands from stdin".into()),
        Some(_) => script("bun", argv, at, &mut found),
    }
    found
}

/// A script operand: `-` is code on stdin; a file (or a package script, or no
/// operand at all) is a program.
fn script(program: &str, argv: &[String], at: usize, found: &mut Invocation) {
    if argv.get(at).is_some_and(|word| word == "-") {
        found.opaque = Some(format!(
            "{program} reads its program from stdin, which cannot be seen"
        ));
    } else {
        found.program = true;
    }
}

fn opaque(mut found: Invocation, reason: String) -> Invocation {
    found.opaque = Some(reason);
    found
}

/// Read options from `argv[*at..]` up to the first operand (left at `*at`),
/// collecting inline code into `found`.
fn options(
    table: &Table,
    argv: &[String],
    at: &mut usize,
    found: &mut Invocation,
) -> Result<(), String> {
    let program = super::basename(&argv[0]);
    while let Some(arg) = argv.get(*at) {
        if arg == "--" {
            *at += 1;
            return Ok(());
        }
        if arg == "-" || !arg.starts_with('-') {
            return Ok(());
        }
        *at += 1;
        let (shown, kind, attached) = match arg.strip_prefix("--") {
            Some(long) => {
                let (name, attached) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                (format!("--{name}"), long_kind(table, name), attached)
            }
            None => {
                let mut letters = arg[1..].chars();
                let letter = letters.next().unwrap_or('-');
                let rest = letters.as_str();
                let kind = short_kind(table, letter);
                // Only flags cluster (`-Aq`); a value may be attached (`-cFILE`, `-c=FILE`).
                if kind == Some(Kind::Flag) && !rest.is_empty() {
                    let cluster = rest.chars().map(|c| short_kind(table, c));
                    if cluster.clone().all(|kind| kind == Some(Kind::Flag)) {
                        continue;
                    }
                    return Err(format!("unrecognised option {arg} to {program}"));
                }
                let attached = (!rest.is_empty()).then(|| rest.strip_prefix('=').unwrap_or(rest));
                (format!("-{letter}"), kind, attached)
            }
        };
        match kind {
            None => return Err(format!("unrecognised option {shown} to {program}")),
            Some(Kind::Flag | Kind::Optional) => {}
            Some(Kind::Reports) => found.program = true,
            Some(Kind::Valued | Kind::Code) => {
                let value = match attached {
                    Some(value) => value.to_string(),
                    None => {
                        let value = argv
                            .get(*at)
                            .ok_or_else(|| format!("{program} {shown} is missing its value"))?;
                        *at += 1;
                        value.clone()
                    }
                };
                if kind == Some(Kind::Code) {
                    found.code.push(value);
                }
            }
            Some(Kind::Loads) => {
                return Err(format!(
                    "{program} {shown} loads or runs code that is not seen"
                ));
            }
        }
    }
    Ok(())
}

fn long_kind(table: &Table, name: &str) -> Option<Kind> {
    let exact = table.long.iter().find(|(long, _)| *long == name);
    match exact {
        Some((_, kind)) => Some(*kind),
        None => table
            .optional_prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix))
            .then_some(Kind::Optional),
    }
}

fn short_kind(table: &Table, letter: char) -> Option<Kind> {
    table
        .short
        .iter()
        .find(|(short, _)| *short == letter)
        .map(|(_, kind)| *kind)
}
