//! A lexical screen for inline interpreter code (`python -c`, `node -e`, …): it
//! finds each place the code can start a process. A call that passes constant
//! strings (`os.system('…')`, `subprocess.run([...])`, `execSync('…')`, backticks)
//! yields that command; anything else that could start a process or run code
//! built at run time (`eval`, `getattr`, a non-constant argument, a module not
//! known to be harmless) makes the code opaque.
//!
//! It is a screen, not a sandbox: it errs towards opaque, and what the code does
//! without starting a process (writing files, network) is left to the policy's
//! `inline_code` setting. The word lists are in `inline_code_words`.

use super::inline_code_words::{Words, words};

/// The languages screened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Language {
    Python,
    Perl,
    Ruby,
    JavaScript,
    Php,
    Lua,
}

/// A command the code starts with constant arguments.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Spawned {
    Line(String),
    Argv(Vec<String>),
}

/// What the screen found: the commands it understood, and why it gave up, if it did.
#[derive(Debug, Default)]
pub(super) struct Screened {
    pub spawned: Vec<Spawned>,
    pub opaque: Option<String>,
}

/// Screen `code` written in `language`; `modules` are those the command line
/// loads (`perl -MFoo`, `ruby -rfoo`).
pub(super) fn screen(language: Language, code: &str, modules: &[String]) -> Screened {
    let mut screened = Screened::default();
    if let Err(reason) = screen_into(language, code, modules, &mut screened) {
        screened.opaque = Some(reason);
    }
    screened
}

fn screen_into(
    language: Language,
    code: &str,
    modules: &[String],
    screened: &mut Screened,
) -> Result<(), String> {
    let table = words(language);
    let name = format!("{language:?}").to_lowercase();
    for module in modules {
        if !table.modules.contains(&module.as_str()) {
            return Err(format!(
                "{name} loads module {module}, which is not screened"
            ));
        }
    }
    // Python's string syntax is unambiguous, so words inside plain strings are
    // ignored; in the others quoting is too rich to skip safely, so every word counts.
    let text = if language == Language::Python {
        blank_python_strings(code)
    } else {
        code.to_string()
    };
    for (at, word) in identifiers(&text) {
        if table.dynamic.contains(&word) || (language == Language::Python && word.starts_with("__"))
        {
            return Err(format!(
                "{name} code uses {word}, which can run code built at run time"
            ));
        }
        if table.spawn.contains(&word) {
            if word == "open" && harmless_open(language, &code[at..]) {
                continue;
            }
            let call = constant_call(code, at + word.len(), language == Language::Python)
                .ok_or_else(|| {
                    format!("{name} code calls {word} with arguments that are not constants")
                })?;
            screened.spawned.extend(call);
        }
        imported(language, &text, at, word, table)?;
    }
    backticks(language, code, screened)?;
    if language == Language::Perl {
        perl_quirks(code)?;
    }
    if language == Language::Php && code.contains("$") && dollar_call(code) {
        return Err("php code calls a function through a variable".into());
    }
    if language == Language::JavaScript {
        if code.contains("process[") {
            return Err("javascript code looks up a property of process at run time".into());
        }
        super::inline_code_js::runtime_globals(code, screened)?;
        super::inline_code_js::bun_shell(code, screened)?;
    }
    Ok(())
}

/// Every identifier and its byte offset.
pub(super) fn identifiers(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            if is_ident(bytes[at]) {
                while at < bytes.len() && is_ident(bytes[at]) {
                    at += 1;
                }
                return Some((start, &text[start..at]));
            }
            at += 1;
        }
        None
    })
}

