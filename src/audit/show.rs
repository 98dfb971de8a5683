//! `gate audit show`: records as a readable table, one line each.
//!
//! Output only. Everything printed from a record passes through [`printable`], so a
//! command carrying terminal escape sequences cannot rewrite the screen.

use super::{Decision, Outcome, Record, RecordDecision};
use std::io::{self, Write};

const COMMAND_WIDTH: usize = 60;
const RULES_WIDTH: usize = 24;
const WHO_WIDTH: usize = 20;

/// Write `records` as a table; `color` adds ANSI colours to the decision column.
pub fn show(records: &[Record], out: &mut impl Write, color: bool) -> io::Result<()> {
    let seq_width = records.last().map_or(3, |r| r.seq.to_string().len().max(3));
    writeln!(
        out,
        "{:>seq_width$}  {:<19}  {:<8}  {:<WHO_WIDTH$}  {:<9}  {:<13}  {:<RULES_WIDTH$}  COMMAND",
        "SEQ", "TIME (UTC)", "KIND", "USER@HOST", "DECISION", "RESULT", "RULES"
    )?;
    for record in records {
        write_row(record, seq_width, out, color)?;
    }
    Ok(())
}

fn write_row(
    record: &Record,
    seq_width: usize,
    out: &mut impl Write,
    color: bool,
) -> io::Result<()> {
    let entry = &record.body.entry;
    let kind = entry.kind.as_str();
    let who = format!("{}@{}", entry.requester.user, entry.requester.host);
    let mut rules = entry.rules.join(", ");
    if entry.break_glass {
        rules.insert_str(0, "BREAK-GLASS ");
    }
    let decision = fit(entry.decision.as_str(), 9);
    let decision = match (color, colour_of(record)) {
        (true, Some(code)) => format!("\x1b[{code}m{decision:<9}\x1b[0m"),
        _ => format!("{decision:<9}"),
    };
    writeln!(
        out,
        "{:>seq_width$}  {:<19}  {kind:<8}  {:<WHO_WIDTH$}  {decision}  {:<13}  {:<RULES_WIDTH$}  {}",
        record.seq,
        short_time(&record.body.time),
        fit(&who, WHO_WIDTH),
        result(record),
        fit(&or_dash(rules), RULES_WIDTH),
        fit(&entry.command.join(" "), COMMAND_WIDTH),
    )
}

/// ANSI colour for the decision: green went ahead fine, red refused or failed.
fn colour_of(record: &Record) -> Option<&'static str> {
    let entry = &record.body.entry;
    if entry.break_glass {
        return Some("35");
    }
    Some(match entry.decision {
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
    })
}

/// Exit status and duration of an outcome record.
fn result(record: &Record) -> String {
    let entry = &record.body.entry;
    let status = match (entry.exit_code, entry.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => String::new(),
    };
    let took = entry.duration_ms.map(duration).unwrap_or_default();
    or_dash(format!("{status} {took}").trim().to_owned())
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
    printable(time)
        .chars()
        .take(19)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect()
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

/// At most `width` characters, control characters escaped, `…` when cut.
fn fit(text: &str, width: usize) -> String {
    let text = printable(text);
    if text.chars().count() <= width {
        return text;
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
