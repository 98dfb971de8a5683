//! A shell line split into simple commands and words, each word with its byte
//! span, so the argv-aware pass can read a `sh -c` string (quotes, escapes and
//! all) as the program will, and mask exactly the words that hold a secret.
//!
//! Deliberately small: quoting, escapes, ANSI-C `$'..'`, comments and the
//! operators that end a command. It never fails: unterminated quotes run to the
//! end of the line. It is not the policy's parser and decides nothing but masking.

use super::MASK;
use super::argv::{Arg, mask_command};
use super::rule::Mode;
use std::ops::Range;

/// One word: where it is in the line, its value after quote removal, and
/// whether any of it was single-quoted (so `$NAME` in it is literal).
#[derive(Debug)]
struct Word {
    span: Range<usize>,
    value: String,
    literal: bool,
}

/// The line with every word the argv-aware pass finds secret masked; `None` if
/// nothing changed. A word written with quotes or escapes is also given, unquoted,
/// to `nested` (the whole redactor), so a secret inside `'{"password": "x"}'` or
/// a quoted inner shell line is found as the program will read it.
pub(super) fn mask_line(
    line: &str,
    mode: Mode,
    nested: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for command in commands(line) {
        let args: Vec<Arg<'_>> = command
            .iter()
            .map(|w| Arg {
                value: &w.value,
                expands: mode == Mode::Shell && !w.literal,
            })
            .collect();
        for (word, masked) in command.iter().zip(mask_command(&args)) {
            let written = &line[word.span.clone()];
            let replacement = match masked {
                Some(masked) => Some(requote(written, &masked)),
                None if written != word.value => {
                    nested(&word.value).map(|inner| requote(written, &inner))
                }
                None => None,
            };
            if let Some(replacement) = replacement {
                edits.push((word.span.clone(), replacement));
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = line.to_owned();
    for (span, replacement) in edits.into_iter().rev() {
        out.replace_range(span, &replacement);
    }
    Some(out)
}

/// `word` written the way the original was, when its quotes can hold it: a
/// reader sees `--user 'admin:****'` for `--user 'admin:pw'`.
fn requote(written: &str, word: &str) -> String {
    if word == MASK {
        return word.to_owned();
    }
    let quoted = |q: char| written.len() > 1 && written.starts_with(q) && written.ends_with(q);
    if quoted('\'') && !word.contains('\'') {
        return format!("'{word}'");
    }
    if quoted('"') {
        let mut escaped = String::with_capacity(word.len() + 2);
        for c in word.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        return format!("\"{escaped}\"");
    }
    quote(word)
}

/// A word as a shell would read it back: bare when safe, else single-quoted.
fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-*".contains(c);
    if !word.is_empty() && word.chars().all(safe) || word == MASK {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The simple commands of `line`, each a list of words.
fn commands(line: &str) -> Vec<Vec<Word>> {
    let mut splitter = Splitter::default();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ';' | '&' | '|' | '(' | ')' | '`' | '\n' => splitter.end_command(),
            '<' | '>' => splitter.end_word(),
            c if c.is_whitespace() => splitter.end_word(),
            '#' if splitter.word.is_none() => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '\'' => {
                let word = splitter.word_at(i);
                word.literal = true;
                for (_, c) in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.value.push(c);
                }
            }
            '"' => {
                let word = splitter.word_at(i);
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next_if(|&(_, n)| "$`\"\\\n".contains(n)) {
                            Some((_, n)) => word.value.push(n),
                            None => word.value.push('\\'),
                        },
                        c => word.value.push(c),
                    }
                }
            }
            '\\' => {
                let word = splitter.word_at(i);
                if let Some((_, n)) = chars.next() {
                    word.value.push(n);
                }
            }
            '$' if chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                chars.next();
                let word = splitter.word_at(i);
                word.literal = true;
                ansi_c(&mut chars, &mut word.value);
            }
            c => splitter.word_at(i).value.push(c),
        }
        if let Some(word) = splitter.word.as_mut() {
            word.span.end = chars.peek().map_or(line.len(), |&(j, _)| j);
        }
    }
    splitter.end_command();
    splitter.commands
}

/// The body of `$'...'` with its common escapes decoded.
fn ansi_c(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, out: &mut String) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' => return,
            '\\' => match chars.next().map(|(_, n)| n) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('x') => {
                    let mut hex = String::new();
                    while hex.len() < 2 {
                        match chars.next_if(|&(_, h)| h.is_ascii_hexdigit()) {
                            Some((_, h)) => hex.push(h),
                            None => break,
                        }
                    }
                    let byte = u8::from_str_radix(&hex, 16).ok();
                    out.extend(byte.filter(u8::is_ascii).map(char::from));
                }
                Some(other) => out.push(other),
                None => return,
            },
            c => out.push(c),
        }
    }
}

#[derive(Default)]
struct Splitter {
    word: Option<Word>,
    command: Vec<Word>,
    commands: Vec<Vec<Word>>,
}

impl Splitter {
    /// The word being built, starting one at byte `at` if there is none.
    fn word_at(&mut self, at: usize) -> &mut Word {
        self.word.get_or_insert_with(|| Word {
            span: at..at,
            value: String::new(),
            literal: false,
        })
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            self.command.push(word);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.command.is_empty() {
            self.commands.push(std::mem::take(&mut self.command));
        }
    }
}
