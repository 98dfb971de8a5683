//! awk and sed programs: they reach the shell only through awk's `system()`,
//! `print | "cmd"`, `"cmd" | getline` and sed's `e` command and `s///e` flag.
//! A constant command there is analysed as a shell line; one built at run time
//! is opaque. A program read from a file (`-f`) is not seen: opaque.

use super::Step;

/// `awk [-F fs] [-v a=b]… 'PROGRAM' [file…]` (and gawk's long options).
pub(super) fn awk(argv: &[String]) -> Vec<Step> {
    let mut programs = Vec::new();
    let mut at = 1;
    let mut sandbox = false;
    while let Some(arg) = argv.get(at) {
        at += 1;
        let (name, attached) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        match name {
            "--" => break,
            "-F" | "-v" | "--field-separator" | "--assign" => {
                at += usize::from(attached.is_none());
            }
            "-e" | "--source" => {
                programs.extend(attached.map(String::from).or_else(|| argv.get(at).cloned()));
                at += usize::from(attached.is_none());
            }
            "-f" | "--file" | "-E" | "--exec" | "-i" | "--include" | "-l" | "--load" => {
                return vec![Step::Opaque(format!(
                    "awk {name} runs program text from a file that is not analysed"
                ))];
            }
            "-S" | "--sandbox" => sandbox = true,
            "-W" => {
                let value = argv.get(at).map(String::as_str).unwrap_or("");
                at += 1;
                if !matches!(value, "version" | "help" | "usage" | "posix" | "sandbox") {
                    return vec![Step::Opaque(format!("awk -W {value} is not analysed"))];
                }
            }
            _ if name.starts_with("-F") || name.starts_with("-v") => {}
            _ if name.starts_with("--") || (name.starts_with('-') && name.len() == 2) => {}
            _ if name.starts_with('-') && name.len() > 2 => {
                return vec![Step::Opaque(format!("unrecognised option {arg} to awk"))];
            }
            _ => {
                if programs.is_empty() {
                    programs.push(arg.clone());
                }
                break;
            }
        }
    }
    let mut steps = vec![Step::Keep];
    if sandbox {
        return steps;
    }
    for program in &programs {
        if let Err(reason) = awk_program(program, &mut steps) {
            return vec![Step::Opaque(reason)];
        }
    }
    steps
}

/// The commands an awk program runs, pushed as lines.
fn awk_program(program: &str, steps: &mut Vec<Step>) -> Result<(), String> {
    let bytes = program.as_bytes();
    let mut at = 0;
    let mut last_string: Option<String> = None;
    let mut operand_expected = true;
    while at < bytes.len() {
        let b = bytes[at];
        match b {
            b'"' => {
                let (value, end) = awk_string(program, at)?;
                last_string = Some(value);
                at = end;
                operand_expected = false;
                continue;
            }
            b'/' if operand_expected => {
                // A regular expression literal: `|` inside it is alternation.
                at += 1;
                while at < bytes.len() && bytes[at] != b'/' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
                operand_expected = false;
                continue;
            }
            b'|' if bytes.get(at + 1) == Some(&b'|') => at += 2,
            b'|' => {
                let after = program[at + 1..].trim_start_matches('&').trim_start();
                if after.starts_with("getline") {
                    let command = last_string
                        .take()
                        .ok_or("awk pipes a command built at run time into getline")?;
                    steps.push(line(command));
                } else if after.starts_with('"') {
                    let (command, end) = awk_string(after, 0)?;
                    steps.push(line(command));
                    at = program.len() - after.len() + end;
                    continue;
                } else {
                    return Err("awk pipes output to a command built at run time".into());
                }
                at += 1;
            }
            _ if program[at..].starts_with("system")
                && !is_word(bytes.get(at.wrapping_sub(1)).copied()) =>
            {
                let after = program[at + "system".len()..].trim_start();
                let inner = after.strip_prefix('(').map(str::trim_start);
                match inner.and_then(|inner| inner.starts_with('"').then(|| awk_string(inner, 0))) {
                    Some(Ok((command, end)))
                        if inner.is_some_and(|i| i[end..].trim_start().starts_with(')')) =>
                    {
                        steps.push(line(command));
                    }
                    _ => return Err("awk system() runs a command built at run time".into()),
                }
                at += "system".len();
            }
            b' ' | b'\t' | b'\n' => at += 1,
            _ => {
                operand_expected =
                    matches!(b, b'(' | b',' | b'~' | b'!' | b'{' | b';' | b'&' | b'=');
                if b.is_ascii_alphanumeric() || b == b'_' || b == b')' {
                    last_string = None;
                }
                at += 1;
            }
        }
    }
    Ok(())
}

fn is_word(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The string literal starting at `start` (a `"`), decoded, and the offset after it.
fn awk_string(text: &str, start: usize) -> Result<(String, usize), String> {
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(other) => value.push(other),
                None => break,
            },
            '"' => return Ok((value, start + 1 + i + 1)),
            c => value.push(c),
        }
    }
    Err("awk program has an unterminated string".into())
}

