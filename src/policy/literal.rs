//! Positions inside TOML string literals: where byte N of a decoded string value
//! sits in the source, through quotes and escapes, so an error in a glob can point
//! at the exact character.

use std::ops::Range;

/// End of the character starting at `position` (for a one-character caret).
pub(super) fn next_char_end(source: &str, position: usize) -> usize {
    source
        .get(position..)
        .and_then(|rest| rest.chars().next())
        .map_or(position, |c| position + c.len_utf8())
}

/// Byte position in `source` of byte `offset` of the decoded string whose literal
/// (quotes included) spans `span`. Escapes are walked so the column is exact; a
/// malformed literal falls back to its first character.
pub(super) fn literal_position(source: &str, span: Range<usize>, offset: usize) -> usize {
    let Some(literal) = source.get(span.clone()) else {
        return span.start.min(source.len());
    };
    let quote = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|q| literal.starts_with(q));
    let Some(quote) = quote else {
        return span.start;
    };
    let mut body = &literal[quote.len()..literal.len().saturating_sub(quote.len())];
    let mut body_start = span.start + quote.len();
    // A newline right after an opening triple quote is not part of the value.
    if quote.len() == 3 {
        let trimmed = body.trim_start_matches('\r').trim_start_matches('\n');
        body_start += body.len() - trimmed.len();
        body = trimmed;
    }
    if quote.starts_with('\'') {
        return body_start + offset.min(body.len());
    }
    body_start + escaped_offset(body, offset)
}

/// Raw offset in a basic-string body where decoded byte `offset` begins.
fn escaped_offset(body: &str, offset: usize) -> usize {
    let mut decoded = 0;
    let mut chars = body.char_indices().peekable();
    while let Some((raw, c)) = chars.next() {
        if decoded >= offset {
            return raw;
        }
        if c != '\\' {
            decoded += c.len_utf8();
            continue;
        }
        match chars.next() {
            Some((_, 'u')) => skip_hex(&mut chars, 4, &mut decoded),
            Some((_, 'U')) => skip_hex(&mut chars, 8, &mut decoded),
            Some((_, c)) if c.is_whitespace() => {
                // Line-ending backslash: the newline and following whitespace vanish.
                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            }
            Some(_) => decoded += 1,
            None => return raw,
        }
    }
    body.len()
}

fn skip_hex(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    digits: usize,
    decoded: &mut usize,
) {
    let hex: String = (0..digits)
        .filter_map(|_| chars.next().map(|(_, c)| c))
        .collect();
    let c = u32::from_str_radix(&hex, 16)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('?');
    *decoded += c.len_utf8();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(literal: &str, offset: usize) -> char {
        let source = format!("x = {literal}");
        let at = literal_position(&source, 4..source.len(), offset);
        source[at..].chars().next().unwrap()
    }

    #[test]
    fn literal_positions_follow_quotes_and_escapes() {
        assert_eq!(position("'ab[c'", 2), '[');
        assert_eq!(position("\"ab[c\"", 2), '[');
        assert_eq!(position("\"\\tb[c\"", 2), '[');
        assert_eq!(position("\"\\u00e9b[\"", 3), '[');
        assert_eq!(position("'''\nab[c'''", 2), '[');
    }
}
