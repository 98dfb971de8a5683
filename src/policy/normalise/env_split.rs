//! `env -S STRING` (`--split-string`): GNU env's own little language, which is not
//! the shell's. Whitespace separates words; `'…'` quotes everything but `\\` and
//! `\'`; `"…"` quotes but keeps escapes; `\_` separates words outside double quotes
//! and is a space inside them; `\c` ends the string; `#` at the start of a word
//! starts a comment; `${NAME}` is replaced from the environment at run time.
//! Anything GNU env rejects is refused here too, so the split is exactly the argv
//! env would run.

/// Split `text` into the words env would run, or say why it cannot be known.
pub(super) fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let (mut single, mut double) = (false, false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => {
                single = !single;
                word.get_or_insert_default();
            }
            '"' if !single => {
                double = !double;
                word.get_or_insert_default();
            }
            ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' if !single && !double => {
                words.extend(word.take());
            }
            '#' if word.is_none() && !single && !double => break,
            '$' if !single => {
                return Err("env -S string uses ${NAME}, known only at run time".into());
            }
            '\\' if single => match chars.clone().next() {
                Some(escaped @ ('\\' | '\'')) => {
                    chars.next();
                    word.get_or_insert_default().push(escaped);
                }
                _ => word.get_or_insert_default().push('\\'),
            },
            '\\' => match escape(chars.next(), double)? {
                Escape::Char(decoded) => word.get_or_insert_default().push(decoded),
                Escape::Separator => words.extend(word.take()),
                Escape::End => break,
            },
            other => word.get_or_insert_default().push(other),
        }
    }
    if single || double {
        return Err("env -S string has an unterminated quote".into());
    }
    words.extend(word);
    Ok(words)
}

enum Escape {
    Char(char),
    Separator,
    End,
}

fn escape(next: Option<char>, double: bool) -> Result<Escape, String> {
    let decoded = match next {
        Some(c @ ('"' | '#' | '$' | '\'' | '\\')) => c,
        Some('_') if double => ' ',
        Some('_') => return Ok(Escape::Separator),
        Some('c') if double => {
            return Err("'\\c' must not appear in a double-quoted env -S string".into());
        }
        Some('c') => return Ok(Escape::End),
        Some('f') => '\x0c',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('v') => '\x0b',
        Some(other) => return Err(format!("invalid sequence '\\{other}' in env -S string")),
        None => return Err("invalid backslash at end of env -S string".into()),
    };
    Ok(Escape::Char(decoded))
}
