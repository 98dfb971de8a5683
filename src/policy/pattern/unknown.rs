//! Matching an argv some of whose words are only known at run time (a `$VAR`, a
//! file-name pattern): does a pattern match whatever they become, never, or only
//! for some values? A plain backtracking scan cannot answer, so this walks the
//! (token, argument) grid once, O(tokens × arguments) states.

use super::{Glob, Pattern, Segment, Token, token_matches_arg};

/// One argument as evaluation knows it.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Known(&'a str),
    /// Exactly one word; every value it can take matches the glob, if given.
    One(Option<&'a Glob>),
    /// Zero or more words, each matching the glob if given.
    Many(Option<&'a Glob>),
}

/// Whether a pattern matches an argv with run-time words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    Never,
    Sometimes,
    Always,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Some value of every run-time word lets the pattern match.
    Possible,
    /// The pattern matches with every run-time word swallowed by `**` (or a
    /// single word by a token matching anything): it matches whatever they are.
    Certain,
}

impl Pattern {
    pub fn reach(&self, args: &[Arg]) -> Reach {
        if fits(&self.tokens, args, Mode::Certain, true) {
            Reach::Always
        } else if fits(&self.tokens, args, Mode::Possible, true) {
            Reach::Sometimes
        } else {
            Reach::Never
        }
    }
}

/// Whether `tokens` match `args` in `mode`; with `program`, the first argument
/// is a program name (matched by basename unless the token has a slash).
pub(super) fn fits(tokens: &[Token], args: &[Arg], mode: Mode, program: bool) -> bool {
    {
        let width = args.len() + 1;
        let mut seen = vec![false; (tokens.len() + 1) * width];
        let mut todo = vec![(0usize, 0usize)];
        while let Some((t, a)) = todo.pop() {
            let cell = t * width + a;
            if seen[cell] {
                continue;
            }
            seen[cell] = true;
            if t == tokens.len() && a == args.len() {
                return true;
            }
            let arg = args.get(a);
            if matches!(arg, Some(Arg::Many(_))) && mode == Mode::Possible {
                todo.push((t, a + 1)); // it expands to no more words
            }
            match (tokens.get(t), arg) {
                (Some(Token::AnyArgs), _) => {
                    todo.push((t + 1, a));
                    if arg.is_some() {
                        todo.push((t, a + 1));
                    }
                }
                (Some(Token::Arg { glob, has_slash }), Some(arg)) => match (arg, mode) {
                    (Arg::Known(text), _)
                        if token_matches_arg(glob, *has_slash, text, program && a == 0) =>
                    {
                        todo.push((t + 1, a + 1))
                    }
                    (Arg::One(values), Mode::Possible) if may_meet(glob, *values) => {
                        todo.push((t + 1, a + 1))
                    }
                    (Arg::One(_), Mode::Certain) if matches_anything(glob) => {
                        todo.push((t + 1, a + 1))
                    }
                    (Arg::Many(values), Mode::Possible) if may_meet(glob, *values) => {
                        todo.push((t + 1, a)) // one of its words, more may follow
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        false
    }
}

fn matches_anything(glob: &Glob) -> bool {
    glob.alternatives
        .iter()
        .any(|segs| matches!(segs.as_slice(), [Segment::AnyRun]))
}

/// Whether some string matches both `glob` and `values` (anything when `None`).
fn may_meet(glob: &Glob, values: Option<&Glob>) -> bool {
    let Some(values) = values else { return true };
    glob.alternatives.iter().any(|a| {
        values
            .alternatives
            .iter()
            .any(|b| intersects(&chars(a), &chars(b)))
    })
}

/// A glob alternative one character (or one `*`) at a time.
#[derive(Clone, Copy)]
enum Unit<'a> {
    Char(char),
    AnyChar,
    Class(bool, &'a [(char, char)]),
    AnyRun,
}

fn chars(segments: &[Segment]) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    for segment in segments {
        match segment {
            Segment::Literal(text) => units.extend(text.chars().map(Unit::Char)),
            Segment::AnyChar => units.push(Unit::AnyChar),
            Segment::AnyRun => units.push(Unit::AnyRun),
            Segment::Class { negated, ranges } => units.push(Unit::Class(*negated, ranges)),
        }
    }
    units
}

/// Whether two globs share a string: a walk over pairs of positions.
fn intersects(a: &[Unit], b: &[Unit]) -> bool {
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        if std::mem::replace(&mut seen[i * width + j], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        match (a.get(i), b.get(j)) {
            (Some(Unit::AnyRun), other) => {
                todo.push((i + 1, j));
                if other.is_some() {
                    todo.push((i, j + 1));
                }
            }
            (other, Some(Unit::AnyRun)) => {
                todo.push((i, j + 1));
                if other.is_some() {
                    todo.push((i + 1, j));
                }
            }
            (Some(x), Some(y)) if same_char_possible(*x, *y) => todo.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}

fn same_char_possible(x: Unit, y: Unit) -> bool {
    match (x, y) {
        (Unit::Char(c), Unit::Char(d)) => c == d,
        (Unit::Char(c), Unit::Class(negated, ranges))
        | (Unit::Class(negated, ranges), Unit::Char(c)) => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negated
        }
        (Unit::Class(false, r), Unit::Class(false, s)) => r
            .iter()
            .any(|&(lo, hi)| s.iter().any(|&(lo2, hi2)| lo <= hi2 && lo2 <= hi)),
        // A negated class leaves almost every character; assume they meet.
        _ => true,
    }
}
