//! `gate policy lint`'s warnings: things a policy says that may not mean what
//! its author thinks. Today: how the rules' flags are read (see `flags`).

use super::flags::Grammars;
use super::{Action, Diagnostic, Policy};

impl Policy {
    /// Warnings about the flags the rules' patterns name, each pointing at the
    /// token in `source` (the text this policy was parsed from).
    pub fn flag_warnings(&self, source: &str, path: &str) -> Vec<Diagnostic> {
        let grammars = Grammars {
            declared: &self.options,
        };
        let mut warnings = Vec::new();
        for rule in &self.rules {
            for pattern in &rule.patterns {
                let notes = pattern.flag_notes(&grammars, rule.action == Action::Allow);
                for note in notes {
                    let span = locate(source, pattern.as_str(), &note.token);
                    let message = format!("warning: rule \"{}\": {}", rule.name, note.message);
                    warnings.push(Diagnostic::at(source, path, span, message).with_hint(note.hint));
                }
            }
        }
        warnings
    }
}

/// Where `token` of the pattern `pattern` stands in the policy text: the first
/// quoted occurrence of the pattern, else the first of the token.
fn locate(source: &str, pattern: &str, token: &str) -> std::ops::Range<usize> {
    let start = ["\"", "'"].iter().find_map(|quote| {
        source
            .find(&format!("{quote}{pattern}{quote}"))
            .map(|at| at + 1)
    });
    let within = start.and_then(|at| {
        source[at..at + pattern.len()]
            .find(token)
            .map(|offset| at + offset)
    });
    match within.or_else(|| source.find(token)) {
        Some(at) => at..at + token.len(),
        None => 0..0,
    }
}
