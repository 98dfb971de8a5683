//! Typed, spanned reading of a parsed TOML document. Every accessor records a
//! diagnostic and returns `None` on a bad value, so one pass over the document
//! collects every problem instead of stopping at the first.

use super::literal::{literal_position, next_char_end};
use super::{Action, Diagnostic, Glob, PatternError};
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Parse `source` as TOML and read it with `read`: every problem found, sorted by
/// position, on failure. A syntax error is reported alone, since a recovered tree
/// would only produce follow-on noise.
pub(crate) fn read_document<T>(
    source: &str,
    path: &str,
    read: impl FnOnce(&mut Reader<'_>, &DeTable<'_>) -> T,
) -> Result<T, Vec<Diagnostic>> {
    let (document, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        let diagnostics = syntax_errors
            .iter()
            .map(|err| {
                let span = err.span().unwrap_or(0..0);
                Diagnostic::at(source, path, span, err.message().trim().to_string())
            })
            .collect();
        return Err(sorted(diagnostics));
    }
    let mut reader = Reader::new(source, path);
    let value = read(&mut reader, document.get_ref());
    if reader.errors.is_empty() {
        Ok(value)
    } else {
        Err(sorted(reader.errors))
    }
}

fn sorted(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics
}

/// The source being read and the diagnostics found so far.
pub(crate) struct Reader<'s> {
    pub source: &'s str,
    pub path: &'s str,
    pub errors: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub fn new(source: &'s str, path: &'s str) -> Self {
        Reader {
            source,
            path,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        let mut diagnostic = Diagnostic::at(self.source, self.path, span, message);
        diagnostic.hint = hint;
        self.errors.push(diagnostic);
    }

    /// 1-based line of a byte position in the source.
    pub fn line_of(&self, position: usize) -> usize {
        let end = position.min(self.source.len());
        self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Check the document's `version = N`: present, a whole number, and `supported`.
    /// `kind` names the file in messages ("policy"), `kinds` in the hint ("policies").
    pub fn version(&mut self, root: &DeTable<'_>, supported: u32, kind: &str, kinds: &str) {
        let hint = Some(format!(
            "this version of gate reads {kinds} with version = {supported}"
        ));
        let Some(value) = root.get("version") else {
            let add = format!("add version = {supported} at the top of the file");
            self.error(0..0, "missing \"version\"", Some(add));
            return;
        };
        match value.get_ref() {
            DeValue::Integer(n) if n.as_str() == supported.to_string() && n.radix() == 10 => {}
            DeValue::Integer(n) => {
                let message = format!("unsupported {kind} version {n}");
                self.error(value.span(), message, hint);
            }
            _ => self.error(value.span(), "\"version\" must be a whole number", hint),
        }
    }

    /// Report every key of `table` not in `allowed`, suggesting the closest one.
    pub fn reject_unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], section: &str) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                let hint = did_you_mean(name, allowed.iter().copied())
                    .unwrap_or_else(|| format!("{section} accepts: {}", allowed.join(", ")));
                self.error(key.span(), format!("unknown key \"{name}\""), Some(hint));
            }
        }
    }

    fn wrong_type(&mut self, value: &Value<'_>, key: &str, expected: &str) {
        let found = type_name(value.get_ref());
        self.error(
            value.span(),
            format!("\"{key}\" must be {expected}, not {found}"),
            None,
        );
    }

    pub fn table<'v, 'i>(&mut self, value: &'v Value<'i>, key: &str) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => {
                self.wrong_type(value, key, "a table");
                None
            }
        }
    }

    pub fn string(&mut self, value: &Value<'_>, key: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            _ => {
                self.wrong_type(value, key, "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, value: &Value<'_>, key: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            _ => {
                self.wrong_type(value, key, "true or false");
                None
            }
        }
    }

    /// An array of values, or (when `single_ok`) one value standing for a list of one.
    pub fn list<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        key: &str,
        single_ok: bool,
    ) -> Option<Vec<&'v Value<'i>>> {
        match value.get_ref() {
            DeValue::Array(items) => Some(items.iter().collect()),
            DeValue::String(_) if single_ok => Some(vec![value]),
            _ => {
                let expected = if single_ok {
                    "a string or an array of strings"
                } else {
                    "an array"
                };
                self.wrong_type(value, key, expected);
                None
            }
        }
    }

    /// Strings of an array, each with its span; wrong-typed items are reported and skipped.
    pub fn strings(&mut self, value: &Value<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let items = self.list(value, key, false)?;
        let strings = items
            .into_iter()
            .filter_map(|item| Some(Spanned::new(item.span(), self.string(item, key)?)))
            .collect();
        Some(strings)
    }

    /// A positive whole number; `if_zero` is the hint for a 0, which depends on
    /// where the key is: a rule, a default for every request, a limit.
    pub fn count(&mut self, value: &Value<'_>, key: &str, if_zero: &str) -> Option<u32> {
        let DeValue::Integer(integer) = value.get_ref() else {
            self.wrong_type(value, key, "a whole number");
            return None;
        };
        match u32::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(0) => {
                let message = format!("{key} must be at least 1");
                self.error(value.span(), message, Some(if_zero.to_string()));
                None
            }
            Ok(count) => Some(count),
            Err(_) => {
                let message = format!("{key} must be a whole number from 1 to {}", u32::MAX);
                self.error(value.span(), message, None);
                None
            }
        }
    }

    pub fn action(&mut self, value: &Value<'_>, key: &str) -> Option<Action> {
        let text = self.string(value, key)?;
        match text.as_str() {
            "allow" => Some(Action::Allow),
            "approve" => Some(Action::Approve),
            "deny" => Some(Action::Deny),
            other => {
                let names = ["allow", "approve", "deny"];
                let hint = did_you_mean(other, names)
                    .unwrap_or_else(|| "use \"allow\", \"approve\" or \"deny\"".to_string());
                let message = format!("unknown {key} \"{other}\"");
                self.error(value.span(), message, Some(hint));
                None
            }
        }
    }

    /// A duration written as a string with units (`"15m"`, `"1h30m"`). A bare number
    /// is refused with the same hint: its unit would be a guess.
    pub fn duration(&mut self, value: &Value<'_>, key: &str) -> Option<std::time::Duration> {
        let hint = Some(DURATION_HINT.to_string());
        let text = match value.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Integer(n) => {
                let message = format!("\"{key}\" must be a duration with a unit, not a number");
                let hint = format!("write {key} = \"{n}m\" for {n} minutes; {DURATION_HINT}");
                self.error(value.span(), message, Some(hint));
                return None;
            }
            other => {
                let message = format!(
                    "\"{key}\" must be a duration string, not {}",
                    type_name(other)
                );
                self.error(value.span(), message, hint);
                return None;
            }
        };
        match humantime::parse_duration(&text) {
            Ok(duration) if duration.is_zero() => {
                self.error(
                    value.span(),
                    format!("{key} must be longer than zero"),
                    hint,
                );
                None
            }
            Ok(duration) => Some(duration),
            Err(err) => {
                let message = format!("{key} \"{text}\" is not a duration: {err}");
                self.error(value.span(), message, hint);
                None
            }
        }
    }

    pub fn glob(&mut self, value: &Value<'_>, key: &str) -> Option<Glob> {
        let text = self.string(value, key)?;
        Glob::parse(&text)
            .map_err(|err| self.pattern_error(value, &text, key, err))
            .ok()
    }

    /// Report a pattern error at the exact character inside the string literal.
    pub fn pattern_error(&mut self, value: &Value<'_>, text: &str, key: &str, err: PatternError) {
        let position = literal_position(self.source, value.span(), err.offset);
        let end = next_char_end(self.source, position);
        let message = format!("invalid {key} \"{text}\": {}", err.message);
        self.error(position..end, message, err.hint);
    }
}

/// What a duration looks like, for every message about one.
const DURATION_HINT: &str =
    "write a duration as a string with units, such as \"90s\", \"15m\" or \"1h30m\"";

/// `did you mean "x"?` for the candidate closest to `word`, if any is close enough.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|candidate| format!("did you mean \"{candidate}\"?"))
}

/// The candidate most similar to `word`, when similar enough to be a likely typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_need_to_be_close() {
        assert_eq!(
            did_you_mean("aprovers", ["approvers", "quorum"]).as_deref(),
            Some("did you mean \"approvers\"?")
        );
        assert_eq!(did_you_mean("zzz", ["approvers", "quorum"]), None);
    }
}
