//! Shell words: quote removal, brace expansion, and noticing what is only known at
//! run time (expansions, substitutions, pathname patterns).

use super::globs;
use brush_parser::ParserOptions;
use brush_parser::word::{
    self, BraceExpressionMember, BraceExpressionOrText, WordPiece, WordPieceWithSource,
};

/// Most words one word may brace-expand into before we stop trying.
const MAX_BRACE_WORDS: usize = 256;

/// One shell word after quote removal.
#[derive(Debug, Default, Clone)]
pub(super) struct WordInfo {
    /// The word with quotes removed; expansions are kept as their source text.
    pub text: String,
    /// Holds a parameter or arithmetic expansion, whose value is known only at run time.
    pub expanded: bool,
    /// Holds an unquoted `*`, `?` or `[…]`, which the shell may expand to file names.
    pub pathname_pattern: bool,
    /// Holds a tilde prefix (`~`, `~user`), replaced by a home directory.
    pub tilde: bool,
    /// May become zero or several words: an unquoted expansion (split on IFS),
    /// `"$@"`, `"${a[@]}"`, or a file-name pattern.
    pub splits: bool,
    /// What each word it becomes can look like, as a pattern glob: quoted and
    /// literal text escaped, every expansion a `*`. `None` when even that is
    /// unknown (an extglob, a splitting expansion).
    pub values: Option<String>,
    /// Bodies of the command substitutions in the word, to analyse on their own.
    pub substitutions: Vec<String>,
    /// Why the word cannot be read at all, if it cannot.
    pub problem: Option<String>,
}

impl WordInfo {
    /// Whether the word's value is only known at run time.
    pub fn is_runtime(&self) -> bool {
        self.expanded || self.pathname_pattern || self.tilde
    }

    /// Why this word makes the command it is part of opaque, if it does.
    pub fn opaque_reason(&self) -> Option<String> {
        if let Some(problem) = &self.problem {
            return Some(problem.clone());
        }
        (!self.substitutions.is_empty())
            .then(|| "command substitution: its output is only known at run time".to_string())
    }
}

pub(super) fn parser_options() -> ParserOptions {
    ParserOptions::default()
}

/// Analyse one raw word as it appears in the source.
pub(super) fn analyse(raw: &str) -> WordInfo {
    let mut info = WordInfo {
        values: Some(String::new()),
        ..WordInfo::default()
    };
    match word::parse(raw, &parser_options()) {
        Ok(pieces) => {
            add_pieces(&mut info, raw, &pieces, false);
            if info.splits && info.expanded {
                info.values = None;
            }
        }
        Err(_) => {
            info.text = brush_parser::unquote_str(raw);
            info.problem = Some(format!("cannot parse the word {raw:?}"));
        }
    }
    info
}

fn add_pieces(info: &mut WordInfo, raw: &str, pieces: &[WordPieceWithSource], quoted: bool) {
    for piece in pieces {
        let source = raw
            .get(piece.start_index..piece.end_index)
            .unwrap_or_default();
        add_piece(info, raw, &piece.piece, source, quoted);
    }
}

