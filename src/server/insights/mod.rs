//! Metrics over a chosen period of the broker's requests (requests per day by
//! decision, time to decision, denials by rule, break-glass uses, busiest agents
//! and approvers) and their rendering as an HTML fragment with inline SVG charts,
//! for the dashboard to embed. Pure reads and pure rendering: no routes, no
//! writes, nothing fetched by the browser.
//!
//! Files: `metrics` (the SQL aggregates on SQLite, and the arithmetic both
//! stores share), `postgres` (the same aggregates on PostgreSQL), `charts` (SVG).

pub mod charts;
pub mod metrics;
mod postgres;

pub use metrics::Metrics;

use charts::{Series, Stack, escape, human};
use metrics::Counts;
use std::fmt::Write;

/// The request states in the order they are stacked, with their colours.
const STATES: [Series; 5] = [
    Series {
        name: "approved",
        colour: "#2e7d32",
    },
    Series {
        name: "denied",
        colour: "#c62828",
    },
    Series {
        name: "timed out",
        colour: "#b26a00",
    },
    Series {
        name: "cancelled",
        colour: "#757575",
    },
    Series {
        name: "pending",
        colour: "#1565c0",
    },
];

fn values(c: &Counts) -> [u64; 5] {
    [c.approved, c.denied, c.timed_out, c.cancelled, c.pending]
}

/// The metrics as an HTML fragment: headings, charts and small tables, every
/// value escaped.
pub fn metrics_html(m: &Metrics) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="insights"><h2>Requests from {} to {}</h2>"#,
        escape(&m.from),
        escape(&m.to)
    );
    per_day(&mut out, m);
    decision_times(&mut out, m);
    ranking(
        &mut out,
        "Denials by rule",
        "Requests denied by an approver, by the rule that asked for approval",
        &m.denials_by_rule,
        "#c62828",
    );
    break_glass(&mut out, m);
    ranking(
        &mut out,
        "Busiest agents",
        "Requests by agent",
        &m.busiest_agents,
        "#4a7bb7",
    );
    approvers(&mut out, m);
    out.push_str("</section>");
    out
}

fn per_day(out: &mut String, m: &Metrics) {
    let t = &m.totals;
    let summary = STATES
        .iter()
        .zip(values(t))
        .map(|(s, v)| format!("{v} {}", s.name))
        .collect::<Vec<_>>()
        .join(", ");
    let stacks: Vec<Stack> = m
        .days
        .iter()
        .map(|d| Stack {
            label: d.date.clone(),
            values: values(&d.counts).to_vec(),
        })
        .collect();
    let _ = write!(
        out,
        "<h3>Requests per day</h3><p>{} requests: {}.</p>{}",
        t.total(),
        escape(&summary),
        charts::stacked_bars(
            &format!("Requests per day by decision: {summary}"),
            &STATES,
            &stacks
        )
    );
    out.push_str("<details><summary>Numbers by day</summary><table><thead><tr><th>day</th>");
    for s in &STATES {
        let _ = write!(out, "<th>{}</th>", escape(s.name));
    }
    out.push_str("</tr></thead><tbody>");
    for day in &m.days {
        let _ = write!(out, "<tr><td>{}</td>", escape(&day.date));
        for v in values(&day.counts) {
            let _ = write!(out, "<td>{v}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details>");
}

fn decision_times(out: &mut String, m: &Metrics) {
    out.push_str("<h3>Time to decision</h3>");
    match &m.time_to_decision {
        None => out.push_str("<p>Nobody decided a request in this period.</p>"),
        Some(t) => {
            let text = format!(
                "p50 {}, p90 {} over {} decisions",
                human(t.p50),
                human(t.p90),
                t.decided
            );
            let _ = write!(
                out,
                "<p>From request to an approver's decision (break-glass excluded): {}.</p>{}",
                escape(&text),
                charts::percentiles(&format!("Time to decision: {text}"), t.p50, t.p90)
            );
        }
    }
}

fn ranking(
    out: &mut String,
    heading: &str,
    title: &str,
    entries: &[metrics::Ranked],
    colour: &str,
) {
    let pairs: Vec<(String, u64)> = entries.iter().map(|r| (r.name.clone(), r.count)).collect();
    let _ = write!(
        out,
        "<h3>{}</h3>{}",
        escape(heading),
        charts::horizontal_bars(title, &pairs, colour)
    );
}

fn break_glass(out: &mut String, m: &Metrics) {
    let _ = write!(out, "<h3>Break-glass uses ({})</h3>", m.break_glass.len());
    if m.break_glass.is_empty() {
        out.push_str("<p>None in this period.</p>");
        return;
    }
    out.push_str(
        "<table><thead><tr><th>when</th><th>who</th><th>host</th><th>reason</th>\
         <th>command</th><th>request</th></tr></thead><tbody>",
    );
    for u in &m.break_glass {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&u.at),
            escape(&u.user),
            escape(&u.host),
            escape(&u.reason),
            escape(&u.argv.join(" ")),
            escape(&u.request_id)
        );
    }
    out.push_str("</tbody></table>");
}

fn approvers(out: &mut String, m: &Metrics) {
    let pairs: Vec<(String, u64)> = m
        .busiest_approvers
        .iter()
        .map(|a| (a.person.clone(), a.approved + a.denied))
        .collect();
    let _ = write!(
        out,
        "<h3>Busiest approvers</h3>{}",
        charts::horizontal_bars("Votes by approver", &pairs, "#2e7d32")
    );
    if m.busiest_approvers.is_empty() {
        return;
    }
    out.push_str(
        "<table><thead><tr><th>approver</th><th>approved</th><th>denied</th></tr></thead><tbody>",
    );
    for a in &m.busiest_approvers {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.person),
            a.approved,
            a.denied
        );
    }
    out.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests;
