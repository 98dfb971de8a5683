//! Flags as programs read them: a small table of option grammars (which spellings
//! name the same option, which options take a value, which subcommands a program
//! has) so that a rule's `rm ** -rf **` also matches `rm -fr`, `rm -r -f` and
//! `rm --recursive --force`, and `git push ** --force **` matches `git -C dir push
//! -f` and `git push origin +main`.
//!
//! A command is *spelled* once per grammar: its options become canonical words
//! (`--force`, `--namespace=prod`), the rest its operands in order. A pattern is
//! spelled the same way when the policy is read (see `pattern::spelled`). Pure.

mod declare;
mod table;

pub(super) use declare::read_declared;
pub use table::{builtin, parse_line};

use super::pattern::Arg;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// What follows an option's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Takes {
    /// Nothing: a flag.
    Nothing,
    /// A value, attached (`-nprod`, `--namespace=prod`) or as the next word.
    Value,
    /// An optional value, only ever attached (`--force-with-lease=main`, `-pPASS`).
    Attached,
}

/// One option: every spelling of it, what it takes, and what it implies
/// (`--force-with-lease` is a kind of `--force`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opt {
    pub spellings: Vec<String>,
    pub takes: Takes,
    pub implies: Vec<String>,
}

impl Opt {
    /// The name a command's options are compared by: the longest `--` spelling,
    /// else the first.
    pub fn canonical(&self) -> &str {
        self.spellings
            .iter()
            .filter(|s| s.starts_with("--"))
            .max_by_key(|s| s.len())
            .unwrap_or(&self.spellings[0])
    }
}

/// How a program parses its command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Style {
    /// Unique prefixes of long options are accepted (`--rec` is `--recursive`),
    /// as GNU getopt_long and git's subcommands do.
    pub abbreviations: bool,
    /// Go's flag package: `-name` and `--name` are the same, no clusters.
    pub go: bool,
    /// Cobra (kubectl, helm, docker): `-n=prod` is `-n prod`.
    pub cobra: bool,
    /// No table: every option is unknown; `-xy` of distinct letters is `-x -y`.
    pub generic: bool,
}

/// A program or one of its subcommands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The program's names, or the subcommand's name and its aliases; the first
    /// is the one a command is spelled with.
    pub names: Vec<String>,
    pub style: Style,
    pub options: Vec<Opt>,
    pub subcommands: Vec<Scope>,
    /// Operands that imply an option: git push's `+main` forces, `:main` deletes.
    pub operand_implies: Vec<(String, String)>,
}

impl Scope {
    /// The grammar used for a program the table does not know.
    pub fn generic() -> Scope {
        Scope {
            style: Style {
                generic: true,
                ..Style::default()
            },
            ..Scope::default()
        }
    }

    /// Every name of every subcommand, at any depth, that `word` names.
    pub fn aliases_of(&self, word: &str) -> Vec<String> {
        let mut found = Vec::new();
        for sub in &self.subcommands {
            if sub.names.iter().any(|name| name == word) {
                found.extend(sub.names.iter().cloned());
            }
            found.extend(sub.aliases_of(word));
        }
        found
    }

    fn subcommand(&self, word: &str) -> Option<&Scope> {
        self.subcommands
            .iter()
            .find(|sub| sub.names.iter().any(|name| name == word))
    }

    /// The scope at `path` (subcommand names), created when missing.
    pub fn scope_mut(&mut self, path: &[String]) -> &mut Scope {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        let at = match self
            .subcommands
            .iter()
            .position(|sub| sub.names.contains(first))
        {
            Some(at) => at,
            None => {
                self.subcommands.push(Scope {
                    names: vec![first.clone()],
                    style: Style {
                        abbreviations: false,
                        ..self.style
                    },
                    ..Scope::default()
                });
                self.subcommands.len() - 1
            }
        };
        self.subcommands[at].scope_mut(rest)
    }
}