fn add_piece(info: &mut WordInfo, raw: &str, piece: &WordPiece, source: &str, quoted: bool) {
    match piece {
        WordPiece::Text(text) if !quoted => {
            let pattern = globs::is_pathname_pattern(text);
            info.pathname_pattern |= pattern;
            info.splits |= pattern;
            match globs::unquoted_values(text) {
                Some(glob) => add_values(info, &glob),
                None => info.values = None,
            }
            info.text.push_str(text);
        }
        WordPiece::Text(text) | WordPiece::SingleQuotedText(text) => add_literal(info, text),
        WordPiece::AnsiCQuotedText(text) => add_literal(info, &super::ansi_c::decode(text)),
        WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
            add_pieces(info, raw, inner, true);
        }
        WordPiece::EscapeSequence(escaped) => {
            let literal = escaped.strip_prefix('\\').unwrap_or(escaped);
            // Inside double quotes a backslash before an ordinary character stays.
            let keeps_backslash = quoted && !literal.starts_with(['"', '\\', '$', '`']);
            add_literal(info, if keeps_backslash { escaped } else { literal });
        }
        WordPiece::TildeExpansion(_) => {
            // A home directory: an absolute path.
            info.tilde = true;
            add_values(info, "/*");
            info.text.push_str(source);
        }
        WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
            let inner = source.strip_prefix("$((").unwrap_or(source);
            if inner.contains("$(") || inner.contains('`') {
                info.problem = Some("command substitution inside an expansion".into());
            } else if let Some(reason) = globs::expansion_runs_code(source) {
                info.problem = Some(reason.into());
            }
            info.expanded = true;
            // Unquoted, the value is split into words; `"$@"` and `"${a[@]}"` are lists.
            info.splits |= !quoted || source.contains('@');
            add_values(info, "*");
            info.text.push_str(source);
        }
        WordPiece::CommandSubstitution(body) | WordPiece::BackquotedCommandSubstitution(body) => {
            info.substitutions.push(body.clone());
            info.text.push_str(source);
        }
    }
}

fn add_literal(info: &mut WordInfo, text: &str) {
    add_values(info, &globs::escape(text));
    info.text.push_str(text);
}

fn add_values(info: &mut WordInfo, glob: &str) {
    if let Some(values) = &mut info.values {
        values.push_str(glob);
    }
}

/// Brace-expand a raw word (`kubectl {delete,ns}` runs `kubectl delete ns` in bash).
/// The results are still raw words; quoted braces are not expanded.
pub(super) fn expand_braces(raw: &str) -> Result<Vec<String>, String> {
    if !raw.contains('{') {
        return Ok(vec![raw.to_string()]);
    }
    match word::parse_brace_expansions(raw, &parser_options()) {
        Ok(Some(pieces)) => expand_pieces(&pieces).ok_or_else(too_many_words),
        Ok(None) | Err(_) => Ok(vec![raw.to_string()]),
    }
}

fn too_many_words() -> String {
    format!("brace expansion produces more than {MAX_BRACE_WORDS} words")
}

fn expand_pieces(pieces: &[BraceExpressionOrText]) -> Option<Vec<String>> {
    let mut words = vec![String::new()];
    for piece in pieces {
        let options = match piece {
            BraceExpressionOrText::Text(text) => vec![text.clone()],
            BraceExpressionOrText::Expr(members) => {
                let mut options = Vec::new();
                for member in members {
                    options.extend(expand_member(member)?);
                }
                options
            }
        };
        if words.len() * options.len() > MAX_BRACE_WORDS {
            return None;
        }
        words = words
            .iter()
            .flat_map(|prefix| {
                options
                    .iter()
                    .map(move |option| format!("{prefix}{option}"))
            })
            .collect();
    }
    Some(words)
}

fn expand_member(member: &BraceExpressionMember) -> Option<Vec<String>> {
    match member {
        BraceExpressionMember::Child(pieces) => expand_pieces(pieces),
        BraceExpressionMember::NumberSequence {
            start,
            end,
            increment,
        } => sequence(*start, *end, *increment).map(|seq| seq.map(|n| n.to_string()).collect()),
        BraceExpressionMember::CharSequence {
            start,
            end,
            increment,
        } => {
            let numbers = sequence(
                i64::from(u32::from(*start)),
                i64::from(u32::from(*end)),
                *increment,
            )?;
            Some(
                numbers
                    .filter_map(|n| u32::try_from(n).ok().and_then(char::from_u32))
                    .map(String::from)
                    .collect(),
            )
        }
    }
}

/// `{start..end..increment}`, or `None` when it would be too long.
fn sequence(start: i64, end: i64, increment: i64) -> Option<impl Iterator<Item = i64>> {
    let step = increment.checked_abs().filter(|s| *s > 0).unwrap_or(1);
    let span = start.abs_diff(end) / step.unsigned_abs();
    if span >= MAX_BRACE_WORDS as u64 {
        return None;
    }
    let down = end < start;
    Some((0..=span).map(move |k| {
        let offset = k as i64 * step;
        if down { start - offset } else { start + offset }
    }))
}
