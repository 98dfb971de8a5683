//! Rendering the inbox state into exactly `height` lines of at most `width`
//! characters, each tagged with a [`Style`]. Pure: the clock is a parameter and
//! nothing is written; `super::terminal` turns lines into escape sequences.
//!
//! Layout, top to bottom: header, column heads, the list, a separator, the detail
//! pane for the selected request, the status line, the key help.

use super::state::{Connection, Inbox, Mode, Notice};
use crate::approval::protocol::RequestView;
use crate::approval::summary;
use std::time::SystemTime;

/// How a line is drawn; the terminal decides what that means with or without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Header,
    Heading,
    Plain,
    Selected,
    Error,
    Footer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub style: Style,
}

impl Line {
    fn new(text: impl Into<String>, style: Style, width: usize) -> Line {
        Line {
            text: summary::truncate(&text.into(), width),
            style,
        }
    }
}

const AGE: usize = 4;
const LEFT: usize = 8;
/// Width of the labels in the detail pane.
const LABEL: usize = 11;

/// The whole screen for `state` at `width` x `height`, times relative to `now`.
pub fn render(state: &Inbox, width: usize, height: usize, now: SystemTime) -> Vec<Line> {
    let width = width.max(20);
    let height = height.max(8);
    // Header, column heads, separator, status, footer: five fixed lines.
    let body = height - 5;
    let list_rows = (body * 2 / 5).max(3).min(body - 1);
    let detail_rows = body - list_rows;

    let columns = Columns::fit(state, width);
    let mut lines = vec![header(state, width), columns.heads(width)];
    lines.extend(list(state, &columns, width, list_rows, now));
    let title = "── details ";
    let rule = "─".repeat(width.saturating_sub(title.chars().count()));
    lines.push(Line::new(format!("{title}{rule}"), Style::Heading, width));
    let detail = state
        .selected_request()
        .map(|r| detail(r, width, now))
        .unwrap_or_default();
    lines.extend(fit(detail, detail_rows, width));
    lines.push(status(state, width));
    lines.push(footer(state, width));
    lines
}

fn header(state: &Inbox, width: usize) -> Line {
    let left = format!("gate inbox  {}", state.server);
    let right = match &state.connection {
        Connection::Connecting => "connecting…".to_string(),
        Connection::Live => format!("{} pending", state.requests.len()),
        Connection::Reconnecting(_) => "reconnecting…".to_string(),
    };
    let gap = width.saturating_sub(left.chars().count() + right.chars().count());
    let text = if gap == 0 {
        format!("{left} {right}")
    } else {
        format!("{left}{}{right}", " ".repeat(gap))
    };
    Line::new(text, Style::Header, width)
}

/// The list's column widths. Age and time left are fixed; the requester and the
/// rule get what their longest values need (the rule up to a quarter of the
/// screen), and the command takes the rest, so a wide terminal shows whole rules
/// rather than an ever longer command column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    requester: usize,
    command: usize,
    rule: usize,
}

impl Columns {
    /// Neither the requester nor the rule shrinks below this to make room.
    const SHRINK_TO: usize = 12;

    fn fit(state: &Inbox, width: usize) -> Columns {
        let longest = |heading: &str, value: &dyn Fn(&RequestView) -> usize| {
            state
                .requests
                .iter()
                .map(value)
                .chain([heading.chars().count(), Self::SHRINK_TO])
                .max()
                .unwrap_or(0)
        };
        let requester = longest("REQUESTER", &|r| {
            summary::requester_short(&r.requester).chars().count()
        })
        .min((width / 5).clamp(Self::SHRINK_TO, 24));
        let rule = longest("RULE", &|r| summary::rules(r).chars().count())
            .min((width / 4).max(Self::SHRINK_TO));
        let command = longest("COMMAND", &|r| {
            summary::command_line(&r.argv).chars().count()
        });
        // Marker, spaces between the five columns, age and time left.
        let fixed = 2 + 4 + AGE + LEFT;
        let mut columns = Columns {
            requester,
            rule,
            command: width.saturating_sub(fixed + requester + rule),
        };
        // The command wants up to three tenths of the screen: the rule, then the
        // requester give way for it.
        let wanted = command.min(width * 3 / 10);
        for column in [&mut columns.rule, &mut columns.requester] {
            let give = wanted
                .saturating_sub(columns.command)
                .min(column.saturating_sub(Self::SHRINK_TO));
            *column -= give;
            columns.command += give;
        }
        columns.command = columns.command.max(10);
        columns
    }

    fn row(&self, marker: &str, cells: [&str; 5]) -> String {
        let [age, requester, command, rule, left] = cells;
        let (req, cmd, rul) = (self.requester, self.command, self.rule);
        format!(
            "{marker} {:<AGE$} {:<req$} {:<cmd$} {:<rul$} {:<LEFT$}",
            age,
            summary::truncate(requester, req),
            summary::truncate(command, cmd),
            summary::truncate(rule, rul),
            left,
        )
    }

    fn heads(&self, width: usize) -> Line {
        let text = self.row(" ", ["AGE", "REQUESTER", "COMMAND", "RULE", "LEFT"]);
        Line::new(text.trim_end(), Style::Heading, width)
    }
}

