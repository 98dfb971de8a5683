//! Token patterns: a rule's `match` string split like a shell line into tokens, each
//! token a glob over exactly one argv element, `**` matching zero or more elements.
//!
//! Patterns are compiled once into plain data (segments, alternatives already
//! expanded) so a cached policy deserializes without recompiling anything, and
//! matching is a backtracking scan that allocates nothing and is never exponential.

use serde::{Deserialize, Serialize};

/// Most alternatives one glob may expand to; `{a,b}{c,d}` expands to four.
const MAX_ALTERNATIVES: usize = 1024;

/// Why a pattern or glob failed to compile. `offset` is a byte offset into the
/// pattern source so the caller can point at the exact column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
    pub offset: usize,
    pub hint: Option<String>,
}

impl PatternError {
    fn new(offset: usize, message: &str, hint: &str) -> PatternError {
        PatternError {
            message: message.to_string(),
            offset,
            hint: Some(hint.to_string()),
        }
    }
}

/// One fixed-width piece of a glob, or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Segment {
    Literal(String),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A glob over one string: `*`, `?`, `[..]`, `[!..]`, `{a,b}`. `*` crosses `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glob {
    source: String,
    /// Brace alternatives expanded; the glob matches when any alternative does.
    alternatives: Vec<Vec<Segment>>,
}

impl Glob {
    pub fn parse(source: &str) -> Result<Glob, PatternError> {
        let chars = unquoted_chars(source, 0)?;
        compile_glob(source, &chars)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.alternatives
            .iter()
            .any(|segs| match_segments(segs, text))
    }

    /// The literal strings this glob matches, or `None` if it has any wildcard.
    fn literals(&self) -> Option<Vec<String>> {
        self.alternatives
            .iter()
            .map(|segs| match segs.as_slice() {
                [] => Some(String::new()),
                [Segment::Literal(text)] => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// One pattern token: a glob over one argv element, or `**`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Token {
    AnyArgs,
    Arg { glob: Glob, has_slash: bool },
}

/// A whole-argv pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

impl Pattern {
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        let words = split_words(source)?;
        if words.is_empty() {
            return Err(PatternError::new(
                0,
                "empty match pattern",
                "write at least the program name, e.g. `kubectl get **`",
            ));
        }
        let tokens = words
            .iter()
            .map(|word| compile_token(source, word))
            .collect::<Result<_, _>>()?;
        Ok(Pattern {
            source: source.to_string(),
            tokens,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whole-argv match; the first token matches argv[0] by basename, or by full
    /// path when the token contains `/`.
    pub fn matches(&self, argv: &[String]) -> bool {
        // Each glob token consumes exactly one argument, so the classic
        // "remember the last star" scan is exact here and runs in O(tokens * args).
        let (mut t, mut a) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        loop {
            match self.tokens.get(t) {
                Some(Token::AnyArgs) => {
                    star = Some((t + 1, a));
                    t += 1;
                    continue;
                }
                Some(Token::Arg { glob, has_slash })
                    if a < argv.len() && token_matches_arg(glob, *has_slash, &argv[a], a == 0) =>
                {
                    t += 1;
                    a += 1;
                    continue;
                }
                Some(_) => {}
                None if a == argv.len() => return true,
                None => {}
            }
            match star {
                Some((resume, from)) if from < argv.len() => {
                    star = Some((resume, from + 1));
                    t = resume;
                    a = from + 1;
                }
                _ => return false,
            }
        }
    }

    /// Literal program names this pattern can match (brace alternatives expanded),
    /// or `None` when the first token is a wildcard or `**`. Used to index rules.
    /// Names are basenames: `/usr/bin/kubectl` yields `kubectl`, the name argv[0]
    /// must end in for the pattern to match.
    pub fn program_names(&self) -> Option<Vec<String>> {
        let Some(Token::Arg { glob, .. }) = self.tokens.first() else {
            return None;
        };
        let mut names: Vec<String> = glob
            .literals()?
            .iter()
            .map(|name| basename(name).to_string())
            .collect();
        names.sort();
        names.dedup();
        Some(names)
    }
}

fn token_matches_arg(glob: &Glob, has_slash: bool, arg: &str, is_program: bool) -> bool {
    if is_program && !has_slash {
        glob.is_match(basename(arg))
    } else {
        glob.is_match(arg)
    }
}

/// The last path component; `kubectl` for `/usr/local/bin/kubectl`.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Match a flat segment list against the whole text. Non-star segments have a
/// fixed width, so backtracking to the most recent `*` only is exact.
fn match_segments(segs: &[Segment], text: &str) -> bool {
    let (mut s, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match segs.get(s) {
            Some(Segment::AnyRun) => {
                star = Some((s + 1, t));
                s += 1;
                continue;
            }
            Some(seg) => {
                if let Some(width) = match_one(seg, &text[t..]) {
                    s += 1;
                    t += width;
                    continue;
                }
            }
            None if t == text.len() => return true,
            None => {}
        }
        match star {
            Some((resume, from)) => match text[from..].chars().next() {
                Some(c) => {
                    let next = from + c.len_utf8();
                    star = Some((resume, next));
                    s = resume;
                    t = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Width in bytes of `seg` matched at the start of `rest`, if it matches.
fn match_one(seg: &Segment, rest: &str) -> Option<usize> {
    match seg {
        Segment::Literal(lit) => rest.starts_with(lit.as_str()).then_some(lit.len()),
        Segment::AnyChar => rest.chars().next().map(char::len_utf8),
        Segment::Class { negated, ranges } => {
            let c = rest.chars().next()?;
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            (inside != *negated).then_some(c.len_utf8())
        }
        Segment::AnyRun => Some(0),
    }
}

// ---------------------------------------------------------------------------
// Splitting and compiling

/// One source character after quote removal. `literal` chars came from quotes or
/// a backslash escape and never act as glob syntax.
#[derive(Debug, Clone, Copy)]
struct SourceChar {
    c: char,
    offset: usize,
    literal: bool,
}

/// One pattern token: its raw source text and its characters.
struct Word {
    start: usize,
    end: usize,
    chars: Vec<SourceChar>,
}

/// Characters of a bare glob: backslash escapes, no quoting.
fn unquoted_chars(source: &str, base: usize) -> Result<Vec<SourceChar>, PatternError> {
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
fn split_words(source: &str) -> Result<Vec<Word>, PatternError> {
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

fn compile_token(source: &str, word: &Word) -> Result<Token, PatternError> {
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

fn compile_glob(source: &str, chars: &[SourceChar]) -> Result<Glob, PatternError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(source: &str) -> Glob {
        Glob::parse(source).expect("valid glob")
    }

    fn pattern(source: &str) -> Pattern {
        Pattern::parse(source).expect("valid pattern")
    }

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn matches(pat: &str, line: &str) -> bool {
        pattern(pat).matches(&argv(line))
    }

    fn glob_error(source: &str) -> (usize, String) {
        let err = Glob::parse(source).expect_err("invalid glob");
        assert!(err.hint.is_some(), "every error says the fix: {err:?}");
        (err.offset, err.message)
    }

    #[test]
    fn literal_glob_matches_only_itself() {
        assert!(glob("kubectl").is_match("kubectl"));
        assert!(!glob("kubectl").is_match("kubectl2"));
        assert!(!glob("kubectl").is_match("kube"));
        assert!(glob("").is_match(""));
    }

    #[test]
    fn star_matches_any_run_including_slash() {
        let g = glob("prod-*");
        assert!(g.is_match("prod-"));
        assert!(g.is_match("prod-eu/west"));
        assert!(!g.is_match("staging-eu"));
        assert!(glob("*.yaml").is_match("dir/app.yaml"));
        assert!(glob("a*b*c").is_match("aXbYbZc"));
        assert!(!glob("a*b*c").is_match("aXbYbZ"));
        assert!(glob("**").is_match("any/thing"));
    }

    #[test]
    fn question_mark_matches_one_character() {
        assert!(glob("v?").is_match("v1"));
        assert!(glob("v?").is_match("vé"));
        assert!(!glob("v?").is_match("v"));
        assert!(!glob("v?").is_match("v12"));
    }

    #[test]
    fn classes_match_sets_ranges_and_negations() {
        assert!(glob("[abc]x").is_match("bx"));
        assert!(!glob("[abc]x").is_match("dx"));
        assert!(glob("[a-z0-9]").is_match("q"));
        assert!(glob("[a-z0-9]").is_match("7"));
        assert!(!glob("[a-z0-9]").is_match("Q"));
        assert!(glob("[!x]").is_match("y"));
        assert!(!glob("[!x]").is_match("x"));
        assert!(glob("[^x]").is_match("y"));
        assert!(glob("[a-]").is_match("-"));
        assert!(glob("[\\]]").is_match("]"));
    }

    #[test]
    fn braces_are_alternatives_and_may_nest_and_hold_globs() {
        let g = glob("{get,describe,logs}");
        assert!(g.is_match("get") && g.is_match("logs"));
        assert!(!g.is_match("delete"));
        assert!(glob("{a,b*}").is_match("bzz"));
        assert!(glob("x{a,b{c,d}}y").is_match("xbdy"));
        assert!(glob("x{a,}y").is_match("xy"));
        assert!(glob("{}").is_match("{}"));
        assert!(glob("a,b}").is_match("a,b}"));
    }

    #[test]
    fn backslash_makes_syntax_literal() {
        assert!(glob("\\*").is_match("*"));
        assert!(!glob("\\*").is_match("x"));
        assert!(glob("\\{a,b\\}").is_match("{a,b}"));
        assert!(glob("a\\?").is_match("a?"));
    }

    #[test]
    fn glob_errors_point_at_the_offending_character() {
        assert_eq!(glob_error("ab[cd"), (2, "unclosed `[`".into()));
        assert_eq!(glob_error("x{a,b"), (1, "unclosed `{`".into()));
        assert_eq!(glob_error("a[]"), (1, "empty character class".into()));
        assert_eq!(glob_error("[!]"), (0, "empty character class".into()));
        assert_eq!(
            glob_error("abc\\"),
            (3, "trailing backslash escapes nothing".into())
        );
        assert_eq!(glob_error("a**b"), (1, "`**` inside a word".into()));
        assert_eq!(glob_error("[z-a]").0, 1);
    }

    #[test]
    fn too_many_alternatives_is_an_error() {
        let source = "{a,b,c,d}".repeat(6);
        assert_eq!(glob_error(&source).1, "too many brace alternatives");
    }

    #[test]
    fn pattern_errors_have_offsets_in_the_whole_pattern() {
        let err = Pattern::parse("kubectl get [abc").expect_err("unclosed");
        assert_eq!(err.offset, 12);
        let err = Pattern::parse("kubectl 'get").expect_err("unclosed quote");
        assert_eq!(err.offset, 8);
        let err = Pattern::parse("rm a**b").expect_err("double star");
        assert_eq!(err.offset, 4);
        let err = Pattern::parse("   ").expect_err("empty");
        assert_eq!(err.message, "empty match pattern");
        assert!(Pattern::parse("").is_err());
    }

    #[test]
    fn program_matches_by_basename_unless_token_has_a_slash() {
        assert!(matches(
            "kubectl get pods",
            "/usr/local/bin/kubectl get pods"
        ));
        assert!(matches("kubectl get pods", "kubectl get pods"));
        assert!(matches("/usr/bin/kubectl **", "/usr/bin/kubectl get"));
        assert!(!matches("/usr/bin/kubectl **", "kubectl get"));
        assert!(!matches("/usr/bin/kubectl **", "/opt/kubectl get"));
        assert!(matches("kube* **", "/usr/bin/kubectl get"));
        // Only the program is matched by basename; later arguments are whole.
        assert!(!matches("cat passwd", "cat /etc/passwd"));
    }

    #[test]
    fn double_star_matches_zero_or_more_whole_arguments() {
        assert!(matches("kubectl **", "kubectl"));
        assert!(matches("kubectl **", "kubectl get pods -A"));
        assert!(matches("** delete", "kubectl -n x delete"));
        assert!(matches("**", ""));
        assert!(matches(
            "kubectl ** delete ns **",
            "kubectl --context prod delete ns a"
        ));
        assert!(matches("kubectl ** delete ns **", "kubectl delete ns"));
        assert!(!matches("kubectl ** delete ns **", "kubectl get ns"));
        assert!(matches("rm ** -rf /", "rm -v -rf /"));
        assert!(!matches("rm ** -rf /", "rm -rf / x"));
    }

    #[test]
    fn several_double_stars_match_without_blowing_up() {
        assert!(matches("a ** b ** c ** d", "a x b y c z d"));
        assert!(!matches("a ** b ** c ** d", "a x c y b z d"));
        let pat = format!("x {}y", "** z ".repeat(20));
        let long = format!("x {} q", "z ".repeat(200));
        assert!(!matches(&pat, &long));
    }

    #[test]
    fn a_glob_never_spans_two_arguments() {
        assert!(!matches("kubectl delete*", "kubectl delete ns"));
        assert!(matches("kubectl delete*", "kubectl deletens"));
        assert!(!matches("kubectl *", "kubectl get pods"));
        assert!(!matches("kubectl", "kubectl get"));
    }

    #[test]
    fn quotes_group_words_and_make_globs_literal() {
        let p = pattern("cat \"my file\" 'a b' c\\ d");
        let args: Vec<String> = ["cat", "my file", "a b", "c d"].map(String::from).into();
        assert!(p.matches(&args));
        assert!(pattern("echo '*'").matches(&["echo".into(), "*".into()]));
        assert!(!pattern("echo '*'").matches(&["echo".into(), "x".into()]));
        assert!(pattern("echo \"**\"").matches(&["echo".into(), "**".into()]));
        assert!(pattern("echo ''").matches(&["echo".into(), String::new()]));
    }

    #[test]
    fn program_names_expand_braces_and_refuse_wildcards() {
        assert_eq!(
            pattern("kubectl get").program_names(),
            Some(vec!["kubectl".into()])
        );
        assert_eq!(
            pattern("{kubectl,oc} delete **").program_names(),
            Some(vec!["kubectl".into(), "oc".into()])
        );
        assert_eq!(
            pattern("/usr/bin/rm **").program_names(),
            Some(vec!["rm".into()])
        );
        assert_eq!(pattern("kube* get").program_names(), None);
        assert_eq!(pattern("** rm").program_names(), None);
        assert_eq!(pattern("{kubectl,k*}").program_names(), None);
    }

    #[test]
    fn compiled_patterns_survive_a_postcard_round_trip() {
        let p = pattern("{kubectl,oc} ** delete [a-z]* **");
        let bytes = postcard::to_allocvec(&p).expect("serialize");
        let back: Pattern = postcard::from_bytes(&bytes).expect("deserialize");
        assert_eq!(back, p);
        assert!(back.matches(&argv("oc -n x delete ns a")));
    }
}
