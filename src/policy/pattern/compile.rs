//! Compiling pattern and glob source text: shell-like splitting into words,
//! quote removal, glob syntax, brace expansion into flat segment lists.

use super::*;

/// One source character after quote removal. `literal` chars came from quotes or
/// a backslash escape and never act as glob syntax.
#[derive(Debug, Clone, Copy)]
pub(super) struct SourceChar {
    c: char,
    offset: usize,
    literal: bool,
}

/// One pattern token: its raw source text and its characters.
pub(super) struct Word {
    start: usize,
    end: usize,
    chars: Vec<SourceChar>,
}

/// Characters of a bare glob: backslash escapes, no quoting.
pub(super) fn unquoted_chars(source: &str, base: usize) -> Result<Vec<SourceChar>, PatternError> {
    let mut out = Vec::new();
    let mut iter = source.char_indices();
    while let Some((i, c)) = iter.next() {
        if c == '\\' {
            let (_, escaped) = iter.next().ok_or_else(|| trailing_backslash(base + i))?;
            out.push(SourceChar {
                c: escaped,
                offset: base + i,
                literal: true,
            });
        } else {
            out.push(SourceChar {
                c,
                offset: base + i,
                literal: false,
            });
        }
    }
    Ok(out)
}

fn trailing_backslash(offset: usize) -> PatternError {
    PatternError::new(
        offset,
        "trailing backslash escapes nothing",
        "remove it, or write `\\\\` to match a backslash",
    )
}

/// Split a pattern like a shell line: whitespace separates words, single and
/// double quotes and backslashes make characters literal.
pub(super) fn split_words(source: &str) -> Result<Vec<Word>, PatternError> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut iter = source.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c.is_whitespace() {
            words.extend(current.take());
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            start: i,
            end: i,
            chars: Vec::new(),
        });
        match c {
            '\\' => {
                let (_, escaped) = iter.next().ok_or_else(|| trailing_backslash(i))?;
                word.chars.push(SourceChar {
                    c: escaped,
                    offset: i,
                    literal: true,
                });
            }
            '\'' | '"' => read_quoted(&mut iter, c, i, &mut word.chars)?,
            _ => word.chars.push(SourceChar {
                c,
                offset: i,
                literal: false,
            }),
        }
        word.end = iter.peek().map_or(source.len(), |&(next, _)| next);
    }
    words.extend(current);
    Ok(words)
}

/// Read up to the closing `quote`. Inside double quotes a backslash escapes only
/// `"`, `\`, `$` and `` ` ``, as in the shell.
fn read_quoted(
    iter: &mut std::iter::Peekable<std::str::CharIndices>,
    quote: char,
    open: usize,
    out: &mut Vec<SourceChar>,
) -> Result<(), PatternError> {
    while let Some((i, c)) = iter.next() {
        if c == quote {
            return Ok(());
        }
        let escapable = matches!(iter.peek(), Some((_, '"' | '\\' | '$' | '`')));
        if quote == '"' && c == '\\' && escapable {
            if let Some((_, escaped)) = iter.next() {
                out.push(SourceChar {
                    c: escaped,
                    offset: i,
                    literal: true,
                });
            }
            continue;
        }
        out.push(SourceChar {
            c,
            offset: i,
            literal: true,
        });
    }
    Err(PatternError::new(
        open,
        &format!("unclosed {quote} quote"),
        &format!("add the closing {quote}"),
    ))
}

pub(super) fn compile_token(source: &str, word: &Word) -> Result<Token, PatternError> {
    let raw = &source[word.start..word.end];
    let is_double_star =
        word.chars.len() == 2 && word.chars.iter().all(|sc| sc.c == '*' && !sc.literal);
    if is_double_star {
        return Ok(Token::AnyArgs);
    }
    let has_slash = word.chars.iter().any(|sc| sc.c == '/');
    let glob = compile_glob(raw, &word.chars)?;
    Ok(Token::Arg { glob, has_slash })
}

/// A brace-expansion tree, flattened by `expand` into alternatives.
enum Node {
    Seg(Segment),
    Alternatives(Vec<Vec<Node>>),
}

pub(super) fn compile_glob(source: &str, chars: &[SourceChar]) -> Result<Glob, PatternError> {
    let is_lone_double_star = chars.len() == 2 && chars.iter().all(|sc| sc.c == '*' && !sc.literal);
    let chars = if is_lone_double_star {
        &chars[..1]
    } else {
        chars
    };
    let mut parser = GlobParser { chars, pos: 0 };
    let nodes = parser.sequence(0)?;
    let alternatives = expand(&nodes)
        .ok_or_else(|| {
            PatternError::new(
                chars.first().map_or(0, |sc| sc.offset),
                "too many brace alternatives",
                "split this into several patterns (a rule's `match` may be a list)",
            )
        })?
        .into_iter()
        .map(merge_literals)
        .collect();
    Ok(Glob {
        source: source.to_string(),
        alternatives,
    })
}

struct GlobParser<'a> {
    chars: &'a [SourceChar],
    pos: usize,
}

