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
//! more than running them, so text is first checked for the literal words each
//! group of built-in detectors needs ([`might_hold_secret`] for the shape and
//! context detectors, the providers table's own prefixes for its keys); only a
//! group whose word the text has is compiled, as one [`RegexSet`] that finds the
//! candidates in a single scan, and a detector's own regex only when the set says
//! it matches.

mod argv;
mod context;
mod names;
mod providers;
mod rule;
mod secret;
mod tokens;
mod tools;
mod words;

pub use secret::{Secret, SecretString};

use regex::{Regex, RegexSet};
use rule::{Mode, Refine, Rule};
use std::sync::LazyLock;

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
        // Each group is compiled only when the text has one of its words.
        let groups: [(bool, &LazyLock<Result<RuleSet, BadPattern>>); 2] = [
            (might_hold_secret(text), &SHAPES),
            (might_hold_provider_key(text), &PROVIDERS),
        ];
        for (needed, group) in groups {
            if !needed {
                continue;
            }
            match LazyLock::force(group) {
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
    compiled: std::sync::OnceLock<Result<Rule, BadPattern>>,
}

impl Clone for RuleSet {
    fn clone(&self) -> RuleSet {
        RuleSet {
            rules: self
                .rules
                .iter()
                .map(|rule| LazyRule {
                    spec: rule.spec.clone(),
                    compiled: std::sync::OnceLock::new(),
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
                compiled: std::sync::OnceLock::new(),
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

/// Lower-case words at least one of which every built-in detector needs to match
/// (ASCII case-insensitively). A detector added without its word here fails its
/// own tests, because [`Redactor::redact`] only runs detectors behind this check.
const TRIGGERS: &[&str] = &[
    "-----begin",
    "akia",
    "asia",
    "aws_secret",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "xapp-",
    "hooks.slack",
    "eyj",
    "://",
    "authorization",
    "token",
    "bearer",
    "pass",
    "pwd",
    "pw",
    "psk",
    "secret",
    "key",
    "auth",
    "cookie",
    "creds",
    "pat",
    "sig",
    "code=",
    "session",
    "curl",
    "mysql",
    "mariadb",
];

/// Whether `text` could hold a secret the shape and context detectors find.
pub(crate) fn might_hold_secret(text: &str) -> bool {
    contains_any(text, &TRIGGER_INDEX)
}

/// Whether `text` could hold a key from the providers table.
fn might_hold_provider_key(text: &str) -> bool {
    contains_any(text, &PROVIDER_INDEX)
}

fn contains_any(text: &str, index: &[Vec<&'static str>]) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        let rest = &bytes[i..];
        index[usize::from(rest[0].to_ascii_lowercase())]
            .iter()
            .any(|word| {
                rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
            })
    })
}

/// Trigger words by their first byte: one pass over the text, no regex to build
/// and no allocation, so a clean command costs next to nothing.
fn index_of(words: impl Iterator<Item = &'static str>) -> Vec<Vec<&'static str>> {
    let mut index = vec![Vec::new(); 256];
    for word in words {
        if let Some(&first) = word.as_bytes().first() {
            index[usize::from(first)].push(word);
        }
    }
    index
}

static TRIGGER_INDEX: LazyLock<Vec<Vec<&'static str>>> =
    LazyLock::new(|| index_of(TRIGGERS.iter().copied()));

static PROVIDER_INDEX: LazyLock<Vec<Vec<&'static str>>> =
    LazyLock::new(|| index_of(providers::triggers()));

/// The shape and context detectors, compiled once per process on first need. A
/// failure here is a bug in a built-in pattern: it fails the unit tests, and at
/// run time masks whole texts rather than panicking or letting a secret through.
static SHAPES: LazyLock<Result<RuleSet, BadPattern>> = LazyLock::new(|| {
    let mut specs = context::specs();
    specs.extend(tokens::specs());
    RuleSet::compile(specs)
});

/// The providers table's detectors, compiled apart from the others so that a
/// word that only looks like an option name (`--author`, `path`) does not build
/// them, and a provider's prefix does not build the rest.
static PROVIDERS: LazyLock<Result<RuleSet, BadPattern>> =
    LazyLock::new(|| RuleSet::compile(providers::specs()));

#[cfg(test)]
mod tests;