pub(super) fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Plain Python string literals with their contents replaced by spaces (same
/// length); f-strings are kept, as their braces hold code.
fn blank_python_strings(code: &str) -> String {
    let bytes = code.as_bytes();
    let mut out = bytes.to_vec();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b == b'#' {
            // A comment: a quote inside it starts no string.
            while at < bytes.len() && bytes[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        if b != b'\'' && b != b'"' {
            at += 1;
            continue;
        }
        let prefix_f = code[..at]
            .bytes()
            .rev()
            .take_while(|c| c.is_ascii_alphabetic())
            .any(|c| c == b'f' || c == b'F');
        let triple = bytes.get(at..at + 3) == Some(&[b, b, b][..]);
        let quote_len = if triple { 3 } else { 1 };
        let mut end = at + quote_len;
        while end < bytes.len() {
            if bytes[end] == b'\\' {
                end += 2;
                continue;
            }
            if bytes[end] == b && (!triple || bytes.get(end..end + 3) == Some(&[b, b, b][..])) {
                break;
            }
            end += 1;
        }
        let end = end.min(bytes.len());
        if !prefix_f {
            out[at + quote_len..end].fill(b' ');
        }
        at = end + quote_len;
    }
    String::from_utf8(out).unwrap_or_else(|_| code.to_string())
}

/// A string literal at the start of `text` (after spaces): its contents, if it
/// holds no interpolation, and the rest of the text.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut value = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' if quote == '"' => value.push('\n'),
                't' if quote == '"' => value.push('\t'),
                other => value.push(other),
            },
            c if c == quote => return Some((value, &text[1 + i + 1..])),
            '$' | '@' | '{' | '`' if quote == '"' => return None,
            '#' if quote == '"' && text[1 + i..].starts_with("#{") => return None,
            c => value.push(c),
        }
    }
    None
}

/// A list literal of constant strings: `[ 'a', "b" ]`.
fn string_list(text: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = text.trim_start().strip_prefix('[')?;
    let mut items = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(']') {
            return Some((items, after));
        }
        let (item, after) = string_literal(rest)?;
        items.push(item);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The command a call passes constant arguments to, read from just after the
/// function name: `('ls -l')`, `(['ls', '-l'], check=True)`, `'ls', '-l'` (Perl
/// and Ruby need no parentheses). `Some(None)` is a call with no arguments, which
/// starts nothing (`platform.system()`). `list_has_argv0`: a list after a
/// program name repeats argv[0] (Python's `os.execvp('rm', ['rm', …])`).
pub(super) fn constant_call(
    code: &str,
    after_name: usize,
    list_has_argv0: bool,
) -> Option<Option<Spawned>> {
    let rest = code[after_name..].trim_start();
    let (mut rest, parenthesised) = match rest.strip_prefix('(') {
        Some(inner) => (inner, true),
        None => (rest, false),
    };
    if parenthesised && rest.trim_start().starts_with(')') {
        return Some(None);
    }
    let mut strings: Vec<String> = Vec::new();
    let mut list: Option<Vec<String>> = None;
    let mut shell = false;
    loop {
        rest = rest.trim_start();
        if let Some((item, after)) = string_literal(rest) {
            strings.push(item);
            rest = after;
        } else if let Some((items, after)) = string_list(rest) {
            list = Some(items);
            rest = after;
        } else if let Some((items, after)) = options_object(rest) {
            if items.is_some() {
                if list.is_some() {
                    return None;
                }
                list = items;
            }
            rest = after;
        } else if let Some((key, value, after)) = keyword_argument(rest) {
            match key {
                "shell" => shell = matches!(value, "True" | "true"),
                "check" | "capture_output" | "text" | "cwd" | "timeout" | "stdout" | "stderr"
                | "stdin" | "encoding" | "universal_newlines" | "stdio" => {}
                _ => return None,
            }
            rest = after;
        } else {
            return None;
        }
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
            continue;
        }
        let ends = if parenthesised {
            rest.starts_with(')')
        } else {
            rest.is_empty() || rest.starts_with([';', '\n', '}', ')']) || rest.starts_with("or ")
        };
        if !ends {
            return None;
        }
        break;
    }
    let spawned = match (strings.as_slice(), list) {
        ([line], None) => Spawned::Line(line.clone()),
        ([], Some(items)) if shell => Spawned::Line(items.join(" ")),
        ([], Some(items)) if !items.is_empty() => Spawned::Argv(items),
        ([program], Some(items)) => {
            // Python's exec*/spawn* lists start with argv[0]; the others hold arguments.
            let skip = usize::from(list_has_argv0);
            Spawned::Argv(
                std::iter::once(program.clone())
                    .chain(items.into_iter().skip(skip))
                    .collect(),
            )
        }
        (words, None) if words.len() > 1 => Spawned::Argv(words.to_vec()),
        _ => return None,
    };
    Some(Some(spawned))
}

