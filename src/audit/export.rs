//! `gate audit export`: records as JSON Lines or CSV for other tools.
//!
//! Output only; it exports what `records` read and never claims it was verified.

use super::{ApproverRecord, Entry, Record};
use serde::Serialize;
use std::io::{self, Write};

/// One exported record: chain fields beside every entry field.
#[derive(Serialize)]
struct ExportRow<'a> {
    seq: u64,
    time: &'a str,
    #[serde(flatten)]
    entry: &'a Entry,
    prev_hash: &'a str,
    hash: &'a str,
    signature: &'a str,
}

/// One JSON object per line, oldest first.
pub fn export_jsonl(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    for record in records {
        let row = ExportRow {
            seq: record.seq,
            time: &record.body.time,
            entry: &record.body.entry,
            prev_hash: &record.body.prev_hash,
            hash: &record.hash,
            signature: &record.signature,
        };
        serde_json::to_writer(&mut *out, &row)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

const CSV_HEADER: [&str; 23] = [
    "seq",
    "time",
    "kind",
    "user",
    "host",
    "ci",
    "agent",
    "command",
    "cwd",
    "action_digest",
    "rules",
    "decision",
    "approvers",
    "reason",
    "break_glass",
    "exit_code",
    "signal",
    "duration_ms",
    "decision_seq",
    "broker_signature",
    "prev_hash",
    "hash",
    "signature",
];

/// RFC 4180 CSV with a header row. Lists are joined with "; ", the command with spaces.
pub fn export_csv(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    write_csv_line(out, CSV_HEADER.iter().map(|name| name.to_string()))?;
    for record in records {
        write_csv_line(out, csv_fields(record).into_iter())?;
    }
    Ok(())
}

fn csv_fields(record: &Record) -> Vec<String> {
    let entry = &record.body.entry;
    let requester = &entry.requester;
    let opt = |value: Option<String>| value.unwrap_or_default();
    vec![
        record.seq.to_string(),
        record.body.time.clone(),
        entry.kind.as_str().to_owned(),
        requester.user.clone(),
        requester.host.clone(),
        opt(requester.ci.as_ref().map(|ci| ci.system.clone())),
        opt(requester.agent.as_ref().map(|agent| agent.name.clone())),
        entry.command.join(" "),
        entry.cwd.clone(),
        entry.action_digest.clone(),
        entry.rules.join("; "),
        entry.decision.as_str().to_owned(),
        approvers(&entry.approvers),
        opt(entry.reason.clone()),
        entry.break_glass.to_string(),
        opt(entry.exit_code.map(|v| v.to_string())),
        opt(entry.signal.map(|v| v.to_string())),
        opt(entry.duration_ms.map(|v| v.to_string())),
        opt(entry.decision_seq.map(|v| v.to_string())),
        opt(entry.broker_signature.clone()),
        record.body.prev_hash.clone(),
        record.hash.clone(),
        record.signature.clone(),
    ]
}

fn approvers(list: &[ApproverRecord]) -> String {
    let named: Vec<String> = list
        .iter()
        .map(|a| format!("{} ({})", a.name, a.channel))
        .collect();
    named.join("; ")
}

fn write_csv_line(out: &mut impl Write, fields: impl Iterator<Item = String>) -> io::Result<()> {
    let line: Vec<String> = fields.map(|field| csv_quote(&field)).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// Quote a field when it holds a comma, quote, CR or LF; double inner quotes.
pub(crate) fn csv_quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
