//! A pattern read with its program's option grammar (see `policy::flags`): the
//! options it names as a set of canonical words, its other tokens in order. It
//! matches a command spelled with the same grammar, whatever spelling, cluster,
//! order or abbreviation the command used.
//!
//! What it adds never loosens a rule against the grammar's program: a pattern
//! still matches everything it matched as written. Two things only widen `deny`
//! and `approve` rules, where matching more is the safe side: options implied by
//! others (`--force-with-lease` is a `--force`), a bare option with an optional
//! value matching every value, and programs the table does not know (their
//! clusters `-rf` are read as `-r -f`).

use super::unknown::{Mode, fits};
use super::{Glob, Pattern, Reach, Segment, Token, token_matches_arg};
use crate::policy::flags::{Grammars, OptWord, PatternWalk, Scope, Spelled, Takes, Value};
use serde::{Deserialize, Serialize};

/// One pattern read with the grammar of one of the programs it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpelledPattern {
    /// The program's name (a basename) this reading is for.
    pub(super) program: String,
    /// Options the command must give, each a glob over canonical words
    /// (`--force`, `--namespace=prod`) or, for globs, also the word as typed.
    pub(super) options: Vec<Glob>,
    /// The pattern has `**`: options it does not name may be given too.
    pub(super) extra_options: bool,
    /// The other tokens, in order; subcommands by their first name.
    pub(super) operands: Vec<Token>,
    /// Whether implied options count (deny and approve rules).
    pub(super) broad: bool,
    /// The words a command must contain for this reading to match it: each
    /// literal operand, as any of its spellings (a subcommand's aliases).
    pub(super) needs: Vec<Vec<String>>,
}

/// Which grammar a program is read with: the table's, or the generic one.
pub fn grammar_for<'g>(grammars: &Grammars<'g>, program: &str) -> std::borrow::Cow<'g, Scope> {
    grammars
        .get(program)
        .unwrap_or_else(|| std::borrow::Cow::Owned(Scope::generic()))
}

impl Pattern {
    /// Read this pattern with the grammars of the programs it names. `broad`:
    /// the rule denies or asks, so what only ever widens it applies too.
    pub fn understand_flags(&mut self, grammars: &Grammars<'_>, broad: bool) {
        self.spelled.clear();
        let Some(names) = self.program_names() else {
            return;
        };
        for name in names {
            let grammar = grammar_for(grammars, &name);
            if grammar.style.generic && !(broad && self.names_a_cluster()) {
                continue;
            }
            if let Some(spelled) = spell_pattern(&self.tokens, &grammar, &name, broad) {
                self.spelled.push(spelled);
            }
        }
    }

    /// Whether a token is a literal `-xy` cluster, the one thing the generic
    /// grammar reads differently from the pattern as written.
    fn names_a_cluster(&self) -> bool {
        self.tokens.iter().skip(1).any(|token| match token {
            Token::Arg { glob, .. } => glob.literal_text().is_some_and(|text| {
                !text.starts_with("--") && text.len() > 2 && text.starts_with('-')
            }),
            Token::AnyArgs => false,
        })
    }

    /// Whether the pattern, read with the grammar of the command's program,
    /// matches the spelled command. `program` is argv[0].
    pub fn reach_spelled(&self, program: &str, basename: &str, command: &Spelled<'_>) -> Reach {
        let Some(reading) = self.spelled.iter().find(|s| s.program == basename) else {
            return Reach::Never;
        };
        match self.tokens.first() {
            Some(Token::Arg { glob, has_slash })
                if token_matches_arg(glob, *has_slash, program, true) => {}
            _ => return Reach::Never,
        }
        reading.reach(command)
    }

    /// Whether this pattern has a reading for `basename` that could match
    /// `argv` (all of whose words are known): every literal operand it names
    /// appears in `argv` in one of its spellings. A cheap test before the
    /// command is spelled.
    pub fn may_match_spelled(&self, basename: &str, argv: &[String]) -> bool {
        self.spelled.iter().any(|reading| {
            reading.program == basename
                && reading
                    .needs
                    .iter()
                    .all(|spellings| argv.iter().any(|word| spellings.contains(word)))
        })
    }