/// An option as a command gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptWord<'a> {
    Known {
        /// `--force`, `--namespace=prod`, or an unknown option as written.
        canonical: String,
        /// The word as typed (`-rf` for both of its options).
        written: &'a str,
        /// Only implied by another option or an operand (`+main`).
        implied: bool,
    },
    /// An option whose value is only known at run time (`-n "$NS"`).
    ValueUnknown { canonical: String },
    /// A word known only at run time that may be one or more options.
    Any,
}

/// A command's arguments as its program reads them.
#[derive(Debug, Clone)]
pub struct Spelled<'a> {
    pub options: Vec<OptWord<'a>>,
    /// Operands in order, subcommands by their first name, `--` dropped.
    pub operands: Vec<Arg<'a>>,
}

/// The grammars a policy sees: the built-in table and the policy's `[[options]]`.
#[derive(Debug, Clone, Copy)]
pub struct Grammars<'a> {
    pub declared: &'a [Declared],
}

/// One `[[options]]` entry of a policy: option lines for a program or subcommand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// The program and the subcommand path, e.g. `["deployctl", "release"]`.
    pub path: Vec<String>,
    pub options: Vec<Opt>,
    pub abbreviations: bool,
}

impl<'a> Grammars<'a> {
    /// The grammar of `program` (a basename), if the table or the policy has one.
    pub fn get(&self, program: &str) -> Option<Cow<'a, Scope>> {
        let builtin = builtin(program);
        let mut declared = self
            .declared
            .iter()
            .filter(|d| d.path.first().is_some_and(|p| p == program))
            .peekable();
        if declared.peek().is_none() {
            return builtin.map(Cow::Owned);
        }
        let mut scope = builtin.unwrap_or_else(|| Scope {
            names: vec![program.to_string()],
            ..Scope::default()
        });
        for entry in declared {
            let target = scope.scope_mut(&entry.path[1..]);
            target.style.abbreviations |= entry.abbreviations;
            target.options.extend(entry.options.iter().cloned());
        }
        Some(Cow::Owned(scope))
    }
}

/// Where the walk over a command line stands.
struct Walk<'g> {
    stack: Vec<&'g Scope>,
    /// Still reading subcommand names (no other operand seen yet).
    descending: bool,
    /// After `--`: everything is an operand.
    ended: bool,
}

impl<'g> Walk<'g> {
    fn new(grammar: &'g Scope) -> Walk<'g> {
        Walk {
            stack: vec![grammar],
            descending: true,
            ended: false,
        }
    }

    fn style(&self) -> Style {
        self.stack[0].style
    }

    /// The option spelled exactly `name`, innermost scope first; else the one
    /// long option `name` is a unique prefix of, where abbreviations are read.
    fn find(&self, name: &str) -> Option<&'g Opt> {
        let exact = self.stack.iter().rev().find_map(|scope| {
            scope
                .options
                .iter()
                .find(|opt| opt.spellings.iter().any(|s| s == name))
        });
        if exact.is_some() || !name.starts_with("--") || name.len() < 3 {
            return exact;
        }
        let mut found: Option<&Opt> = None;
        for scope in self.stack.iter().filter(|s| s.style.abbreviations) {
            for opt in &scope.options {
                let prefixes = opt
                    .spellings
                    .iter()
                    .any(|s| s.starts_with("--") && s.starts_with(name));
                match found {
                    _ if !prefixes => {}
                    Some(other) if other.canonical() != opt.canonical() => return None,
                    _ => found = Some(opt),
                }
            }
        }
        found
    }

    /// Operand `word` enters a subcommand, if it names one here.
    fn enter(&mut self, word: &str) -> Option<&'g str> {
        if !self.descending {
            return None;
        }
        let top = *self.stack.last()?;
        match top.subcommand(word) {
            Some(sub) => {
                self.stack.push(sub);
                Some(sub.names[0].as_str())
            }
            None => {
                self.descending = false;
                None
            }
        }
    }

    fn operand_implies(&self, word: &str) -> Option<&'g str> {
        let top = self.stack.last()?;
        top.operand_implies
            .iter()
            .find(|(prefix, _)| word.len() > prefix.len() && word.starts_with(prefix.as_str()))
            .map(|(_, implied)| implied.as_str())
    }
}

