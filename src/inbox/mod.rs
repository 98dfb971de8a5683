//! `gate inbox`: a full-screen terminal UI where an approver sees pending requests
//! live and approves or denies them.
//!
//! Owns the event loop: it feeds keys and broker updates into the pure state
//! machine (`state`), performs the effects that come out, and redraws the rendered
//! view (`view`) on every change and once a second for the countdowns. Broker I/O
//! happens on background threads (`feed`); the terminal is entered and always
//! restored by `terminal`. Broker errors go to the status line and never end the UI.

mod feed;
pub mod state;
mod terminal;
pub mod view;

use crate::approval::BrokerClient;
use crate::error::{Error, exit};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use feed::{Broker, Update};
use state::{Effect, Inbox, Key};
use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// How long to wait for a key before looking at broker updates again.
const TICK: Duration = Duration::from_millis(100);

/// Redraw at least this often, so the time-left counters move.
const REDRAW: Duration = Duration::from_secs(1);

/// Run the inbox until the approver quits.
pub fn run(client: BrokerClient, token: String) -> Result<u8, Error> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::Refused {
            message: "gate inbox needs a terminal; use `gate pending` and `gate approve`/`deny` \
                      in scripts"
                .into(),
            code: exit::USAGE,
        });
    }
    let broker = Broker { client, token };
    let (updates, received) = mpsc::channel();
    feed::spawn_feed(broker.clone(), updates.clone());

    let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let screen = terminal::Screen::enter(colour).map_err(terminal_error)?;
    let mut inbox = Inbox::new(broker.client.base());
    let mut dirty = true;
    let mut drawn = Instant::now();
    loop {
        while let Ok(update) = received.try_recv() {
            apply(&mut inbox, update);
            dirty = true;
        }
        if dirty || drawn.elapsed() >= REDRAW {
            let (width, height) = screen.size();
            let lines = view::render(&inbox, width, height, SystemTime::now());
            screen.draw(&lines).map_err(terminal_error)?;
            drawn = Instant::now();
            dirty = false;
        }
        if !event::poll(TICK).map_err(terminal_error)? {
            continue;
        }
        dirty = true;
        let Event::Key(key) = event::read().map_err(terminal_error)? else {
            continue;
        };
        let Some(key) = translate(key) else {
            continue;
        };
        match inbox.key(key) {
            Effect::None => {}
            Effect::Quit => break,
            Effect::Decide {
                id,
                verdict,
                reason,
            } => feed::spawn_decision(broker.clone(), id, verdict, reason, updates.clone()),
        }
    }
    drop(screen);
    Ok(exit::OK)
}

fn apply(inbox: &mut Inbox, update: Update) {
    match update {
        Update::List(list) => inbox.list(list),
        Update::FeedFailed(error) => inbox.feed_failed(error),
        Update::Decided { verdict, result } => inbox.decided(verdict, result.map(|view| *view)),
    }
}

/// A crossterm key press as an inbox key; releases and repeats of other keys are ignored.
fn translate(key: KeyEvent) -> Option<Key> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c') | KeyCode::Char('d'))
            .then_some(Key::Interrupt);
    }
    Some(match key.code {
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Char(c) => Key::Char(c),
        _ => return None,
    })
}

fn terminal_error(err: std::io::Error) -> Error {
    Error::Internal(format!("gate inbox: terminal: {err}"))
}

#[cfg(test)]
mod tests;
