//! Diagnostics for policy files: `path:line:col: message`, the source line, a caret
//! under the spot, and a hint that says the fix. Building and rendering only; the
//! caller decides where the text goes.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// How many characters the caret underlines (at least 1, never past the line end).
    pub length: usize,
    pub message: String,
    /// The full source line the diagnostic points into.
    pub source_line: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for the byte range `span` of `source`. A span that runs over
    /// several lines is underlined to the end of its first line.
    pub fn at(source: &str, path: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let source_line = source[line_start..line_end].trim_end_matches('\r');
        let underlined = &source[start..end.min(line_end)];
        Diagnostic {
            path: path.to_string(),
            line: source[..start].matches('\n').count() + 1,
            column: source[line_start..start].chars().count() + 1,
            length: underlined.chars().count().max(1),
            message: message.into(),
            source_line: source_line.to_string(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The full multi-line report: location and message, the source line with a
    /// caret under the spot, then the hint. ANSI colours only when `color` is set.
    pub fn render(&self, color: bool) -> String {
        let paint = Paint { on: color };
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len() + 1);
        let bar = paint.blue("|");
        // Copy tabs from the source line so the caret lines up under tabs too.
        let padding: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut out = format!(
            "{}: {}\n{gutter}{bar}\n{} {bar} {}\n{gutter}{bar} {padding}{}\n",
            paint.bold(&format!("{}:{}:{}", self.path, self.line, self.column)),
            paint.bold(&self.message),
            paint.blue(&number),
            self.source_line,
            paint.red(&"^".repeat(self.length.max(1))),
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{gutter}{} {hint}\n", paint.cyan("= hint:")));
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// ANSI styling that disappears when colour is off.
struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(&self, text: &str) -> String {
        self.wrap("1;31", text)
    }
    fn blue(&self, text: &str) -> String {
        self.wrap("1;34", text)
    }
    fn cyan(&self, text: &str) -> String {
        self.wrap("1;36", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_the_span_on_its_line() {
        let source = "version = 1\n[approval]\n        aprovers = []\n";
        let start = source.find("aprovers").unwrap();
        let d = Diagnostic::at(
            source,
            "p.toml",
            start..start + 8,
            "unknown key \"aprovers\"",
        )
        .with_hint("did you mean \"approvers\"?");
        assert_eq!((d.line, d.column, d.length), (3, 9, 8));
        assert_eq!(
            d.render(false),
            "p.toml:3:9: unknown key \"aprovers\"\n  |\n3 |         aprovers = []\n  |         ^^^^^^^^\n  = hint: did you mean \"approvers\"?\n"
        );
    }

    #[test]
    fn empty_span_at_end_of_input_still_gets_a_caret() {
        let d = Diagnostic::at("a = ", "p.toml", 4..4, "expected a value");
        assert_eq!((d.line, d.column, d.length), (1, 5, 1));
        assert!(d.render(true).contains("\x1b[1;31m^\x1b[0m"));
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let source = "# é\nname = \"ü*\"";
        let d = Diagnostic::at(source, "p", 12..13, "x");
        assert_eq!((d.line, d.column), (2, 8));
    }
}
