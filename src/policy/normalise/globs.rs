//! What a shell word can become at run time, written as a pattern glob (the
//! syntax of `super::super::pattern::Glob`), so evaluation can ask whether a rule
//! could match the word's value. Also the expansions that run code by themselves.

/// Characters that are syntax in a pattern glob and must be escaped to be literal.
const GLOB_SYNTAX: &[char] = &['*', '?', '[', ']', '{', '}', ',', '\\', '!'];

/// `text` as a glob that matches exactly it.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if GLOB_SYNTAX.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether unquoted `text` holds a file-name pattern: `*`, `?`, an extglob
/// (`@(…)`, `!(…)`, `+(…)`), or a `[` closed by a later `]` (a lone `[` is the
/// test command, not a pattern).
pub(super) fn is_pathname_pattern(text: &str) -> bool {
    text.contains(['*', '?'])
        || is_extglob(text)
        || text
            .find('[')
            .is_some_and(|open| text[open + 1..].contains(']'))
}

/// Unquoted text as a glob over the names it can expand to: `*`, `?` and `[…]`
/// keep their meaning; `None` for an extglob (`@(…)`, `!(…)`, `+(…)`), whose
/// matches we do not model.
pub(super) fn unquoted_values(text: &str) -> Option<String> {
    if is_extglob(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut in_class = false;
    for c in text.chars() {
        match c {
            '*' | '?' if !in_class => out.push(c),
            '[' if !in_class && is_pathname_pattern(text) => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            // Bash spells a negated class `[^…]` as well as `[!…]`.
            '^' | '!' if in_class && out.ends_with('[') => out.push('!'),
            '-' if in_class => out.push(c),
            _ => out.push_str(&escape(&c.to_string())),
        }
    }
    (!in_class).then_some(out)
}

fn is_extglob(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|pair| matches!(pair, [b'@' | b'!' | b'+' | b'?' | b'*', b'(']))
}

/// Why a parameter expansion runs code by itself, if it does: `${x@P}` expands
/// the value as a prompt, which runs the command substitutions it holds.
pub(super) fn expansion_runs_code(source: &str) -> Option<&'static str> {
    source
        .ends_with("@P}")
        .then_some("${…@P} expands a value as a prompt, running any command substitution in it")
}

/// Whether `value`, used as a variable name or in arithmetic, holds an array
/// subscript that bash expands, running any command substitution in it
/// (`a[$(cmd)]`, `` x[`cmd`] ``, `a[$i]` where `i` holds one).
pub(super) fn subscript_runs_code(value: &str) -> bool {
    value
        .find('[')
        .is_some_and(|open| value[open..].contains(['$', '`']))
}
