//! The inbox as a pure state machine: the pending requests, which one is selected,
//! whether a deny reason is being typed, what the status line says, and whether the
//! broker is reachable. Keys and broker updates go in; [`Effect`]s come out.
//!
//! No I/O and no clock here: the event loop (`super`) performs the effects and the
//! view (`super::view`) renders the state.

use crate::approval::protocol::{Choice, RequestList, RequestView};
use crate::approval::summary;

/// A key press, as far as the inbox cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Enter,
    Esc,
    Backspace,
    /// Ctrl-C: quit from anywhere.
    Interrupt,
    Char(char),
}

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    /// Send this decision to the broker; report back with [`Inbox::decided`].
    Decide {
        id: String,
        verdict: Choice,
        reason: Option<String>,
    },
}

/// What the user is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Browse,
    /// `a` was pressed on request `id`: `y` or Enter approves it, anything else
    /// cancels. Bound to the id, so a list that changes meanwhile cannot move the
    /// approval to another request.
    ConfirmApprove {
        id: String,
    },
    /// Typing the reason to deny request `id`.
    DenyReason {
        id: String,
        text: String,
    },
}

/// Whether the broker feed is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// The last poll failed with this error; the feed retries.
    Reconnecting(String),
}

/// The status line: the outcome of the last action, an error or a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Inbox {
    pub server: String,
    pub requests: Vec<RequestView>,
    /// Index into `requests`; meaningless when it is empty.
    pub selected: usize,
    pub mode: Mode,
    pub connection: Connection,
    pub notice: Option<Notice>,
}

impl Inbox {
    pub fn new(server: &str) -> Inbox {
        Inbox {
            server: server.to_string(),
            requests: Vec::new(),
            selected: 0,
            mode: Mode::Browse,
            connection: Connection::Connecting,
            notice: None,
        }
    }

    pub fn selected_request(&self) -> Option<&RequestView> {
        self.requests.get(self.selected)
    }

    /// A new list from the broker. The selection follows the selected request when it
    /// is still pending, else stays at the same position.
    pub fn list(&mut self, list: RequestList) {
        let keep = self.selected_request().map(|r| r.id.clone());
        self.requests = list.requests;
        summary::sort_oldest_first(&mut self.requests);
        self.connection = Connection::Live;
        if let Some(at) = keep.and_then(|id| self.requests.iter().position(|r| r.id == id)) {
            self.selected = at;
        }
        self.selected = self.selected.min(self.requests.len().saturating_sub(1));
        if let Mode::DenyReason { id, .. } | Mode::ConfirmApprove { id } = &self.mode
            && !self.requests.iter().any(|r| &r.id == id)
        {
            self.notice = Some(Notice::Info(format!("{id} was decided meanwhile")));
            self.mode = Mode::Browse;
        }
    }

    /// The feed failed; it keeps retrying.
    pub fn feed_failed(&mut self, error: String) {
        self.connection = Connection::Reconnecting(error);
    }

    /// The broker's answer to a decision.
    pub fn decided(&mut self, verdict: Choice, result: Result<RequestView, String>) {
        self.notice = Some(match result {
            Ok(view) => Notice::Info(summary::outcome(verdict, &view)),
            Err(error) => Notice::Error(error),
        });
    }

    pub fn key(&mut self, key: Key) -> Effect {
        if key == Key::Interrupt {
            return Effect::Quit;
        }
        match self.mode.clone() {
            Mode::Browse => self.browse_key(key),
            Mode::ConfirmApprove { id } => self.confirm_key(key, id),
            Mode::DenyReason { id, text } => self.reason_key(key, id, text),
        }
    }

    fn browse_key(&mut self, key: Key) -> Effect {
        match key {
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') if self.selected + 1 < self.requests.len() => {
                self.selected += 1;
            }
            Key::Char('q') => return Effect::Quit,
            Key::Char('a') => {
                if let Some(id) = self.selected_id() {
                    self.mode = Mode::ConfirmApprove { id };
                    self.notice = None;
                }
            }
            Key::Char('d') => {
                if let Some(id) = self.selected_id() {
                    self.mode = Mode::DenyReason {
                        id,
                        text: String::new(),
                    };
                    self.notice = None;
                }
            }
            _ => {}
        }
        Effect::None
    }

    fn confirm_key(&mut self, key: Key, id: String) -> Effect {
        self.mode = Mode::Browse;
        if matches!(key, Key::Enter | Key::Char('y' | 'Y')) {
            self.notice = Some(Notice::Info(format!("approving {id}…")));
            return Effect::Decide {
                id,
                verdict: Choice::Approve,
                reason: None,
            };
        }
        self.notice = Some(Notice::Info(format!("not approved: {id}")));
        Effect::None
    }

    fn reason_key(&mut self, key: Key, id: String, mut text: String) -> Effect {
        match key {
            Key::Esc => {
                self.mode = Mode::Browse;
                self.notice = Some(Notice::Info("deny cancelled".into()));
                return Effect::None;
            }
            Key::Enter => {
                let reason = text.trim().to_string();
                if reason.is_empty() {
                    self.notice = Some(Notice::Error(
                        "type the reason to deny (shown to the requester), or Esc".into(),
                    ));
                    return Effect::None;
                }
                self.mode = Mode::Browse;
                self.notice = Some(Notice::Info(format!("denying {id}…")));
                return Effect::Decide {
                    id,
                    verdict: Choice::Deny,
                    reason: Some(reason),
                };
            }
            Key::Backspace => {
                text.pop();
            }
            Key::Char(c) if !c.is_control() => text.push(c),
            _ => {}
        }
        self.mode = Mode::DenyReason { id, text };
        Effect::None
    }

    /// The selected request's id; says so in the status line when there is none.
    fn selected_id(&mut self) -> Option<String> {
        let id = self.selected_request().map(|r| r.id.clone());
        if id.is_none() {
            self.notice = Some(Notice::Info("no request selected".into()));
        }
        id
    }
}
