//! ANSI-C quoting (`$'…'`): bash decodes the escapes before the word is used, so
//! `$'\x6bubectl'` runs `kubectl` and must be matched as `kubectl`.

/// Decode the text between `$'` and `'` as bash does. A NUL ends the string, as
/// it does for bash; bytes that are not UTF-8 are replaced.
pub(super) fn decode(text: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push(b'\\');
            break;
        };
        let byte = match escape {
            'a' => 0x07,
            'b' => 0x08,
            'e' | 'E' => 0x1b,
            'f' => 0x0c,
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'v' => 0x0b,
            '\\' | '\'' | '"' | '?' => escape as u8,
            '0'..='7' => {
                let digits = take_digits(&mut chars, Some(escape), 8, 3);
                (digits & 0xff) as u8
            }
            'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
                take_digits(&mut chars, None, 16, 2) as u8
            }
            'u' | 'U' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
                let width = if escape == 'u' { 4 } else { 8 };
                let code = take_digits(&mut chars, None, 16, width);
                match char::from_u32(code) {
                    Some('\0') => break,
                    Some(decoded) => push_char(&mut out, decoded),
                    None => {}
                }
                continue;
            }
            'c' => match chars.next() {
                // `\cX` is the control character X & 0x1f; `\c?` is DEL.
                Some('?') => 0x7f,
                Some(control) => (control as u32 & 0x1f) as u8,
                None => {
                    out.extend_from_slice(b"\\c");
                    break;
                }
            },
            other => {
                out.push(b'\\');
                push_char(&mut out, other);
                continue;
            }
        };
        if byte == 0 {
            break;
        }
        out.push(byte);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Up to `max` digits in `radix`, the first possibly already read.
fn take_digits(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    first: Option<char>,
    radix: u32,
    max: usize,
) -> u32 {
    let mut value = first.and_then(|c| c.to_digit(radix)).unwrap_or(0);
    let mut taken = usize::from(first.is_some());
    while taken < max {
        let Some(digit) = chars.peek().and_then(|c| c.to_digit(radix)) else {
            break;
        };
        chars.next();
        value = value.saturating_mul(radix).saturating_add(digit);
        taken += 1;
    }
    value
}