fn line(command: String) -> Step {
    Step::Line {
        label: "awk".into(),
        line: command,
    }
}

/// `sed [-n] [-e SCRIPT]… [SCRIPT] [file…]`; GNU sed reads options anywhere.
pub(super) fn sed(argv: &[String]) -> Vec<Step> {
    let mut scripts = Vec::new();
    let mut operands = Vec::new();
    let mut sandbox = false;
    let mut at = 1;
    while let Some(arg) = argv.get(at) {
        at += 1;
        match arg.as_str() {
            "--" => {
                operands.extend(argv[at..].iter().cloned());
                break;
            }
            "-e" | "--expression" => {
                scripts.extend(argv.get(at).cloned());
                at += 1;
            }
            "-f" | "--file" => {
                return vec![Step::Opaque(
                    "sed -f runs a script file that is not analysed".into(),
                )];
            }
            "-l" | "--line-length" => at += 1,
            "--sandbox" => sandbox = true,
            _ if arg.starts_with("--expression=") => {
                scripts.push(arg["--expression=".len()..].to_string())
            }
            _ if arg.starts_with("--file=") => {
                return vec![Step::Opaque(
                    "sed -f runs a script file that is not analysed".into(),
                )];
            }
            _ if arg.starts_with("--") => {}
            _ if arg.starts_with('-') && arg.len() > 1 => {
                let cluster = &arg[1..];
                if let Some(i) = cluster.find(['e', 'f']) {
                    if cluster.as_bytes()[i] == b'f' {
                        return vec![Step::Opaque(
                            "sed -f runs a script file that is not analysed".into(),
                        )];
                    }
                    let rest = &cluster[i + 1..];
                    if rest.is_empty() {
                        scripts.extend(argv.get(at).cloned());
                        at += 1;
                    } else {
                        scripts.push(rest.to_string());
                    }
                }
            }
            _ => operands.push(arg.clone()),
        }
    }
    if scripts.is_empty() && !operands.is_empty() {
        scripts.push(operands.remove(0));
    }
    let mut steps = vec![Step::Keep];
    if sandbox {
        return steps;
    }
    for script in &scripts {
        if let Err(reason) = sed_script(script, &mut steps) {
            return vec![Step::Opaque(reason)];
        }
    }
    steps
}

/// Walk a sed script command by command, finding `e COMMAND` and `s///e`.
fn sed_script(script: &str, steps: &mut Vec<Step>) -> Result<(), String> {
    let chars: Vec<char> = script.chars().collect();
    let mut at = 0;
    let skip_to_line_end = |at: &mut usize| {
        while *at < chars.len() && chars[*at] != '\n' {
            *at += 1;
        }
    };
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            ' ' | '\t' | '\n' | ';' | '{' | '}' | '!' | ',' | '$' => {}
            '0'..='9' | '~' | '+' => {}
            '/' | '\\' => {
                // An address: /re/ or \cREc.
                let delimiter = if c == '\\' {
                    chars.get(at).copied().unwrap_or('/')
                } else {
                    '/'
                };
                at += usize::from(c == '\\');
                while at < chars.len() && chars[at] != delimiter {
                    at += if chars[at] == '\\' { 2 } else { 1 };
                }
                at += 1;
                while at < chars.len() && matches!(chars[at], 'I' | 'M') {
                    at += 1;
                }
            }
            'e' => {
                let start = at;
                skip_to_line_end(&mut at);
                let command: String = chars[start..at].iter().collect();
                let command = command.trim();
                if command.is_empty() {
                    return Err("sed e runs the pattern space as a command".into());
                }
                steps.push(Step::Line {
                    label: "sed e".into(),
                    line: command.to_string(),
                });
            }
            's' | 'y' => {
                let delimiter = *chars.get(at).ok_or("sed s is missing its delimiter")?;
                at += 1;
                for _ in 0..2 {
                    while at < chars.len() && chars[at] != delimiter {
                        at += if chars[at] == '\\' { 2 } else { 1 };
                    }
                    at += 1;
                }
                if c == 's' {
                    let start = at;
                    while at < chars.len() && !matches!(chars[at], ';' | '\n' | '}') {
                        if chars[at] == 'w' {
                            skip_to_line_end(&mut at);
                            break;
                        }
                        at += 1;
                    }
                    let flags: String = chars[start..at.min(chars.len())].iter().collect();
                    if flags.contains('e') && !flags.contains('w') {
                        return Err("sed s///e runs the pattern space as a command".into());
                    }
                }
            }
            'a' | 'i' | 'c' | 'r' | 'R' | 'w' | 'W' | 'b' | 't' | 'T' | ':' | '#' => {
                if matches!(c, 'b' | 't' | 'T' | ':') {
                    while at < chars.len() && !matches!(chars[at], ';' | '\n' | '}') {
                        at += 1;
                    }
                } else {
                    skip_to_line_end(&mut at);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
