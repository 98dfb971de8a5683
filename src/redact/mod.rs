//! Secret redaction: everything that leaves the process (audit log, broker, messages)
//! passes through here first. Built-in detectors plus the policy's `[redact]` regexes.
//!
//! Owns: the detectors (`tokens` and the `providers` table by shape, `context` by
//! position, with `names` deciding which names hold secrets), the argv-aware pass
//! (`argv`, driven by the `tools` table, also applied to the words of a shell line
//! split by `words`), and [`Secret`] for credentials the program itself holds.
//! Must never: return or log the text it was given before masking, panic on any
//! input, or do I/O. Redaction is idempotent: `redact(redact(x)) == redact(x)`.
//!
//! Cost: redaction runs on every gate call, and compiling the detectors costs far
//! more than running them, so the built-in detectors come in small groups, each
//! with the literal words (and the `-`, `=` or `:` around them) its matches need
//! (`trigger`). A text is first scanned for every group's words at once; only a
//! group whose trigger the text has is compiled, as one [`RegexSet`] that finds
//! the candidates in a single scan, and a detector's own regex only when the set
//! says it matches.

mod argv;
mod context;
mod names;
mod providers;
mod rule;
mod secret;
mod tokens;
mod tools;
mod trigger;
mod words;

pub use secret::{Secret, SecretString};

use regex::{Regex, RegexSet};
use rule::{Mode, Refine, Rule};
use std::sync::{LazyLock, OnceLock};
use trigger::{Group, TriggerIndex};

/// What a redacted secret is replaced with.
pub const MASK: &str = "****";

/// Masking can expose a new match (a token inside a header value), so a line is
/// re-scanned until it stops changing; real inputs settle in two passes.
const MAX_PASSES: usize = 4;

/// Quoted words inside quoted words (`ssh h "sh -c 'mysql -pX'"`) are read this deep.
const MAX_DEPTH: usize = 3;

/// Built-in detectors plus the policy's extra patterns, ready to apply.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// `None` without policy patterns: compiling even an empty set costs time on
    /// every gate call.
    extra: Option<RuleSet>,
}

/// A `[redact]` pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern {
    pub pattern: String,
    pub message: String,
}

impl std::fmt::Display for BadPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad redact pattern `{}`: {}", self.pattern, self.message)
    }
}

impl std::error::Error for BadPattern {}

impl Redactor {
    /// Built-in detectors plus extra regexes (from the policy's `[redact]`).
    /// An extra regex masks its `secret` group, else group 1, else the whole match.
    pub fn new(extra: &[String]) -> Result<Redactor, BadPattern> {
        let specs = extra.iter().enumerate().map(|(i, pattern)| {
            Spec::new(
                format!("policy-pattern-{}", i + 1),
                pattern.as_str(),
                rule::whole,
            )
        });
        let specs: Vec<Spec> = specs.collect();
        let extra = if specs.is_empty() {
            None
        } else {
            Some(RuleSet::compile(specs)?)
        };
        Ok(Redactor { extra })
    }

    /// Redact secrets inside one string (a log line, a shell line, a reason).
    /// A `$NAME` a shell would expand there is a reference and stays visible.
    pub fn redact(&self, text: &str) -> String {
        self.redact_text(text, Mode::Shell)
    }

    /// Redact an argv, aware of options whose value is a secret (`--password
    /// VALUE`, `docker login -p VALUE`, `mysql -pVALUE`, `smbclient -U user%PASS`).
    /// Each element is also redacted as text, so a `sh -c` line gets the full
    /// treatment; an element that is not a shell line is taken literally (a
    /// `--password=$ecret` there is the password, not a variable).
    pub fn redact_argv(&self, argv: &[String]) -> Vec<String> {
        let args: Vec<argv::Arg<'_>> = argv
            .iter()
            .map(|value| argv::Arg {
                value,
                expands: false,
            })
            .collect();
        let masked = argv::mask_command(&args);
        let shell_lines = argv::shell_lines(argv);
        argv.iter()
            .zip(masked)
            .zip(shell_lines)
            .map(|((arg, masked), is_line)| match is_line {
                // A shell line is read as one, word by word, not as one value.
                true => self.redact_text(arg, Mode::Shell),
                false => self.redact_text(masked.as_deref().unwrap_or(arg), Mode::Literal),
            })
            .collect()
    }

    fn redact_text(&self, text: &str, mode: Mode) -> String {
        self.redact_text_at(text, mode, 0)
    }

    /// `depth`: how many quoted words deep `text` is (`ssh h "sh -c '...'"`).
    fn redact_text_at(&self, text: &str, mode: Mode, depth: usize) -> String {
        let nested = |inner: &str| {
            let redacted = self.redact_text_at(inner, mode, depth + 1);
            (redacted != inner).then_some(redacted)
        };
        let mut current = text.to_owned();
        for _ in 0..MAX_PASSES {
            match self.one_pass(&current, mode) {
                Some(next) => current = next,
                None => break,
            }
        }
        // The shapes first, so `{'password': 'x'}` keeps its quotes; then the
        // words, for what only the word before a value can tell.
        // A single bare word has no word before it to tell anything.
        let words = current.contains(|c: char| c.is_whitespace() || "'\"\\;&|()`".contains(c));
        if depth < MAX_DEPTH
            && words
            && let Some(masked) = words::mask_line(&current, mode, &nested)
        {
            current = masked;
        }
        current
    }

