//! Shells: how `sh -c STRING` and friends are invoked, and walking a parsed shell
//! line (with brush-parser) to every simple command it can run.

use super::words;
use super::{SimpleCommand, Step};
use brush_parser::ast;

/// POSIX-family shells whose `-c` strings we parse.
const POSIX_SHELLS: &[&str] = &[
    "sh", "bash", "rbash", "zsh", "dash", "ksh", "ksh93", "mksh", "lksh", "oksh", "ash", "yash",
    "posh",
];
/// Shells whose syntax we do not parse.
const OTHER_SHELLS: &[&str] = &["fish", "csh", "tcsh", "nu", "pwsh", "elvish", "xonsh"];

const SHELL_LONG_FLAGS: &[&str] = &[
    "login",
    "norc",
    "noprofile",
    "posix",
    "restricted",
    "verbose",
    "noediting",
    "debugger",
    "dump-strings",
    "dump-po-strings",
    "help",
    "version",
    "pretty-print",
];
const SHELL_LONG_VALUED: &[&str] = &["rcfile", "init-file"];

/// Deeper bracket nesting than this is refused before parsing, so a hostile line
/// cannot exhaust the parser's stack.
const MAX_NESTING: usize = 64;

/// What invoking a shell amounts to, if `name` is a shell.
pub(super) fn invocation(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let name = name.strip_prefix('-').unwrap_or(name);
    if OTHER_SHELLS.contains(&name) {
        return Some(vec![other_shell(name, argv)]);
    }
    if !POSIX_SHELLS.contains(&name) {
        return None;
    }
    let step = match scan_shell_args(name, argv) {
        Err(reason) => Step::Opaque(reason),
        Ok(args) => match (args.command_string, argv.get(args.operands)) {
            (true, Some(line))
                if argv.len() > args.operands + 2 && uses_positional_parameters(line) =>
            {
                Step::Opaque(format!(
                    "{name} -c string takes its words from the arguments after it ($1, $@), \
                     which are not analysed"
                ))
            }
            (true, Some(line)) => Step::Line {
                label: format!("{name} -c"),
                line: line.clone(),
            },
            (true, None) => Step::Opaque(format!("{name} -c is missing its command string")),
            (false, Some(script)) if !args.stdin => Step::Opaque(format!(
                "{name} runs commands from {script}, which are not analysed"
            )),
            (false, _) => Step::Opaque(format!(
                "{name} reads commands from stdin, which cannot be seen"
            )),
        },
    };
    Some(vec![step])
}

/// Whether `label` (a `via` entry) is a shell running a command string.
pub(super) fn is_shell_label(label: &str) -> bool {
    label
        .strip_suffix(" -c")
        .is_some_and(|name| POSIX_SHELLS.contains(&name))
}

/// Whether a `-c` string reads positional parameters (`$1`, `${2}`, `$@`, `$*`), so
/// that arguments after it (`sh -c 'kubectl "$@"' _ delete ns a`) become its words.
fn uses_positional_parameters(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.windows(2).enumerate().any(|(i, pair)| {
        pair[0] == b'$'
            && (matches!(pair[1], b'1'..=b'9' | b'@' | b'*')
                || (pair[1] == b'{'
                    && matches!(bytes.get(i + 2), Some(b'1'..=b'9' | b'@' | b'*' | b'#'))))
    })
}

fn other_shell(name: &str, argv: &[String]) -> Step {
    let has_command = argv[1..].iter().any(|arg| {
        arg == "--command" || arg.starts_with("--command=") || is_short_cluster_with(arg, 'c')
    });
    match (has_command, argv.len() > 1) {
        (true, _) => Step::Opaque(format!("{name} command strings are not analysed")),
        (false, true) => Step::Keep,
        (false, false) => Step::Opaque(format!(
            "{name} reads commands from stdin, which cannot be seen"
        )),
    }
}

