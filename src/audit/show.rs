//! `gate audit show`: records as a readable table, one line each, in the order given.
//!
//! Output only: it lays out what it is handed and decides nothing about which
//! records or how many. Everything printed from a record passes through
//! [`printable`], so a command carrying terminal escape sequences cannot rewrite the
//! screen.

use super::{Decision, Outcome, Record, RecordDecision, RecordKind};
use std::io::{self, Write};

const HEADERS: [&str; COLUMNS] = [
    "SEQ",
    "TIME (UTC)",
    "USER@HOST",
    "DECISION",
    "APPROVERS",
    "RULES",
    "COMMAND",
    "REASON",
];
const COLUMNS: usize = 8;
const SEQ: usize = 0;
const WHO: usize = 2;
const DECISION: usize = 3;
const APPROVERS: usize = 4;
const RULES: usize = 5;
const COMMAND: usize = 6;
const REASON: usize = 7;
const GAP: &str = "  ";

/// Widths the columns that name people and rules keep while there is room; past
/// these they are cut before the command and reason lose their share.
const READABLE: [(usize, usize); 3] = [(WHO, 20), (APPROVERS, 20), (RULES, 24)];
/// The least a squeezed column keeps.
const FLOOR: usize = 6;
/// The command's least width when the terminal is too narrow for everything.
const COMMAND_FLOOR: usize = 12;

/// Write `records` as a table. `color` adds ANSI colours to the decision column;
/// `width` is the most a line may take (the terminal's), `None` for no limit. Only
/// the user, approvers, rules, command and reason are ever cut, with `…`.
pub fn show(
    records: &[Record],
    out: &mut impl Write,
    color: bool,
    width: Option<usize>,
) -> io::Result<()> {
    let rows: Vec<[String; COLUMNS]> = records.iter().map(cells).collect();
    let widths = layout(&rows, width);
    let header = HEADERS.map(String::from);
    write_line(out, &header, &widths, None)?;
    for (row, record) in rows.iter().zip(records) {
        write_line(out, row, &widths, color.then(|| colour_of(record)))?;
    }
    Ok(())
}

fn write_line(
    out: &mut impl Write,
    cells: &[String; COLUMNS],
    widths: &[usize; COLUMNS],
    colour: Option<&str>,
) -> io::Result<()> {
    let mut line = String::new();
    for (column, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        let cell = fit(cell, width);
        let pad = width.saturating_sub(cell.chars().count());
        if column > 0 {
            line.push_str(GAP);
        }
        match (column, colour) {
            (SEQ, _) => line.extend(std::iter::repeat_n(' ', pad).chain(cell.chars())),
            (DECISION, Some(code)) => line.push_str(&format!("\x1b[{code}m{cell}\x1b[0m")),
            _ => line.push_str(&cell),
        }
        if column != SEQ && column + 1 < COLUMNS {
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// The cells of one record, control characters escaped, not yet cut.
fn cells(record: &Record) -> [String; COLUMNS] {
    let entry = &record.body.entry;
    let who = format!("{}@{}", entry.requester.user, entry.requester.host);
    let mut rules = entry.rules.join(", ");
    if entry.break_glass {
        rules.insert_str(0, "BREAK-GLASS ");
    }
    let approvers: Vec<&str> = entry.approvers.iter().map(|a| a.name.as_str()).collect();
    [
        record.seq.to_string(),
        short_time(&record.body.time),
        who,
        decision(record),
        approvers.join(", "),
        rules,
        entry.command.join(" "),
        entry.reason.clone().unwrap_or_default(),
    ]
    .map(|cell| or_dash(printable(&cell)))
}

/// Column widths: each column's widest cell, or, when that is wider than `limit`,
/// the names and rules cut to a readable width and the command and reason sharing
/// what is left (the command two thirds). Columns give way to the command down to
/// [`FLOOR`]; a terminal too narrow for even that gets longer lines.
fn layout(rows: &[[String; COLUMNS]], limit: Option<usize>) -> [usize; COLUMNS] {
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let Some(limit) = limit else {
        return widths;
    };
    let total = |w: &[usize; COLUMNS]| w.iter().sum::<usize>() + GAP.len() * (COLUMNS - 1);
    if total(&widths) <= limit {
        return widths;
    }
    let natural = widths;
    for (column, readable) in READABLE {
        widths[column] = widths[column].min(readable);
    }
    let others = total(&widths) - widths[COMMAND] - widths[REASON];
    let want = natural[COMMAND].min(COMMAND_FLOOR) + natural[REASON].min(FLOOR);
    let mut short = (others + want).saturating_sub(limit);
    for (column, _) in READABLE {
        let give = widths[column].saturating_sub(FLOOR).min(short);
        widths[column] -= give;
        short -= give;
    }
    let room = limit.saturating_sub(total(&widths) - widths[COMMAND] - widths[REASON]);
    let room = room.max(4);
    // The reason gets a third, at least FLOOR while the command keeps as much; the
    // command what is left, then the reason takes back what the command does not need.
    let reason = natural[REASON].min((room / 3).max(FLOOR).min(room / 2));
    widths[COMMAND] = natural[COMMAND].min(room.saturating_sub(reason));
    widths[REASON] = natural[REASON].min(room - widths[COMMAND]);
    widths
}

/// The decision, or for an outcome record what became of the command.
fn decision(record: &Record) -> String {
    let entry = &record.body.entry;
    if entry.kind == RecordKind::Decision {
        return entry.decision.as_str().to_owned();
    }
    let status = match (entry.exit_code, entry.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => entry.decision.as_str().to_owned(),
    };
    match entry.duration_ms {
        Some(ms) => format!("{status} {}", duration(ms)),
        None => status,
    }
}

/// ANSI colour for the decision: green went ahead fine, red refused or failed.
fn colour_of(record: &Record) -> &'static str {
    let entry = &record.body.entry;
    if entry.break_glass {
        return "35";
    }
    match entry.decision {
        RecordDecision::Decision(Decision::Allow | Decision::Approved) => "32",
        RecordDecision::Outcome(Outcome::Exited) if entry.exit_code == Some(0) => "32",
        RecordDecision::Decision(Decision::Deny | Decision::Rejected) => "31",
        RecordDecision::Outcome(Outcome::Exited | Outcome::Signalled | Outcome::Failed) => "31",
        RecordDecision::Decision(
            Decision::NeedsApproval
            | Decision::TimedOut
            | Decision::Cancelled
            | Decision::ApprovalInvalid,
        ) => "33",
    }
}

fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// `2025-01-31T09:15:02.123Z` → `2025-01-31 09:15:02`.
fn short_time(time: &str) -> String {
    time.chars()
        .take(19)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect()
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

/// At most `width` characters, `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Escape control characters (ESC, CR, newlines, …) so they show, not act.
pub(crate) fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