    /// Apply every rule that matches somewhere in `text`; `None` if nothing changed.
    fn one_pass(&self, text: &str, mode: Mode) -> Option<String> {
        let mut current: Option<String> = None;
        let mut builtin = Vec::new();
        // Each group is compiled only when the text has one of its triggers.
        let needed = BUILT_IN.index.needed(text);
        for group in (0..BUILT_IN.groups.len()).filter(|&g| needed.contains(g)) {
            match BUILT_IN.rules(group) {
                Ok(rules) => builtin.push(rules),
                // A broken built-in detector (a bug the unit tests catch) must not
                // let secrets through: mask everything instead.
                Err(_) => return (text != MASK).then(|| MASK.to_string()),
            }
        }
        let builtin = builtin.into_iter().flat_map(|rules| rules.candidates(text));
        let extra = self.extra.iter().flat_map(|rules| rules.candidates(text));
        for lazy in builtin.chain(extra) {
            let Ok(rule) = lazy.rule() else {
                return (text != MASK).then(|| MASK.to_string());
            };
            if let Some(next) = rule.mask(current.as_deref().unwrap_or(text), mode) {
                current = Some(next);
            }
        }
        current
    }
}

/// A detector before compilation: a name (for errors), a pattern and its refinement.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    name: String,
    pattern: String,
    refine: Refine,
}

impl Spec {
    pub(crate) fn new(name: impl Into<String>, pattern: impl Into<String>, refine: Refine) -> Spec {
        Spec {
            name: name.into(),
            pattern: pattern.into(),
            refine,
        }
    }
}

/// The rules and a [`RegexSet`] of the same patterns for the one-scan pre-check.
/// Compiling a rule on its own costs more than the set; a rule is compiled only
/// when the set says it matches the text at hand, so a command whose words merely
/// look like a trigger (`--author`, `path`) pays for the set alone.
#[derive(Debug)]
struct RuleSet {
    rules: Vec<LazyRule>,
    set: RegexSet,
}

/// A detector compiled on first use.
#[derive(Debug)]
struct LazyRule {
    spec: Spec,
    compiled: OnceLock<Result<Rule, BadPattern>>,
}

impl Clone for RuleSet {
    fn clone(&self) -> RuleSet {
        RuleSet {
            rules: self
                .rules
                .iter()
                .map(|rule| LazyRule {
                    spec: rule.spec.clone(),
                    compiled: OnceLock::new(),
                })
                .collect(),
            set: self.set.clone(),
        }
    }
}

impl LazyRule {
    /// The compiled rule; a pattern that does not compile on its own (it did in
    /// the set) is an error the caller treats as "mask everything".
    fn rule(&self) -> Result<&Rule, &BadPattern> {
        self.compiled
            .get_or_init(|| compile_rule(&self.spec))
            .as_ref()
    }
}

impl RuleSet {
    fn compile(specs: Vec<Spec>) -> Result<RuleSet, BadPattern> {
        let set = RegexSet::new(specs.iter().map(|spec| spec.pattern.as_str())).map_err(|e| {
            // Name the pattern that fails, not the whole set.
            specs
                .iter()
                .find_map(|spec| compile_rule(spec).err())
                .unwrap_or(BadPattern {
                    pattern: "(all patterns together)".into(),
                    message: e.to_string(),
                })
        })?;
        let rules = specs
            .into_iter()
            .map(|spec| LazyRule {
                spec,
                compiled: OnceLock::new(),
            })
            .collect();
        Ok(RuleSet { rules, set })
    }

    /// The rules whose pattern matches somewhere in `text`, in declaration order.
    fn candidates<'a>(&'a self, text: &str) -> impl Iterator<Item = &'a LazyRule> + 'a {
        let matched = if self.rules.is_empty() {
            Vec::new()
        } else {
            self.set.matches(text).into_iter().collect()
        };
        matched.into_iter().filter_map(|i| self.rules.get(i))
    }
}

fn compile_rule(spec: &Spec) -> Result<Rule, BadPattern> {
    let regex = Regex::new(&spec.pattern).map_err(|e| BadPattern {
        pattern: spec.pattern.clone(),
        message: format!("{} ({})", first_line(&e.to_string()), spec.name),
    })?;
    Ok(Rule::new(regex, spec.refine))
}

/// The regex crate's errors span several lines (pattern, caret, message); keep
/// the message so it fits on one line of a policy diagnostic.
fn first_line(message: &str) -> &str {
    message
        .lines()
        .rev()
        .find(|line| line.starts_with("error:"))
        .unwrap_or(message)
}

/// The built-in detectors in the order they apply: the context detectors, the
/// shape detectors, the providers table. Each group is compiled once per process,
/// the first time a text has one of its triggers.
#[derive(Debug)]
struct BuiltIn {
    groups: Vec<Group>,
    compiled: Vec<OnceLock<Result<RuleSet, BadPattern>>>,
    index: TriggerIndex,
}

impl BuiltIn {
    fn new() -> BuiltIn {
        let mut groups = context::groups();
        groups.extend(tokens::groups());
        groups.extend(providers::groups());
        BuiltIn {
            compiled: groups.iter().map(|_| OnceLock::new()).collect(),
            index: TriggerIndex::new(&groups),
            groups,
        }
    }

    /// A group's rules. A failure here is a bug in a built-in pattern: it fails
    /// the unit tests, and at run time masks whole texts rather than panicking or
    /// letting a secret through.
    fn rules(&self, group: usize) -> &Result<RuleSet, BadPattern> {
        self.compiled[group].get_or_init(|| RuleSet::compile(self.groups[group].specs()))
    }
}

static BUILT_IN: LazyLock<BuiltIn> = LazyLock::new(BuiltIn::new);

#[cfg(test)]
mod tests;