fn is_short_cluster_with(arg: &str, flag: char) -> bool {
    arg.len() > 1
        && arg.starts_with(['-', '+'])
        && !arg.starts_with("--")
        && arg[1..].contains(flag)
}

struct ShellArgs {
    command_string: bool,
    stdin: bool,
    operands: usize,
}

/// Shell options: letter clusters after `-` or `+` (`-lc`, `+e`, `-xec`), where `o`
/// and `O` take the next argument (`-o pipefail`), and long options, which bash
/// also takes after a single dash (`-login`, `-rcfile F`).
fn scan_shell_args(name: &str, argv: &[String]) -> Result<ShellArgs, String> {
    let mut args = ShellArgs {
        command_string: false,
        stdin: false,
        operands: argv.len(),
    };
    let single_dash_long = matches!(name, "bash" | "rbash");
    let mut i = 1;
    while let Some(arg) = argv.get(i) {
        i += 1;
        if arg == "--" || arg == "-" {
            args.operands = i;
            return Ok(args);
        }
        let long = arg.strip_prefix("--").or_else(|| {
            arg.strip_prefix('-')
                .filter(|long| single_dash_long && is_long_option(long))
        });
        if let Some(long) = long {
            let option = long.split_once('=').map_or(long, |(option, _)| option);
            if SHELL_LONG_VALUED.contains(&option) {
                let file = long
                    .split_once('=')
                    .map(|(_, file)| file)
                    .or(argv.get(i).map(String::as_str))
                    .unwrap_or_default();
                return Err(format!(
                    "{name} --{option} runs commands from {file}, which are not analysed"
                ));
            } else if !SHELL_LONG_FLAGS.contains(&option) {
                return Err(format!("unrecognised option {arg} to {name}"));
            }
        } else if arg.len() > 1 && arg.starts_with(['-', '+']) {
            for flag in arg[1..].chars() {
                match flag {
                    'c' => args.command_string = true,
                    's' => args.stdin = true,
                    'o' | 'O' => i += 1,
                    _ => {}
                }
            }
        } else {
            args.operands = i - 1;
            return Ok(args);
        }
    }
    Ok(args)
}

fn is_long_option(name: &str) -> bool {
    SHELL_LONG_FLAGS.contains(&name) || SHELL_LONG_VALUED.contains(&name)
}

/// Parse `line` and normalise every simple command in it into `out`.
pub(super) fn walk_line(
    line: &str,
    via: &[String],
    depth: usize,
    out: &mut Vec<SimpleCommand>,
) -> Result<(), String> {
    if depth > super::MAX_DEPTH {
        return Err(format!(
            "wrappers and shells nested more than {} deep",
            super::MAX_DEPTH
        ));
    }
    let program = parse(line)?;
    let mut walker = Walker {
        line,
        via,
        depth,
        out,
    };
    for list in &program.complete_commands {
        walker.list(list);
    }
    Ok(())
}

fn parse(line: &str) -> Result<ast::Program, String> {
    if nesting_depth(line) > MAX_NESTING {
        return Err(format!(
            "shell line nested more than {MAX_NESTING} levels deep"
        ));
    }
    // The parser is third-party code; a panic inside it must not take gate down.
    let parsed = std::panic::catch_unwind(|| {
        let mut parser = brush_parser::Parser::new(line.as_bytes(), &words::parser_options());
        parser.parse_program()
    });
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(err)) => Err(format!("cannot parse shell syntax: {err}")),
        Err(_) => Err("the shell parser failed on this line".into()),
    }
}

/// An upper bound on how deeply brackets and compound commands nest, quotes
/// ignored; the parser recurses once per level.
fn nesting_depth(line: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut word = String::new();
    for c in line.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() {
            word.push(c);
            continue;
        }
        let change = match (word.as_str(), c) {
            ("if" | "case" | "while" | "until" | "for" | "select", _)
            | (_, '(' | '{' | '[' | '`') => 1,
            ("fi" | "esac" | "done", _) | (_, ')' | '}' | ']') => -1,
            _ => 0,
        };
        word.clear();
        depth = depth.saturating_add_signed(change);
        max = max.max(depth);
    }
    max
}