impl GlobParser<'_> {
    fn peek_syntax(&self, offset: usize) -> Option<char> {
        self.chars
            .get(self.pos + offset)
            .filter(|sc| !sc.literal)
            .map(|sc| sc.c)
    }

    /// Parse until the end, or (inside braces, `depth > 0`) until `,` or `}`.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Node>, PatternError> {
        let mut nodes = Vec::new();
        while let Some(sc) = self.chars.get(self.pos).copied() {
            let syntax = if sc.literal { None } else { Some(sc.c) };
            match syntax {
                Some(',' | '}') if depth > 0 => break,
                Some('*') => nodes.push(Node::Seg(self.star(sc)?)),
                Some('?') => {
                    self.pos += 1;
                    nodes.push(Node::Seg(Segment::AnyChar));
                }
                Some('[') => nodes.push(Node::Seg(self.class(sc)?)),
                Some('{') if self.peek_syntax(1) == Some('}') => {
                    // `{}` is the xargs/find placeholder, not an empty alternative.
                    self.pos += 2;
                    nodes.push(Node::Seg(Segment::Literal("{}".into())));
                }
                Some('{') => nodes.push(self.braces(sc, depth)?),
                _ => {
                    self.pos += 1;
                    nodes.push(Node::Seg(Segment::Literal(sc.c.to_string())));
                }
            }
        }
        Ok(nodes)
    }

    fn star(&mut self, sc: SourceChar) -> Result<Segment, PatternError> {
        if self.peek_syntax(1) == Some('*') {
            return Err(PatternError::new(
                sc.offset,
                "`**` inside a word",
                "`**` matches whole arguments and must stand alone between spaces; \
                 inside a word use `*`, which already matches any run of characters",
            ));
        }
        self.pos += 1;
        Ok(Segment::AnyRun)
    }

    fn braces(&mut self, open: SourceChar, depth: usize) -> Result<Node, PatternError> {
        self.pos += 1;
        let mut alternatives = vec![self.sequence(depth + 1)?];
        loop {
            match self.chars.get(self.pos) {
                Some(sc) if !sc.literal && sc.c == ',' => {
                    self.pos += 1;
                    alternatives.push(self.sequence(depth + 1)?);
                }
                Some(_) => {
                    self.pos += 1; // the closing `}`
                    return Ok(Node::Alternatives(alternatives));
                }
                None => {
                    return Err(PatternError::new(
                        open.offset,
                        "unclosed `{`",
                        "close the alternatives with `}`, or write `\\{` to match a brace",
                    ));
                }
            }
        }
    }

    fn class(&mut self, open: SourceChar) -> Result<Segment, PatternError> {
        self.pos += 1;
        let negated = matches!(self.peek_syntax(0), Some('!' | '^'));
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        loop {
            let Some(sc) = self.chars.get(self.pos).copied() else {
                return Err(PatternError::new(
                    open.offset,
                    "unclosed `[`",
                    "close the character class with `]`, or write `\\[` to match a bracket",
                ));
            };
            self.pos += 1;
            if !sc.literal && sc.c == ']' {
                break;
            }
            ranges.push(self.class_item(sc)?);
        }
        if ranges.is_empty() {
            return Err(PatternError::new(
                open.offset,
                "empty character class",
                "put the characters to match between the brackets, e.g. `[abc]`, \
                 or write `\\[\\]` to match brackets",
            ));
        }
        Ok(Segment::Class { negated, ranges })
    }

    /// One class member: a character, or a range `a-z`.
    fn class_item(&mut self, first: SourceChar) -> Result<(char, char), PatternError> {
        let is_range = self.peek_syntax(0) == Some('-')
            && self
                .chars
                .get(self.pos + 1)
                .is_some_and(|sc| sc.literal || sc.c != ']');
        if !is_range {
            return Ok((first.c, first.c));
        }
        let last = self.chars[self.pos + 1];
        self.pos += 2;
        if last.c < first.c {
            return Err(PatternError::new(
                first.offset,
                &format!("character range `{}-{}` is reversed", first.c, last.c),
                &format!("write it as `{}-{}`", last.c, first.c),
            ));
        }
        Ok((first.c, last.c))
    }
}

/// Flatten brace alternatives into flat segment lists; `None` past the limit.
fn expand(nodes: &[Node]) -> Option<Vec<Vec<Segment>>> {
    let mut results: Vec<Vec<Segment>> = vec![Vec::new()];
    for node in nodes {
        match node {
            Node::Seg(seg) => results.iter_mut().for_each(|r| r.push(seg.clone())),
            Node::Alternatives(alts) => {
                let mut options = Vec::new();
                for alt in alts {
                    options.extend(expand(alt)?);
                }
                if results.len() * options.len() > MAX_ALTERNATIVES {
                    return None;
                }
                results = results
                    .iter()
                    .flat_map(|prefix| {
                        options
                            .iter()
                            .map(move |o| [prefix.clone(), o.clone()].concat())
                    })
                    .collect();
            }
        }
    }
    Some(results)
}

/// Join adjacent literals so matching compares whole runs at once.
fn merge_literals(segs: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for seg in segs {
        match (out.last_mut(), seg) {
            (Some(Segment::Literal(prev)), Segment::Literal(next)) => prev.push_str(&next),
            (_, seg) => out.push(seg),
        }
    }
    out
}
