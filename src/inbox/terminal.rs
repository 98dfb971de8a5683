//! The full-screen terminal: entering it (alternate screen, raw mode, hidden cursor),
//! drawing rendered lines, and leaving it again on every way out — normal return,
//! error (the guard's `Drop`) and panic (a hook that restores before the message
//! prints, so the message is readable on the normal screen).
//!
//! Plain ANSI through crossterm: no mouse, works over SSH. Colour only when the
//! caller allows it (`NO_COLOR` unset); selection is also marked with `>`.

use super::view::{Line, Style};
use crossterm::style::{Attribute, Color, Print, ResetColor, SetAttribute, SetForegroundColor};
use crossterm::{cursor, queue, terminal};
use std::io::{self, Write};
use std::sync::Once;

/// The terminal in full-screen mode; dropping it restores the terminal.
#[derive(Debug)]
pub struct Screen {
    colour: bool,
}

impl Screen {
    pub fn enter(colour: bool) -> io::Result<Screen> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        let screen = Screen { colour };
        let mut out = io::stdout();
        queue!(out, terminal::EnterAlternateScreen, cursor::Hide)?;
        out.flush()?;
        Ok(screen)
    }

    pub fn size(&self) -> (usize, usize) {
        let (w, h) = terminal::size().unwrap_or((80, 24));
        (usize::from(w), usize::from(h))
    }

    /// Draw `lines` from the top, each row cleared to its end.
    pub fn draw(&self, lines: &[Line]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        for (row, line) in lines.iter().enumerate() {
            let row = u16::try_from(row).unwrap_or(u16::MAX);
            queue!(out, cursor::MoveTo(0, row))?;
            self.styled(&mut out, line)?;
            queue!(out, terminal::Clear(terminal::ClearType::UntilNewLine))?;
        }
        out.flush()
    }

    fn styled(&self, out: &mut impl Write, line: &Line) -> io::Result<()> {
        let bold = matches!(line.style, Style::Header | Style::Heading);
        let reverse = line.style == Style::Selected;
        if bold {
            queue!(out, SetAttribute(Attribute::Bold))?;
        }
        if reverse {
            queue!(out, SetAttribute(Attribute::Reverse))?;
        }
        if self.colour {
            match line.style {
                Style::Header => queue!(out, SetForegroundColor(Color::Cyan))?,
                Style::Error => queue!(out, SetForegroundColor(Color::Red))?,
                Style::Footer => queue!(out, SetForegroundColor(Color::DarkGrey))?,
                _ => {}
            }
        }
        queue!(out, Print(&line.text))?;
        if bold || reverse {
            queue!(out, SetAttribute(Attribute::Reset))?;
        }
        if self.colour {
            queue!(out, ResetColor)?;
        }
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave full-screen mode; safe to call more than once.
fn restore() {
    let mut out = io::stdout();
    let _ = queue!(
        out,
        SetAttribute(Attribute::Reset),
        cursor::Show,
        terminal::LeaveAlternateScreen
    );
    let _ = out.flush();
    let _ = terminal::disable_raw_mode();
}

/// Restore the terminal before any panic message prints, then panic as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