/// Visits every command in a parsed line; simple commands and the words around
/// them are handled in `simple.rs`.
pub(super) struct Walker<'a> {
    /// The text the walked commands were parsed from.
    pub line: &'a str,
    pub via: &'a [String],
    pub depth: usize,
    pub out: &'a mut Vec<SimpleCommand>,
}

impl Walker<'_> {
    fn subshells(&mut self, line: &str) {
        if let Err(reason) = walk_line(line, self.via, self.depth + 1, self.out) {
            let opaque = super::command(vec![line.to_string()], self.via, Some(reason));
            self.out.push(opaque);
        }
    }

    pub(super) fn list(&mut self, list: &ast::CompoundList) {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first);
            for next in &and_or.additional {
                let (ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline)) = next;
                self.pipeline(pipeline);
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        for command in &pipeline.seq {
            self.command(command);
        }
    }

    fn command(&mut self, command: &ast::Command) {
        match command {
            ast::Command::Simple(simple) => self.simple(simple),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound);
                self.loose_redirects(redirects.as_ref());
            }
            ast::Command::Function(function) => {
                self.compound(&function.body.0);
                self.loose_redirects(function.body.1.as_ref());
            }
            ast::Command::ExtendedTest(test, redirects) => {
                self.test_expr(&test.expr);
                self.loose_redirects(redirects.as_ref());
            }
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand) {
        use ast::CompoundCommand as C;
        match compound {
            C::Arithmetic(arith) => match nested_subshells(self.line, &arith.loc) {
                Some(subshells) => self.subshells(&subshells),
                None => self.arithmetic(&arith.expr),
            },
            C::ArithmeticForClause(clause) => {
                let exprs = [&clause.initializer, &clause.condition, &clause.updater];
                exprs
                    .into_iter()
                    .flatten()
                    .for_each(|expr| self.arithmetic(expr));
                self.list(&clause.body.list);
            }
            C::BraceGroup(group) => self.list(&group.list),
            C::Subshell(subshell) => self.list(&subshell.list),
            C::ForClause(clause) => {
                clause
                    .values
                    .iter()
                    .flatten()
                    .for_each(|word| self.loose_word(word));
                self.list(&clause.body.list);
            }
            C::CaseClause(clause) => {
                self.loose_word(&clause.value);
                for case in &clause.cases {
                    case.patterns.iter().for_each(|word| self.loose_word(word));
                    case.cmd.iter().for_each(|list| self.list(list));
                }
            }
            C::IfClause(clause) => {
                self.list(&clause.condition);
                self.list(&clause.then);
                for branch in clause.elses.iter().flatten() {
                    branch.condition.iter().for_each(|list| self.list(list));
                    self.list(&branch.body);
                }
            }
            C::WhileClause(clause) | C::UntilClause(clause) => {
                self.list(&clause.0);
                self.list(&clause.1.list);
            }
            C::Coprocess(coprocess) => self.command(&coprocess.body),
        }
    }
}

/// Bash reads `((…))` as arithmetic only when it starts with two adjacent `(`
/// and ends in two adjacent `)`; `((cmd) )` and `( (cmd))` are a subshell in a
/// subshell. The parser works on tokens and cannot
/// see the space, so look at the source; the outer subshell is rewritten as a
/// group (`{ (cmd) ; }`), which runs the same commands and parses unambiguously.
fn nested_subshells(line: &str, loc: &brush_parser::SourceSpan) -> Option<String> {
    let text: String = line
        .chars()
        .skip(loc.start.index)
        .take(loc.end.index.saturating_sub(loc.start.index))
        .collect();
    if text.starts_with("((") && text.ends_with("))") {
        return None;
    }
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    Some(format!("{{ {inner} ;}}"))
}
