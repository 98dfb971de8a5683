//! Token patterns: a rule's `match` string split like a shell line into tokens, each
//! token a glob over exactly one argv element, `**` matching zero or more elements.
//!
//! Patterns are compiled once into plain data (segments, alternatives already
//! expanded) so a cached policy deserializes without recompiling anything, and
//! matching is a backtracking scan that allocates nothing and is never exponential.

mod compile;
mod spelled;
#[cfg(test)]
mod tests;
mod unknown;

pub use spelled::{SpelledPattern, grammar_for};
pub use unknown::{Arg, Reach};

use compile::{compile_glob, compile_token, split_words, unquoted_chars};

use serde::{Deserialize, Serialize};

/// Most alternatives one glob may expand to; `{a,b}{c,d}` expands to four.
const MAX_ALTERNATIVES: usize = 1024;

/// Why a pattern or glob failed to compile. `offset` is a byte offset into the
/// pattern source so the caller can point at the exact column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
    pub offset: usize,
    pub hint: Option<String>,
}

impl PatternError {
    fn new(offset: usize, message: &str, hint: &str) -> PatternError {
        PatternError {
            message: message.to_string(),
            offset,
            hint: Some(hint.to_string()),
        }
    }
}

/// One fixed-width piece of a glob, or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Segment {
    Literal(String),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A glob over one string: `*`, `?`, `[..]`, `[!..]`, `{a,b}`. `*` crosses `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glob {
    source: String,
    /// Brace alternatives expanded; the glob matches when any alternative does.
    alternatives: Vec<Vec<Segment>>,
}

impl Glob {
    pub fn parse(source: &str) -> Result<Glob, PatternError> {
        let chars = unquoted_chars(source, 0)?;
        compile_glob(source, &chars)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.alternatives
            .iter()
            .any(|segs| match_segments(segs, text))
    }

    /// The literal strings this glob matches, or `None` if it has any wildcard.
    fn literals(&self) -> Option<Vec<String>> {
        self.alternatives
            .iter()
            .map(|segs| match segs.as_slice() {
                [] => Some(String::new()),
                [Segment::Literal(text)] => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// One pattern token: a glob over one argv element, or `**`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Token {
    AnyArgs,
    Arg { glob: Glob, has_slash: bool },
}

/// A whole-argv pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
    /// The pattern read with the option grammar of each program it names, when
    /// the policy reader asked for it ([`Pattern::understand_flags`]).
    spelled: Vec<SpelledPattern>,
}

impl Pattern {
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        let words = split_words(source)?;
        if words.is_empty() {
            return Err(PatternError::new(
                0,
                "empty match pattern",
                "write at least the program name, e.g. `kubectl get **`",
            ));
        }
        let tokens = words
            .iter()
            .map(|word| compile_token(source, word))
            .collect::<Result<_, _>>()?;
        Ok(Pattern {
            source: source.to_string(),
            tokens,
            spelled: Vec::new(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whole-argv match; the first token matches argv[0] by basename, or by full
    /// path when the token contains `/`.
    pub fn matches(&self, argv: &[String]) -> bool {
        // Each glob token consumes exactly one argument, so the classic
        // "remember the last star" scan is exact here and runs in O(tokens * args).
        let (mut t, mut a) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        loop {
            match self.tokens.get(t) {
                Some(Token::AnyArgs) => {
                    star = Some((t + 1, a));
                    t += 1;
                    continue;
                }
                Some(Token::Arg { glob, has_slash })
                    if a < argv.len() && token_matches_arg(glob, *has_slash, &argv[a], a == 0) =>
                {
                    t += 1;
                    a += 1;
                    continue;
                }
                Some(_) => {}
                None if a == argv.len() => return true,
                None => {}
            }
            match star {
                Some((resume, from)) if from < argv.len() => {
                    star = Some((resume, from + 1));
                    t = resume;
                    a = from + 1;
                }
                _ => return false,
            }
        }
    }

    /// Literal program names this pattern can match (brace alternatives expanded),
    /// or `None` when the first token is a wildcard or `**`. Used to index rules.
    /// Names are basenames: `/usr/bin/kubectl` yields `kubectl`, the name argv[0]
    /// must end in for the pattern to match.
    pub fn program_names(&self) -> Option<Vec<String>> {
        let Some(Token::Arg { glob, .. }) = self.tokens.first() else {
            return None;
        };
        let mut names: Vec<String> = glob
            .literals()?
            .iter()
            .map(|name| basename(name).to_string())
            .collect();
        names.sort();
        names.dedup();
        Some(names)
    }
}

fn token_matches_arg(glob: &Glob, has_slash: bool, arg: &str, is_program: bool) -> bool {
    if is_program && !has_slash {
        glob.is_match(basename(arg))
    } else {
        glob.is_match(arg)
    }
}

/// The last path component; `kubectl` for `/usr/local/bin/kubectl`.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Match a flat segment list against the whole text. Non-star segments have a
/// fixed width, so backtracking to the most recent `*` only is exact.
fn match_segments(segs: &[Segment], text: &str) -> bool {
    let (mut s, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match segs.get(s) {
            Some(Segment::AnyRun) => {
                star = Some((s + 1, t));
                s += 1;
                continue;
            }
            Some(seg) => {
                if let Some(width) = match_one(seg, &text[t..]) {
                    s += 1;
                    t += width;
                    continue;
                }
            }
            None if t == text.len() => return true,
            None => {}
        }
        match star {
            Some((resume, from)) => match text[from..].chars().next() {
                Some(c) => {
                    let next = from + c.len_utf8();
                    star = Some((resume, next));
                    s = resume;
                    t = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Width in bytes of `seg` matched at the start of `rest`, if it matches.
fn match_one(seg: &Segment, rest: &str) -> Option<usize> {
    match seg {
        Segment::Literal(lit) => rest.starts_with(lit.as_str()).then_some(lit.len()),
        Segment::AnyChar => rest.chars().next().map(char::len_utf8),
        Segment::Class { negated, ranges } => {
            let c = rest.chars().next()?;
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            (inside != *negated).then_some(c.len_utf8())
        }
        Segment::AnyRun => Some(0),
    }
}