/// One option word of a command line, split into the options it gives.
pub(crate) struct Given<'g> {
    /// The option, when the grammar knows it.
    pub opt: Option<&'g Opt>,
    /// Its canonical name (or the spelling, when unknown).
    pub name: String,
    /// Its value: `Some` when attached or taken from the next word.
    pub value: Option<Value>,
}

/// An option's value as far as it is known.
pub(crate) enum Value {
    Attached(String),
    /// The next word (its index among the arguments).
    Next,
}

/// Read one word that starts with `-` (not `-` or `--`) as the options it gives.
fn read_option<'g>(walk: &Walk<'g>, word: &str) -> Vec<Given<'g>> {
    let style = walk.style();
    let long = word.starts_with("--") || style.go;
    if long {
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (word, None),
        };
        let lookup = if style.go {
            Cow::Owned(format!("-{}", name.trim_start_matches('-')))
        } else {
            Cow::Borrowed(name)
        };
        let opt = walk.find(&lookup);
        let value = match (opt.map(|o| o.takes), value) {
            (_, Some(value)) => Some(Value::Attached(value)),
            (Some(Takes::Value), None) => Some(Value::Next),
            _ => None,
        };
        let name = opt.map_or_else(|| lookup.to_string(), |o| o.canonical().to_string());
        return vec![Given { opt, name, value }];
    }
    let letters = &word[1..];
    if style.generic && !is_cluster(letters) {
        return vec![Given {
            opt: None,
            name: word.to_string(),
            value: None,
        }];
    }
    let mut given = Vec::new();
    for (i, c) in letters.char_indices() {
        let spelling = format!("-{c}");
        let opt = walk.find(&spelling);
        let rest = &letters[i + c.len_utf8()..];
        let name = opt.map_or_else(|| spelling.clone(), |o| o.canonical().to_string());
        match opt.map(|o| o.takes) {
            Some(Takes::Value | Takes::Attached) if !rest.is_empty() => {
                let rest = match rest.strip_prefix('=') {
                    Some(after) if style.cobra => after,
                    _ => rest,
                };
                given.push(Given {
                    opt,
                    name,
                    value: Some(Value::Attached(rest.to_string())),
                });
                return given;
            }
            Some(Takes::Value) => {
                given.push(Given {
                    opt,
                    name,
                    value: Some(Value::Next),
                });
                return given;
            }
            _ => given.push(Given {
                opt,
                name,
                value: None,
            }),
        }
    }
    given
}

/// `-rf`, `-xvz`: two or more distinct ASCII letters, read as one flag each by a
/// program the table does not know.
fn is_cluster(letters: &str) -> bool {
    letters.len() >= 2
        && letters.bytes().all(|b| b.is_ascii_alphabetic())
        && letters
            .bytes()
            .enumerate()
            .all(|(i, b)| !letters.as_bytes()[..i].contains(&b))
}

/// Whether `word` is read as an option (before any `--`).
fn is_option_word(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-') && word != "--"
}