    /// Whether this pattern is read with a grammar for `basename`.
    pub fn spelled_for(&self, basename: &str) -> Option<&SpelledPattern> {
        self.spelled.iter().find(|s| s.program == basename)
    }
}

impl SpelledPattern {
    fn reach(&self, command: &Spelled<'_>) -> Reach {
        let options = self.options_reach(command);
        if options == Reach::Never {
            return Reach::Never;
        }
        let operands = if fits(&self.operands, &command.operands, Mode::Certain, false) {
            Reach::Always
        } else if fits(&self.operands, &command.operands, Mode::Possible, false) {
            Reach::Sometimes
        } else {
            Reach::Never
        };
        options.min(operands)
    }

    fn options_reach(&self, command: &Spelled<'_>) -> Reach {
        let counts = |word: &&OptWord<'_>| match word {
            OptWord::Known { implied, .. } => self.broad || !implied,
            _ => true,
        };
        let given: Vec<&OptWord<'_>> = command.options.iter().filter(counts).collect();
        let unknown = given.iter().any(|w| !matches!(w, OptWord::Known { .. }));
        let meets = |glob: &Glob, word: &OptWord<'_>| match word {
            OptWord::Known {
                canonical, written, ..
            } => glob.is_match(canonical) || (!glob.is_literal() && glob.is_match(written)),
            _ => false,
        };
        let all_named_given = self
            .options
            .iter()
            .all(|glob| given.iter().any(|word| meets(glob, word)));
        // Every option the command is known to give is one the pattern names
        // (or merely implied), unless the pattern allows others.
        let known_ones_named = self.extra_options
            || given.iter().all(|word| match word {
                OptWord::Known { implied: false, .. } => {
                    self.options.iter().any(|glob| meets(glob, word))
                }
                _ => true,
            });
        let nothing_else = known_ones_named && (self.extra_options || !unknown);
        let possibly_named = all_named_given || unknown;
        if all_named_given && nothing_else {
            Reach::Always
        } else if possibly_named && known_ones_named {
            Reach::Sometimes
        } else {
            Reach::Never
        }
    }
}

/// Read a pattern's tokens after the program with `grammar`. `None` when the
/// reading would say nothing the pattern as written does not.
fn spell_pattern(
    tokens: &[Token],
    grammar: &Scope,
    program: &str,
    broad: bool,
) -> Option<SpelledPattern> {
    let mut walk = PatternWalk::new(grammar);
    let mut reading = SpelledPattern {
        program: program.to_string(),
        options: Vec::new(),
        extra_options: tokens.iter().any(|t| matches!(t, Token::AnyArgs)),
        operands: Vec::new(),
        broad,
        needs: Vec::new(),
    };
    let mut i = 1;
    while let Some(token) = tokens.get(i) {
        i += 1;
        let Token::Arg { glob, .. } = token else {
            reading.operands.push(Token::AnyArgs);
            continue;
        };
        let literal = glob.literal_text();
        if !walk.ended() && literal == Some("--") {
            walk.end_options();
            continue;
        }
        let option_like = !walk.ended() && glob.starts_with_literal_dash();
        match literal {
            Some(text) if option_like && PatternWalk::is_option_word(text) => {
                for given in walk.options(text) {
                    let with_value = |value: Glob| value.prefixed(&format!("{}=", given.name));
                    let option = match given.value {
                        Some(Value::Attached(value)) => {
                            Glob::literal(&format!("{}={value}", given.name))
                        }
                        Some(Value::Next) => match tokens.get(i) {
                            Some(Token::Arg { glob: value, .. }) => {
                                i += 1;
                                with_value(value.clone())
                            }
                            _ => Glob::prefixed_any(&format!("{}=", given.name)),
                        },
                        None => {
                            let optional = given.opt.is_some_and(|o| o.takes == Takes::Attached);
                            if optional && broad {
                                Glob::literal(&given.name)
                                    .or_prefixed_any(&format!("{}=", given.name))
                            } else {
                                Glob::literal(&given.name)
                            }
                        }
                    };
                    reading.options.push(option);
                }
            }
            // A glob over options (`--force*`, `-[rR]*`): it must meet an option
            // the command gives, by canonical name or as typed.
            _ if option_like && literal.is_none() => reading.options.push(glob.clone()),
            Some(text) => {
                let (glob, spellings) = match walk.operand(text) {
                    Some(names) => (Glob::literal(&names[0]), names.to_vec()),
                    None => (glob.clone(), vec![text.to_string()]),
                };
                reading.needs.push(spellings);
                reading.operands.push(Token::Arg {
                    glob,
                    has_slash: text.contains('/'),
                });
            }
            None => {
                // `{install,upgrade}`: the command holds one of them, or an alias.
                if let Some(alternatives) = glob.literals() {
                    let mut spellings = Vec::new();
                    for word in &alternatives {
                        spellings.extend(grammar.aliases_of(word));
                    }
                    spellings.extend(alternatives);
                    reading.needs.push(spellings);
                }
                reading.operands.push(token.clone());
            }
        }
    }
    Some(reading)
}

