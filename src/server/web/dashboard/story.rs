//! The page that tells one request's whole story, and the lines the
//! evidence report shares with it: a run's outcome and a record's
//! verification, from the forwarded audit records. Pure, escaping as `html`.

use super::Viewer;
use super::html::{layout, nav, status};
use super::index::LedgerRecord;
use crate::approval::protocol::{Choice, Status};
use crate::approval::summary;
use crate::server::ledger::Chain;
use crate::server::rules::Request;
use crate::server::web::page::escape;
use std::fmt::Write;

/// What an outcome record says about the run: exit status and duration.
pub fn outcome(record: &LedgerRecord) -> String {
    let body: serde_json::Value = serde_json::from_str(&record.body).unwrap_or_default();
    let exit = match (body["exit_code"].as_i64(), body["signal"].as_i64()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => record.decision.clone(),
    };
    match body["duration_ms"].as_u64() {
        Some(ms) => format!("{exit}, ran {}", duration(ms)),
        None => exit,
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// "verified: signature + chain, forwarded by installation X at seq N", and
/// whether that chain still holds.
pub fn verification(record: &LedgerRecord, chains: &[Chain]) -> String {
    let chain = chains.iter().find(|c| c.name == record.installation);
    let state = match chain {
        Some(chain) if chain.status == "ok" => format!(
            "chain ok up to seq {} ({}…)",
            chain.head_seq,
            &chain.head_hash[..chain.head_hash.len().min(12)]
        ),
        Some(chain) => format!(
            "chain BROKEN since: {}",
            chain
                .detail
                .as_deref()
                .unwrap_or("see the installations page")
        ),
        None => "chain unknown".into(),
    };
    format!(
        "verified: signature + chain, forwarded by installation {} at seq {} (hash {}…, received {}); {state}",
        record.installation,
        record.seq,
        &record.hash[..record.hash.len().min(12)],
        record.received_at
    )
}

/// `/dashboard/requests/ID`: the request, each vote with its channel, the
/// decision, the run's outcome and the audit records' verification.
pub fn story(
    base: &str,
    viewer: &Viewer,
    request: &Request,
    records: &[LedgerRecord],
    chains: &[Chain],
    may_decide: Result<(), String>,
) -> String {
    let view = &request.view;
    let b = escape(base);
    let id = escape(&view.id);
    let mut body = nav(base, viewer);
    let _ = writeln!(body, "<h1>gate: request <code>{id}</code></h1>");
    let mut facts = vec![
        ("Status", status(view.status)),
        (
            "Requester",
            escape(&summary::requester_long(&view.requester)),
        ),
        (
            "Command",
            format!("<pre>{}</pre>", escape(&summary::command_line(&view.argv))),
        ),
        ("Directory", format!("<code>{}</code>", escape(&view.cwd))),
        ("Rule", escape(&view.rules.join(", "))),
        (
            "Requester's reason",
            escape(view.reason.as_deref().unwrap_or("(none given)")),
        ),
        ("Approvers", escape(&view.approvers.join(", "))),
        ("Quorum", view.quorum.to_string()),
        ("Policy version", escape(&view.policy_version)),
    ];
    if view.break_glass {
        facts.insert(1, ("Break-glass", "<span class=\"breakglass\">BREAK-GLASS</span> self-approved under a break-glass rule".into()));
    }
    body.push_str("<h2>1. Request</h2>\n<table>\n");
    for (label, value) in facts {
        let _ = writeln!(body, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(
        body,
        "<tr><th>Created</th><td>{}</td></tr>\n</table>",
        escape(&view.created_at)
    );
    body.push_str("<h2>2. Votes</h2>\n");
    if view.votes.is_empty() {
        body.push_str("<p>No votes.</p>\n");
    } else {
        body.push_str("<ol>\n");
        for vote in &view.votes {
            let reason = vote
                .reason
                .as_deref()
                .map(|r| format!(": {}", escape(r)))
                .unwrap_or_default();
            let _ = writeln!(
                body,
                "<li><b>{}</b> {} via <b>{}</b> at {}{reason}</li>",
                escape(&vote.person),
                vote.verdict.past_tense(),
                escape(&vote.channel),
                escape(&vote.at)
            );
        }
        body.push_str("</ol>\n");
    }
    body.push_str("<h2>3. Decision</h2>\n");
    let decided = view.votes.last().map(|v| v.at.as_str()).unwrap_or("-");
    let signed = if view.decision.is_some() {
        "; signed by the broker"
    } else {
        ""
    };
    let _ = match view.status {
        Status::Pending => writeln!(body, "<p>Pending until {}.</p>", escape(&view.expires_at)),
        Status::TimedOut => writeln!(
            body,
            "<p>{} at {}.</p>",
            status(view.status),
            escape(&view.expires_at)
        ),
        other => writeln!(
            body,
            "<p>{} at {}{signed}.</p>",
            status(other),
            escape(decided)
        ),
    };
    match may_decide {
        Ok(()) => {
            let _ = writeln!(
                body,
                "<p><a href=\"{b}/r/{id}\">Decide on the approval page</a></p>"
            );
        }
        Err(_)
            if view.status == Status::Pending
                && viewer.role == crate::server::config::Role::Auditor =>
        {
            body.push_str(
                "<p class=\"notice\">Read-only: you are not an approver of this request.</p>\n",
            );
        }
        Err(why) if view.status == Status::Pending => {
            let _ = writeln!(body, "<p class=\"notice\">{}</p>", escape(&why));
        }
        Err(_) => {}
    }
    body.push_str("<h2>4. Run and audit record</h2>\n");
    if records.is_empty() {
        let text = match view.status {
            Status::Approved => "No installation has forwarded a record of this run yet.",
            _ => "Nothing ran; no audit record names this request.",
        };
        let _ = writeln!(body, "<p>{text}</p>");
    } else {
        body.push_str("<table class=\"list\">\n<tr><th>Record</th><th>Time</th><th>What</th><th>Verification</th></tr>\n");
        for record in records {
            let what = match record.kind.as_str() {
                "outcome" => format!("run ended: {}", outcome(record)),
                _ => format!("decision record: {}", record.decision),
            };
            let holds = chains
                .iter()
                .any(|c| c.name == record.installation && c.status == "ok");
            let class = if holds { "ok" } else { "broken" };
            let _ = writeln!(
                body,
                "<tr><td>{} #{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
                escape(&record.installation),
                record.seq,
                escape(&record.time),
                escape(&what),
                escape(&verification(record, chains))
            );
        }
        body.push_str("</table>\n");
    }
    let approve_count = view
        .votes
        .iter()
        .filter(|v| v.verdict == Choice::Approve)
        .count();
    let _ = writeln!(
        body,
        "<p>{approve_count} approval(s) of {} required.</p>",
        view.quorum
    );
    layout(&format!("gate: request {}", view.id), &body, None)
}
