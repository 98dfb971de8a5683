//! The line an approved call runs: `GATE --ticket ID -- BASH -c LINE`, every word
//! single-quoted, and the recognition of exactly that line when an agent whose
//! host cannot rewrite a command runs it as told.

use crate::guard::shell_quote;
use crate::paths::Home;
use std::path::PathBuf;

fn gate_executable() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "gate".into())
}

pub fn ticket_line(request_id: &str, argv: &[String]) -> String {
    let mut words = vec![
        gate_executable(),
        "--ticket".into(),
        request_id.to_string(),
        "--".into(),
    ];
    words.extend(argv.iter().cloned());
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The request id when `line` is exactly a line this hook told the agent to run
/// (`GATE --ticket ID -- BASH -c LINE`, quoted as [`ticket_line`] quotes) and the
/// ticket is still in place. That `gate` judges, verifies and claims everything
/// itself, so the hook lets it run; anything else is judged as usual.
pub fn issued_ticket(line: &str, home: &Home) -> Option<String> {
    let words = single_quoted_words(line)?;
    let [gate, flag, id, dashes, bash, c, inner] = words.as_slice() else {
        return None;
    };
    let expected_bash = super::bash::argv(inner).ok()?.remove(0);
    let shape = *gate == gate_executable()
        && flag == "--ticket"
        && dashes == "--"
        && *bash == expected_bash
        && c == "-c"
        && ticket_line(id, &words[4..]) == line;
    let valid_id = id
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    let ticket: PathBuf = home.data.join("tickets").join(id);
    (shape && valid_id && !id.is_empty() && ticket.is_file()).then(|| id.clone())
}

/// `'a' 'b'` → `[a, b]`, with `'\''` for a quote inside a word; `None` for
/// anything else a shell would read differently.
fn single_quoted_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        let mut word = String::new();
        rest = rest.strip_prefix('\'')?;
        loop {
            let end = rest.find('\'')?;
            word.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix("\\''") {
                Some(after) => {
                    word.push('\'');
                    rest = after;
                }
                None => break,
            }
        }
        words.push(word);
        if rest.is_empty() {
            return Some(words);
        }
        rest = rest.strip_prefix(' ')?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_round_trip_and_nothing_else_passes() {
        let words = vec!["/x/gate".to_string(), "it's".into(), "a b".into()];
        let line = words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(single_quoted_words(&line), Some(words));
        for bad in [
            "'a' 'b'; rm -rf /",
            "'a'  'b'",
            "a 'b'",
            "'a' 'b",
            "'a'$(x)",
        ] {
            assert_eq!(single_quoted_words(bad), None, "{bad}");
        }
    }
}