impl Glob {
    /// A glob matching exactly `text`.
    pub(crate) fn literal(text: &str) -> Glob {
        Glob {
            source: text.to_string(),
            alternatives: vec![vec![Segment::Literal(text.to_string())]],
        }
    }

    /// A glob matching `prefix` followed by anything.
    fn prefixed_any(prefix: &str) -> Glob {
        Glob {
            source: format!("{prefix}*"),
            alternatives: vec![vec![Segment::Literal(prefix.to_string()), Segment::AnyRun]],
        }
    }

    /// This glob with `prefix` in front of every alternative.
    fn prefixed(&self, prefix: &str) -> Glob {
        let alternatives = self
            .alternatives
            .iter()
            .map(|segs| {
                let mut out = vec![Segment::Literal(prefix.to_string())];
                for seg in segs {
                    match (out.last_mut(), seg) {
                        (Some(Segment::Literal(prev)), Segment::Literal(next)) => {
                            prev.push_str(next)
                        }
                        (_, seg) => out.push(seg.clone()),
                    }
                }
                out
            })
            .collect();
        Glob {
            source: format!("{prefix}{}", self.source),
            alternatives,
        }
    }

    /// This glob, or `prefix` followed by anything.
    fn or_prefixed_any(mut self, prefix: &str) -> Glob {
        self.source = format!("{{{},{prefix}*}}", self.source);
        self.alternatives
            .push(vec![Segment::Literal(prefix.to_string()), Segment::AnyRun]);
        self
    }

    /// The one string this glob matches, when it has no wildcard or alternative.
    pub(crate) fn literal_text(&self) -> Option<&str> {
        match self.alternatives.as_slice() {
            [segs] => match segs.as_slice() {
                [Segment::Literal(text)] => Some(text),
                [] => Some(""),
                _ => None,
            },
            _ => None,
        }
    }

    fn is_literal(&self) -> bool {
        self.alternatives
            .iter()
            .all(|segs| segs.iter().all(|s| matches!(s, Segment::Literal(_))))
    }

    /// Every alternative starts with a literal `-`: the token names options.
    fn starts_with_literal_dash(&self) -> bool {
        !self.alternatives.is_empty()
            && self.alternatives.iter().all(|segs| {
                matches!(segs.first(), Some(Segment::Literal(text)) if text.starts_with('-') && text != "-")
                    || matches!(segs.as_slice(), [Segment::Literal(text), _, ..] if text == "-")
            })
    }
}

/// What `gate policy lint` says about one token of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagNote {
    /// The token as written in the pattern.
    pub token: String,
    pub message: String,
    pub hint: String,
}