/// Spell a command's arguments (`args[0]` is the program, left out) with `grammar`.
pub fn spell<'a>(grammar: &'a Scope, args: &[Arg<'a>]) -> Spelled<'a> {
    let mut walk = Walk::new(grammar);
    let mut spelled = Spelled {
        options: Vec::new(),
        operands: Vec::new(),
    };
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        i += 1;
        let text = match *arg {
            Arg::Known(text) => text,
            runtime => {
                // A word known only at run time (`$OPTS`) may be options or
                // operands. A file-name pattern (`*.tmp`) is an operand here; the
                // pattern as written already treats it as possibly any word.
                let may_be_option = match runtime {
                    Arg::One(values) | Arg::Many(values) => !walk.ended && values.is_none(),
                    Arg::Known(_) => false,
                };
                if may_be_option {
                    spelled.options.push(OptWord::Any);
                    let values = match runtime {
                        Arg::One(v) | Arg::Many(v) => v,
                        Arg::Known(_) => None,
                    };
                    spelled.operands.push(Arg::Many(values));
                } else {
                    walk.descending = false;
                    spelled.operands.push(runtime);
                }
                continue;
            }
        };
        if !walk.ended && text == "--" {
            walk.ended = true;
            continue;
        }
        if walk.ended || !is_option_word(text) {
            if !walk.ended
                && let Some(implied) = walk.operand_implies(text)
            {
                spelled.options.push(OptWord::Known {
                    canonical: implied.to_string(),
                    written: text,
                    implied: true,
                });
            }
            match walk.enter(text) {
                Some(name) => spelled.operands.push(Arg::Known(name)),
                None => spelled.operands.push(Arg::Known(text)),
            }
            continue;
        }
        for given in read_option(&walk, text) {
            let word = match given.value {
                None => OptWord::Known {
                    canonical: given.name.clone(),
                    written: text,
                    implied: false,
                },
                Some(Value::Attached(value)) => OptWord::Known {
                    canonical: format!("{}={value}", given.name),
                    written: text,
                    implied: false,
                },
                Some(Value::Next) => match args.get(i) {
                    Some(Arg::Known(value)) => {
                        i += 1;
                        OptWord::Known {
                            canonical: format!("{}={value}", given.name),
                            written: text,
                            implied: false,
                        }
                    }
                    Some(_) => {
                        i += 1;
                        OptWord::ValueUnknown {
                            canonical: given.name.clone(),
                        }
                    }
                    None => OptWord::Known {
                        canonical: given.name.clone(),
                        written: text,
                        implied: false,
                    },
                },
            };
            spelled.options.push(word);
            for implied in given.opt.iter().flat_map(|o| &o.implies) {
                spelled.options.push(OptWord::Known {
                    canonical: implied.clone(),
                    written: text,
                    implied: true,
                });
            }
        }
    }
    spelled
}

/// Read the options one pattern word names, for `pattern::spelled`: the walk is
/// shared so a pattern is read exactly as a command is.
pub(crate) struct PatternWalk<'g>(Walk<'g>);

impl<'g> PatternWalk<'g> {
    pub fn new(grammar: &'g Scope) -> PatternWalk<'g> {
        PatternWalk(Walk::new(grammar))
    }

    pub fn ended(&self) -> bool {
        self.0.ended
    }

    pub fn end_options(&mut self) {
        self.0.ended = true;
    }

    /// A literal operand: the subcommand's first name if it enters one.
    pub fn operand(&mut self, word: &str) -> Option<&'g [String]> {
        self.0.enter(word)?;
        self.0.stack.last().map(|scope| scope.names.as_slice())
    }

    /// A word that runs options together: what it gives.
    pub fn options(&self, word: &str) -> Vec<Given<'g>> {
        read_option(&self.0, word)
    }

    pub fn is_option_word(word: &str) -> bool {
        is_option_word(word)
    }

    /// Options and operand shapes that imply `canonical` where the walk stands
    /// (`--force-with-lease`, `+REFSPEC` for git push's `--force`).
    pub fn implied_by(&self, canonical: &str) -> Vec<String> {
        let mut by = Vec::new();
        for scope in &self.0.stack {
            for opt in scope
                .options
                .iter()
                .filter(|o| o.implies.iter().any(|i| i == canonical))
            {
                by.push(opt.canonical().to_string());
            }
            for (prefix, implied) in &scope.operand_implies {
                if implied == canonical {
                    by.push(format!("{prefix}REFSPEC"));
                }
            }
        }
        by
    }
}

#[cfg(test)]
mod tests;