fn list(state: &Inbox, columns: &Columns, width: usize, rows: usize, now: SystemTime) -> Vec<Line> {
    if state.requests.is_empty() {
        let text = match state.connection {
            Connection::Live => "  No pending requests; new ones appear here as they arrive.",
            _ => "  Waiting for the broker…",
        };
        let mut lines = vec![Line::new(text, Style::Plain, width)];
        lines.resize(rows, Line::new("", Style::Plain, width));
        return lines;
    }
    // Scroll so the selected row is always visible.
    let first = (state.selected + 1).saturating_sub(rows);
    let mut lines: Vec<Line> = state
        .requests
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(at, r)| {
            let selected = at == state.selected;
            let text = columns.row(
                if selected { ">" } else { " " },
                [
                    &summary::age(&r.created_at, now),
                    &summary::requester_short(&r.requester),
                    &summary::command_line(&r.argv),
                    &summary::rules(r),
                    &summary::time_left(&r.expires_at, now),
                ],
            );
            let style = if selected {
                Style::Selected
            } else {
                Style::Plain
            };
            Line::new(text.trim_end(), style, width)
        })
        .collect();
    lines.resize(rows, Line::new("", Style::Plain, width));
    lines
}

/// Every field of the selected request, labelled and wrapped to `width`.
fn detail(r: &RequestView, width: usize, now: SystemTime) -> Vec<Line> {
    let mut fields: Vec<(&str, String)> = vec![
        ("Command", summary::command_line(&r.argv)),
        ("Cwd", r.cwd.clone()),
        ("Requester", summary::requester_long(&r.requester)),
        ("Rule", format!("{}: {}", summary::rules(r), r.rule_reason)),
        (
            "Reason",
            r.reason.clone().unwrap_or_else(|| "(none given)".into()),
        ),
        (
            "Approvers",
            format!(
                "{} ({} of {} approvals so far)",
                r.approvers.join(", "),
                summary::approvals(r),
                r.quorum
            ),
        ),
    ];
    if let Some(identity) = summary::ci_identity(r) {
        fields.insert(3, ("CI identity", identity));
    }
    if r.votes.is_empty() {
        fields.push(("Votes", "none yet".into()));
    }
    for (at, vote) in r.votes.iter().enumerate() {
        let verdict = vote.verdict.past_tense();
        let mut text = format!("{} {verdict} via {}", vote.person, vote.channel);
        if let Some(reason) = &vote.reason {
            text.push_str(&format!(": {reason}"));
        }
        fields.push((if at == 0 { "Votes" } else { "" }, text));
    }
    let mut id = format!(
        "{}  expires in {}",
        r.id,
        summary::time_left(&r.expires_at, now)
    );
    if r.break_glass {
        id.push_str("  BREAK-GLASS");
    }
    fields.push(("Id", id));

    let value_width = width.saturating_sub(LABEL + 1).max(10);
    let mut lines = Vec::new();
    for (label, value) in fields {
        for (at, chunk) in wrap(&value, value_width).into_iter().enumerate() {
            let label = if at == 0 { label } else { "" };
            lines.push(Line::new(
                format!("{label:<LABEL$} {chunk}").trim_end(),
                Style::Plain,
                width,
            ));
        }
    }
    lines
}

/// Wrap `text` into pieces of at most `width` characters (at least one piece),
/// breaking after a space where there is one, else mid-word.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rest: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    while rest.len() > width {
        let cut = match rest[..=width].iter().rposition(|c| *c == ' ') {
            Some(space) if space > 0 => space + 1,
            _ => width,
        };
        let piece: String = rest.drain(..cut).collect();
        pieces.push(piece.trim_end().to_string());
    }
    pieces.push(rest.into_iter().collect());
    pieces
}

/// Exactly `rows` lines: padded with blanks, or cut with a `…` line at the end.
fn fit(mut lines: Vec<Line>, rows: usize, width: usize) -> Vec<Line> {
    if lines.len() > rows {
        lines.truncate(rows.saturating_sub(1));
        lines.push(Line::new("…", Style::Plain, width));
    }
    lines.resize(rows, Line::new("", Style::Plain, width));
    lines
}

fn status(state: &Inbox, width: usize) -> Line {
    if let Mode::ConfirmApprove { id } = &state.mode {
        let command = state
            .requests
            .iter()
            .find(|r| &r.id == id)
            .map(|r| summary::command_line(&r.argv))
            .unwrap_or_default();
        let question = format!("Approve {}: ", summary::truncate(id, 9));
        let room = width.saturating_sub(question.chars().count() + 1);
        let command = summary::truncate(&command, room);
        return Line::new(format!("{question}{command}?"), Style::Selected, width);
    }
    if let Mode::DenyReason { id, text } = &state.mode {
        return Line::new(
            format!("Deny {}, reason: {text}_", summary::truncate(id, 9)),
            Style::Selected,
            width,
        );
    }
    match (&state.notice, &state.connection) {
        (_, Connection::Reconnecting(error)) => {
            Line::new(format!("reconnecting… {error}"), Style::Error, width)
        }
        (Some(Notice::Error(text)), _) => Line::new(text.as_str(), Style::Error, width),
        (Some(Notice::Info(text)), _) => Line::new(text.as_str(), Style::Plain, width),
        (None, Connection::Connecting) => Line::new(
            format!("connecting to {}…", state.server),
            Style::Plain,
            width,
        ),
        (None, _) => Line::new("", Style::Plain, width),
    }
}

fn footer(state: &Inbox, width: usize) -> Line {
    let text = match state.mode {
        Mode::Browse => "↑/↓ j/k select   a approve   d deny   q quit",
        Mode::ConfirmApprove { .. } => "y or Enter approve   any other key cancels",
        Mode::DenyReason { .. } => "type the reason   Enter deny   Esc cancel",
    };
    Line::new(text, Style::Footer, width)
}