impl Pattern {
    /// Notes on the flags this pattern names: which spellings a literal flag also
    /// matches, a glob that matches only some spellings of an option, and an
    /// allow rule's flag cluster for a program the table does not know.
    pub fn flag_notes(&self, grammars: &Grammars<'_>, allow: bool) -> Vec<FlagNote> {
        let mut notes = Vec::new();
        for name in self.program_names().unwrap_or_default() {
            let grammar = grammar_for(grammars, &name);
            // `chmod/chown/chgrp` share a grammar: one note for all of them.
            let program = if grammar.names.is_empty() {
                name.clone()
            } else {
                grammar.names.join("/")
            };
            let mut walk = PatternWalk::new(&grammar);
            let mut i = 1;
            while let Some(token) = self.tokens.get(i) {
                i += 1;
                let Token::Arg { glob, .. } = token else {
                    continue;
                };
                let literal = glob.literal_text();
                if walk.ended() || literal == Some("--") || !glob.starts_with_literal_dash() {
                    if let Some(text) = literal.filter(|t| !t.starts_with('-')) {
                        walk.operand(text);
                    }
                    continue;
                }
                let note = match literal {
                    Some(text) if grammar.style.generic => {
                        (allow && is_short_cluster(text)).then(|| FlagNote {
                            token: text.to_string(),
                            message: format!(
                                "gate's option table does not know {name}: this allow rule \
                                 matches `{text}` only as written"
                            ),
                            hint: format!(
                                "declare {name}'s options with [[options]] (program = \"{name}\") \
                                 so every spelling of them matches"
                            ),
                        })
                    }
                    Some(text) => {
                        let given = walk.options(text);
                        if given.iter().any(|g| matches!(g.value, Some(Value::Next))) {
                            i += 1;
                        }
                        let implied: Vec<String> = if allow {
                            Vec::new()
                        } else {
                            given
                                .iter()
                                .flat_map(|g| walk.implied_by(&g.name))
                                .collect()
                        };
                        spellings_note(&program, text, &given, &implied)
                    }
                    None => partial_glob_note(&program, glob, &grammar),
                };
                notes.extend(note);
            }
        }
        notes.dedup();
        notes
    }
}

/// `-ab`, `-xvf`: what reads as a cluster of short flags (`-name` may be one
/// option of its own; nothing is said about it).
fn is_short_cluster(text: &str) -> bool {
    let letters = &text[1..];
    !text.starts_with("--")
        && (2..=3).contains(&letters.len())
        && letters.bytes().all(|b| b.is_ascii_alphabetic())
        && letters
            .bytes()
            .enumerate()
            .all(|(i, b)| !letters.as_bytes()[..i].contains(&b))
}

/// A flag written in a spelling other than its canonical one, or a cluster:
/// say what it is and which spellings the rule matches too.
fn spellings_note(
    program: &str,
    text: &str,
    given: &[crate::policy::flags::Given<'_>],
    implied: &[String],
) -> Option<FlagNote> {
    let known: Vec<_> = given.iter().filter_map(|g| g.opt).collect();
    let canonical: Vec<&str> = known.iter().map(|o| o.canonical()).collect();
    let as_canonical = given.len() == 1 && canonical.first() == Some(&text);
    if known.is_empty() || as_canonical {
        return None;
    }
    let described: Vec<String> = known.iter().map(|opt| opt.spellings.join("/")).collect();
    let mut hint = format!(
        "it matches {}, clustered or apart, in any order",
        described.join(" with ")
    );
    if !implied.is_empty() {
        hint.push_str(&format!(", and {} (which imply it)", implied.join(", ")));
    }
    hint.push_str(&format!("; write `{}` to say so", canonical.join(" ")));
    Some(FlagNote {
        token: text.to_string(),
        message: format!("`{text}` is {program}'s {}", canonical.join(" ")),
        hint,
    })
}

/// A glob over flags that matches some spellings of an option but not all.
fn partial_glob_note(program: &str, glob: &Glob, grammar: &Scope) -> Option<FlagNote> {
    let mut scopes = vec![grammar];
    let mut i = 0;
    while let Some(scope) = scopes.get(i) {
        scopes.extend(scope.subcommands.iter());
        i += 1;
    }
    let opt = scopes.iter().flat_map(|s| &s.options).find(|opt| {
        let hits = opt.spellings.iter().filter(|s| glob.is_match(s)).count();
        hits > 0 && hits < opt.spellings.len() && !glob.is_match(opt.canonical())
    })?;
    let missed: Vec<&str> = opt
        .spellings
        .iter()
        .filter(|s| !glob.is_match(s))
        .map(String::as_str)
        .collect();
    Some(FlagNote {
        token: glob.as_str().to_string(),
        message: format!(
            "`{}` matches some spellings of {program}'s {} but not {}",
            glob.as_str(),
            opt.canonical(),
            missed.join(", ")
        ),
        hint: format!(
            "write `{}`, which matches every spelling of it ({})",
            opt.canonical(),
            opt.spellings.join(", ")
        ),
    })
}