/// An options object of constant values, `{ args: ['-l'], stdout: 'piped' }`
/// (`Deno.Command`, `Deno.run`, `Bun.spawn`): the list under `args` or `cmd`, if
/// any, and the rest. Any other key (`env`, `shell`, …) is not read here.
fn options_object(text: &str) -> Option<(Option<Vec<String>>, &str)> {
    let mut rest = text.trim_start().strip_prefix('{')?;
    let mut list = None;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Some((list, after));
        }
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        let (key, after) = rest.split_at(end);
        let value = after.trim_start().strip_prefix(':')?;
        rest = match key {
            "args" | "cmd" if list.is_none() => {
                let (items, after) = string_list(value)?;
                list = Some(items);
                after
            }
            "stdout" | "stderr" | "stdin" | "stdio" | "cwd" | "encoding" => string_literal(value)
                .map(|(_, after)| after)
                .or_else(|| string_list(value).map(|(_, after)| after))?,
            _ => return None,
        };
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// `name=value` (Python) or `{ name: value }` (Node options) with a plain value.
fn keyword_argument(text: &str) -> Option<(&str, &str, &str)> {
    let text = text.trim_start();
    let inner = text.strip_prefix('{').unwrap_or(text);
    let end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (key, rest) = inner.split_at(end);
    let rest = rest.trim_start().strip_prefix(['=', ':'])?.trim_start();
    let value_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.'\"-/ ".contains(c)))
        .unwrap_or(rest.len());
    let (value, mut after) = rest.split_at(value_end);
    if text.starts_with('{') {
        after = after.trim_start().strip_prefix('}')?;
    }
    (!key.is_empty()).then_some((key, value.trim().trim_matches(['\'', '"']), after))
}

/// Imports and requires must name a module on the language's list.
fn imported(
    language: Language,
    text: &str,
    at: usize,
    word: &str,
    table: &Words,
) -> Result<(), String> {
    let rest = &text[at + word.len()..];
    let names: Vec<String> = match (language, word) {
        (Language::Python, "import") => {
            if text[..at]
                .trim_end()
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && text[..at].contains("from")
            {
                return Ok(());
            }
            let end = rest.find([';', '\n']).unwrap_or(rest.len());
            rest[..end]
                .split(',')
                .map(|part| part.split_whitespace().next().unwrap_or("").to_string())
                .collect()
        }
        (Language::Python, "from") => {
            vec![rest.split_whitespace().next().unwrap_or("").to_string()]
        }
        (Language::Perl, "use" | "no") => {
            let name = rest
                .trim_start()
                .split(|c: char| c.is_whitespace() || c == ';' || c == '(')
                .next()
                .unwrap_or("");
            if name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == 'v')
                && !name.contains("::")
                && name.len() < 8
                && name.chars().skip(1).all(|c| c.is_ascii_digit() || c == '.')
            {
                return Ok(()); // `use 5.010;`, `use v5.36;`
            }
            vec![name.to_string()]
        }
        (Language::Ruby | Language::JavaScript, "require") => {
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('(').unwrap_or(rest);
            match string_literal(rest) {
                Some((name, _)) => vec![name],
                None => return Err(format!("{word} with a name built at run time")),
            }
        }
        _ => return Ok(()),
    };
    for name in names {
        let top = name.strip_prefix("node:").unwrap_or(&name);
        let top = if language == Language::Perl {
            top
        } else {
            top.split(['.', '/']).next().unwrap_or("")
        };
        if !table.modules.contains(&top) {
            return Err(format!(
                "the code loads module {name}, which is not screened"
            ));
        }
    }
    Ok(())
}

