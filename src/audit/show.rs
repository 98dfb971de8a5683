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
    let mut rows: Vec<[String; COLUMNS]> = records.iter().map(|r| cells(r, false)).collect();
    let mut widths = layout(&rows, width);
    // Too narrow for every column to stay readable: the short time and no
    // reason column (`--wide` shows everything).
    if cramped(&rows, &widths) {
        rows = records.iter().map(|r| cells(r, true)).collect();
        widths = layout(&rows, width);
    }
    let mut header = HEADERS.map(String::from);
    if widths[REASON] == 0 {
        header[REASON].clear();
    }
    write_line(out, &header, &widths, None)?;
    for (row, record) in rows.iter().zip(records) {
        write_line(out, row, &widths, color.then(|| colour_of(record)))?;
    }
    Ok(())
}

/// Whether the command or the reason got too little of the width to be read.
fn cramped(rows: &[[String; COLUMNS]], widths: &[usize; COLUMNS]) -> bool {
    let widest = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    widths[COMMAND] < widest(COMMAND).min(24) || widths[REASON] < widest(REASON).min(12)
}

fn write_line(
    out: &mut impl Write,
    cells: &[String; COLUMNS],
    widths: &[usize; COLUMNS],
    colour: Option<&str>,
) -> io::Result<()> {
    let mut line = String::new();
    for (column, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        // A column of width 0 is left out.
        if width == 0 {
            continue;
        }
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

/// The cells of one record, control characters escaped, not yet cut. `compact`:
/// the time without year and seconds, and no reason (its column is left out).
fn cells(record: &Record, compact: bool) -> [String; COLUMNS] {
    let entry = &record.body.entry;
    let who = format!("{}@{}", entry.requester.user, entry.requester.host);
    let mut rules = entry.rules.join(", ");
    if entry.break_glass {
        rules.insert_str(0, "BREAK-GLASS ");
    }
    let approvers: Vec<&str> = entry.approvers.iter().map(|a| a.name.as_str()).collect();
    let time = short_time(&record.body.time);
    let mut cells = [
        record.seq.to_string(),
        if compact {
            time.chars().skip(5).take(11).collect()
        } else {
            time
        },
        who,
        decision(record),
        approvers.join(", "),
        rules,
        entry.command.join(" "),
        entry.reason.clone().unwrap_or_default(),
    ]
    .map(|cell| or_dash(printable(&cell)));
    if compact {
        cells[REASON].clear();
    }
    cells
}

/// Column widths: each column's widest cell, or, when that is wider than `limit`,
/// the names and rules cut to a readable width and the command and reason sharing
/// what is left (the command two thirds). Columns give way to the command down to
/// [`FLOOR`]; a terminal too narrow for even that gets longer lines.
fn layout(rows: &[[String; COLUMNS]], limit: Option<usize>) -> [usize; COLUMNS] {
    // The widest cell of each column, and with its header. A reason column
    // whose cells are all empty (left out) stays at 0.
    let hidden = !rows.is_empty() && rows.iter().all(|row| row[REASON].is_empty());
    let mut content = [1; COLUMNS];
    for row in rows {
        for (width, cell) in content.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut widths = HEADERS.map(|h| h.chars().count());
    for (width, cell) in widths.iter_mut().zip(content) {
        *width = (*width).max(cell);
    }
    if hidden {
        content[REASON] = 0;
        widths[REASON] = 0;
    }
    let Some(limit) = limit else {
        return widths;
    };
    let total = |w: &[usize; COLUMNS]| {
        let shown = w.iter().filter(|&&w| w > 0).count();
        w.iter().sum::<usize>() + GAP.len() * shown.saturating_sub(1)
    };
    if total(&widths) <= limit {
        return widths;
    }
    let natural = widths;
    for (column, readable) in READABLE {
        widths[column] = widths[column].min(readable);
    }
    let others = total(&widths) - widths[COMMAND] - widths[REASON];
    let want = natural[COMMAND].min(COMMAND_FLOOR) + natural[REASON].min(FLOOR);
    let natural_reason = natural[REASON];
    let mut short = (others + want).saturating_sub(limit);
    // Cut headers wider than their cells first, then the cells down to FLOOR.
    for floor in [
        READABLE.map(|(column, _)| content[column].max(FLOOR)),
        [FLOOR; 3],
    ] {
        for ((column, _), floor) in READABLE.into_iter().zip(floor) {
            let give = widths[column].saturating_sub(floor).min(short);
            widths[column] -= give;
            short -= give;
        }
    }
    let room = limit.saturating_sub(total(&widths) - widths[COMMAND] - widths[REASON]);
    let room = room.max(4);
    // The reason gets a third, at least FLOOR while the command keeps as much; the
    // command what is left, then the reason takes back what the command does not need.
    let reason = natural_reason.min((room / 3).max(FLOOR).min(room / 2));
    widths[COMMAND] = natural[COMMAND].min(room.saturating_sub(reason));
    widths[REASON] = natural_reason.min(room - widths[COMMAND]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{ApproverRecord, Entry, RecordBody};
    use crate::identity::Requester;

    fn record(seq: u64, command: &str, reason: Option<&str>) -> Record {
        let requester = Requester {
            user: "alice".into(),
            host: "build-box".into(),
            ci: None,
            agent: None,
        };
        let words = command.split(' ').map(String::from).collect();
        let rules = vec!["deploys need approval".into()];
        let mut entry = Entry::draft(requester, words, String::new(), "/".into(), rules);
        entry.decision = RecordDecision::Decision(Decision::Approved);
        entry.approvers = ["bob", "carol"]
            .map(|name| ApproverRecord {
                name: name.into(),
                channel: "slack".into(),
            })
            .to_vec();
        entry.reason = reason.map(String::from);
        Record {
            seq,
            hash: String::new(),
            signature: String::new(),
            body: RecordBody {
                v: 1,
                seq,
                time: "2026-11-30T09:15:02.123Z".into(),
                prev_hash: String::new(),
                entry,
            },
        }
    }

    fn table(records: &[Record], width: Option<usize>) -> String {
        let mut out = Vec::new();
        show(records, &mut out, false, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn approvers_are_joined_and_a_missing_reason_is_a_dash() {
        let shown = table(&[record(7, "kubectl apply -f x.yaml", None)], None);
        let row = shown.lines().nth(1).unwrap();
        assert!(
            row.contains("  approved  bob, carol  deploys need approval  "),
            "{row}"
        );
        assert!(row.ends_with("kubectl apply -f x.yaml  -"), "{row}");
        assert!(
            row.starts_with("  7  2026-11-30 09:15:02  alice@build-box  "),
            "{row}"
        );
    }

    #[test]
    fn a_narrow_terminal_cuts_command_and_reason_and_keeps_names() {
        let long = format!("terraform apply {}", "-var x=1 ".repeat(20));
        let reason = "the quarterly rotation of every database credential";
        let records = [record(1, &long, Some(reason))];
        let shown = table(&records, Some(160));
        for line in shown.lines() {
            assert!(line.chars().count() <= 160, "{line}");
        }
        let row = shown.lines().nth(1).unwrap();
        assert!(
            row.contains("  bob, carol  deploys need approval  terraform apply"),
            "{row}"
        );
        let command = row
            .split("  ")
            .find(|c| c.starts_with("terraform"))
            .unwrap();
        let reason_cell = row.rsplit("  ").next().unwrap();
        assert!(
            command.ends_with('…') && reason_cell.ends_with('…'),
            "{row}"
        );
        assert!(
            command.chars().count() > reason_cell.chars().count(),
            "{row}"
        );
        assert_eq!(table(&records, Some(400)), table(&records, None));
    }

    #[test]
    fn too_narrow_for_every_column_the_reason_goes_and_names_stay_whole() {
        let long = format!("terraform apply {}", "-var x=1 ".repeat(20));
        let records = [record(1, &long, Some("the quarterly rotation"))];
        for width in [80, 100, 120] {
            let shown = table(&records, Some(width));
            for line in shown.lines() {
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
            let header = shown.lines().next().unwrap();
            assert!(!header.contains("REASON"), "{width}: {header}");
            let row = shown.lines().nth(1).unwrap();
            assert!(!row.contains("quarterly"), "{width}: {row}");
            assert!(row.starts_with("  1  11-30 09:15  alice"), "{width}: {row}");
            if width >= 100 {
                assert!(
                    row.contains("  alice@build-box  approved  bob, carol  "),
                    "{width}: {row}"
                );
                assert!(row.contains("terraform apply -v"), "{width}: {row}");
            }
        }
    }

    #[test]
    fn control_characters_show_escaped() {
        let shown = table(&[record(1, "echo \x1b[2J", Some("a\nb"))], None);
        assert!(
            shown.contains("echo \\u{1b}[2J") && shown.contains("a\\nb"),
            "{shown:?}"
        );
    }
}
