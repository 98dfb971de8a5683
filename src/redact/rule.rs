//! One redaction rule: a regex, which capture group is the secret, and how to trim it.
//!
//! Only the secret group is replaced with [`MASK`]; everything else in the match
//! (`--password=`, `https://user:`, `Bearer `) is kept so a reader still sees what
//! the command does. This module never decides *what* is secret; the detectors do.

use super::MASK;
use regex::{Captures, Regex};
use std::ops::Range;

/// Decides which bytes of a captured secret to mask (a range within it, so
/// quotes or a trailing `,key=` can stay); `None` leaves it alone (a `$VARIABLE`
/// reference, an empty value, a name that is not a secret's). Gets the whole
/// capture for context.
pub(crate) type Refine = fn(&Captures<'_>, &str, Mode) -> Option<Range<usize>>;

/// What kind of text is being redacted, which decides what `$NAME` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A shell line or free text: an unquoted or double-quoted `$NAME` is a
    /// reference to a secret, not the secret, and is shown.
    Shell,
    /// One argv element as the program receives it: no shell expands it any more,
    /// so `--password=$ecret` is the password itself.
    Literal,
}

/// A named regex whose `secret` group (or group 1, or the whole match) is masked.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) regex: Regex,
    group: usize,
    refine: Refine,
}

impl Rule {
    /// A rule masking the group named `secret`, else group 1, else the whole match.
    pub(crate) fn new(regex: Regex, refine: Refine) -> Rule {
        let group = secret_group_index(&regex);
        Rule {
            regex,
            group,
            refine,
        }
    }

    /// The text with every secret this rule finds masked, or `None` if nothing changed.
    pub(crate) fn mask(&self, text: &str, mode: Mode) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut pos = 0;
        let mut changed = false;
        while pos <= text.len() {
            let Some(caps) = self.regex.captures_at(text, pos) else {
                break;
            };
            let Some(whole) = caps.get(0) else { break };
            let mut resume = whole.end();
            if let Some((start, end)) = self.secret_span(&caps, mode) {
                out.push_str(&text[copied..start]);
                out.push_str(MASK);
                changed |= &text[start..end] != MASK;
                copied = end;
                resume = end;
            }
            pos = if resume > pos {
                resume
            } else {
                next_char_boundary(text, pos)
            };
        }
        if !changed {
            return None;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }

    /// Byte range of the secret in this match, after refinement; `None` = mask nothing.
    fn secret_span(&self, caps: &Captures<'_>, mode: Mode) -> Option<(usize, usize)> {
        let secret = caps.get(self.group)?;
        let range = (self.refine)(caps, secret.as_str(), mode)?;
        let masked = secret.as_str().get(range.clone())?;
        if masked.is_empty() {
            return None;
        }
        Some((secret.start() + range.start, secret.start() + range.end))
    }
}

/// Index of the group named `secret`, else 1 if the regex has groups, else 0.
fn secret_group_index(regex: &Regex) -> usize {
    let named = regex
        .capture_names()
        .position(|name| name == Some("secret"));
    match named {
        Some(index) => index,
        None if regex.captures_len() > 1 => 1,
        None => 0,
    }
}

/// Position just past the character at `pos` (or past the end, to stop the scan).
fn next_char_boundary(text: &str, pos: usize) -> usize {
    text[pos..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| pos + c.len_utf8())
}

/// Mask the whole captured secret.
pub(crate) fn whole(_: &Captures<'_>, secret: &str, _: Mode) -> Option<Range<usize>> {
    Some(0..secret.len())
}

/// Mask the secret unless it is only a shell variable reference (`$TOKEN`,
/// `"${TOKEN}"`) in a shell line, which names a secret without revealing it.
/// Single-quoted, or in a literal argv element, `$TOKEN` is the value itself.
pub(crate) fn unless_variable(_: &Captures<'_>, secret: &str, mode: Mode) -> Option<Range<usize>> {
    is_value(secret, mode).then_some(0..secret.len())
}

/// Whether `value` (as written, quotes and all) reveals something: not empty, and
/// not a variable reference where a shell would expand it.
pub(crate) fn is_value(value: &str, mode: Mode) -> bool {
    let inner = value.trim_matches(|c| c == '"' || c == '\'' || c == '\\');
    if inner.is_empty() {
        return false;
    }
    !(mode == Mode::Shell && !value.starts_with('\'') && is_variable_reference(inner))
}

/// The part of a quoted value between its quotes (`"x"`, `'x'`, `\"x\"`), or all of it.
pub(crate) fn between_quotes(value: &str) -> Range<usize> {
    for quote in ["\\\"", "\"", "'"] {
        if let Some(rest) = value.strip_prefix(quote) {
            let end = rest
                .strip_suffix(quote)
                .map_or(value.len(), |inner| quote.len() + inner.len());
            return quote.len()..end.max(quote.len());
        }
    }
    0..value.len()
}

/// `$NAME`, `${NAME}`, or a lone `$` (the start of `$(...)`, cut by the value pattern).
pub(crate) fn is_variable_reference(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else {
        return false;
    };
    let name = match rest.strip_prefix('{') {
        Some(braced) => match braced.strip_suffix('}') {
            Some(name) => name,
            None => return false,
        },
        None => rest,
    };
    // Variables are named in one case (`$TOKEN`, `$db_pass`); `$Xk9fQ2` in mixed
    // case is a generated secret that happens to start with `$`.
    let one_case = !(name.bytes().any(|b| b.is_ascii_lowercase())
        && name.bytes().any(|b| b.is_ascii_uppercase()));
    one_case && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str) -> Rule {
        Rule::new(Regex::new(pattern).unwrap(), whole)
    }

    #[test]
    fn masks_only_the_secret_group() {
        let r = rule(r"pw=(?P<secret>\w+);");
        assert_eq!(
            r.mask("a pw=abc; b", Mode::Shell).as_deref(),
            Some("a pw=****; b")
        );
    }

    #[test]
    fn falls_back_to_group_one_then_whole_match() {
        assert_eq!(
            rule(r"k:(\w+)").mask("k:v", Mode::Shell).as_deref(),
            Some("k:****")
        );
        assert_eq!(
            rule(r"sec\d+").mask("x sec42 y", Mode::Shell).as_deref(),
            Some("x **** y")
        );
    }

    #[test]
    fn reports_no_change_when_nothing_or_only_masks_match() {
        let r = rule(r"pw=(?P<secret>[\w*]+)");
        assert_eq!(r.mask("nothing here", Mode::Shell), None);
        assert_eq!(r.mask("pw=****", Mode::Shell), None);
    }

    #[test]
    fn empty_matches_and_unicode_never_panic() {
        let r = rule(r"(?P<secret>x*)");
        assert_eq!(r.mask("ééxé", Mode::Shell).as_deref(), Some("éé****é"));
    }

    #[test]
    fn variable_references_are_recognised() {
        for text in ["$TOKEN", "${TOKEN}", "$", "$A_1"] {
            assert!(is_variable_reference(text), "{text}");
        }
        for text in ["abc", "$TOK-EN", "${TOKEN", "x$Y"] {
            assert!(!is_variable_reference(text), "{text}");
        }
    }
}