/// `open` that only reads or writes a named file (3-argument form with a file
/// mode, or Ruby's `File.open('name')`).
fn harmless_open(language: Language, from_open: &str) -> bool {
    let args = from_open["open".len()..].trim_start();
    let args = args.strip_prefix('(').unwrap_or(args);
    let end = args.find([')', ';', '\n']).unwrap_or(args.len());
    let args = &args[..end];
    if args.contains('|') {
        return false;
    }
    match language {
        Language::Perl => [
            "'<'",
            "\"<\"",
            "'>'",
            "\">\"",
            "'>>'",
            "\">>\"",
            "'+<'",
            "'<:encoding(UTF-8)'",
        ]
        .iter()
        .any(|mode| args.contains(mode)),
        Language::Ruby => string_literal(args).is_some_and(|(name, _)| !name.starts_with('|')),
        _ => false,
    }
}

/// Backticks (Perl, Ruby, PHP) and `qx`/`%x` run their contents as a shell line.
fn backticks(language: Language, code: &str, screened: &mut Screened) -> Result<(), String> {
    if !matches!(language, Language::Perl | Language::Ruby | Language::Php) {
        return Ok(());
    }
    if code.contains("%x") {
        return Err("%x runs a shell line".into());
    }
    let mut parts = code.split('`');
    parts.next();
    while let Some(inside) = parts.next() {
        if parts.next().is_none() || inside.contains(['$', '@']) || inside.contains("#{") {
            return Err("backticks run a shell line built at run time".into());
        }
        screened.spawned.push(Spawned::Line(inside.to_string()));
    }
    Ok(())
}

/// Perl's symbolic references (`&{"name"}`, `*{…}`, `&$f`), `->$method` and
/// the `e` flag of `s///e`, which evaluates the replacement as code.
fn perl_quirks(code: &str) -> Result<(), String> {
    if ["&{", "&$", "*{", "->$", "::{"]
        .iter()
        .any(|s| code.contains(s))
    {
        return Err("perl code calls something by a name built at run time".into());
    }
    for (at, word) in identifiers(code) {
        if word == "s"
            && !code[..at].ends_with(['$', '@', '%', '&', '-', '>', '{'])
            && substitution_flags(&code[at + 1..]).is_some_and(|flags| flags.contains('e'))
        {
            return Err("perl s///e evaluates its replacement as code".into());
        }
    }
    Ok(())
}

/// The flags of a substitution whose delimiter starts `text` (`/a/b/gi` → "gi").
fn substitution_flags(text: &str) -> Option<&str> {
    let open = text.chars().next().filter(|c| {
        !c.is_alphanumeric() && !c.is_whitespace() && *c != '=' && *c != ',' && *c != ';'
    })?;
    let close = match open {
        '{' => '}',
        '(' => ')',
        '[' => ']',
        '<' => '>',
        c => c,
    };
    let mut rest = &text[open.len_utf8()..];
    let parts = if open == close { 2 } else { 1 };
    for _ in 0..parts {
        let end = rest.find(close)?;
        rest = &rest[end + close.len_utf8()..];
    }
    if open != close {
        rest = rest.trim_start();
        rest = rest.strip_prefix(rest.chars().next()?)?;
        let closing = match text.chars().next()? {
            '{' => '}',
            '(' => ')',
            '[' => ']',
            _ => '>',
        };
        let end = rest.find(closing)?;
        rest = &rest[end + 1..];
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// PHP's `$name(…)`: a call through a variable.
fn dollar_call(code: &str) -> bool {
    code.split('$').skip(1).any(|after| {
        let name_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        name_end > 0 && after[name_end..].trim_start().starts_with('(')
    })
}
