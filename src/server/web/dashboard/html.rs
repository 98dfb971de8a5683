//! The dashboard's HTML. Pure: values in, a string out. Everything that came
//! from a request, a person, an installation or a record passes through
//! [`escape`]; the pages load nothing and carry no script (the pending list
//! refreshes with a `<meta>` refresh, which the CSP does not need to allow).

use super::Viewer;
use super::filters::Filters;
use crate::approval::protocol::{RequestView, Status};
use crate::approval::summary;
use crate::server::ledger::{Chain, Refused};
use crate::server::rules::Request;
use crate::server::web::page::escape;
use crate::server::web::style::STYLE;
use std::fmt::Write;

/// Wider tables and the navigation, beside the approval pages' stylesheet.
pub const DASHBOARD_STYLE: &str = "body{max-width:76rem}nav{margin:0 0 1rem;padding:.4rem 0;border-bottom:1px solid #ddd}\
nav a{margin-right:1rem}nav form{display:inline;margin:0}.list td,.list th{font-size:.9rem}\
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.4rem;margin:1rem 0}\
.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#555}.filters input,.filters select{padding:.3rem;font:inherit}\
.ok{color:#1a7f37;font-weight:700}.broken{color:#cf222e;font-weight:700}\
@media print{nav,.filters,.noprint{display:none}body{max-width:none;margin:0}}";

/// A whole dashboard page; `refresh` seconds makes the browser reload it.
pub fn layout(title: &str, body: &str, refresh: Option<u32>) -> String {
    let refresh = refresh
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}{DASHBOARD_STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// The navigation and who is signed in, with the sign-out form.
pub fn nav(base: &str, viewer: &Viewer) -> String {
    let base = escape(base);
    let mut links = format!(
        "<a href=\"{base}/dashboard\">Pending</a><a href=\"{base}/dashboard/history\">History</a>\
<a href=\"{base}/dashboard/installations\">Installations</a>"
    );
    if viewer.role.sees_all() {
        let _ = write!(
            links,
            "<a href=\"{base}/dashboard/metrics\">Metrics</a><a href=\"{base}/dashboard/evidence\">Evidence</a>"
        );
    }
    format!(
        "<nav>{links}<form method=\"post\" action=\"{base}/signout\">Signed in as <b>{}</b> ({}) \
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Sign out</button></form></nav>\n",
        escape(&viewer.session.person),
        viewer.role.as_str(),
        escape(&viewer.session.csrf)
    )
}

pub fn status(status: Status) -> String {
    let s = status.as_str();
    format!("<span class=\"status {s}\">{s}</span>")
}

/// The requester in one line: user@host, and the agent or CI repository.
pub fn requester(view: &RequestView) -> String {
    summary::requester_short(&view.requester)
}

/// A table of requests, each linking to its story.
fn table(base: &str, requests: &[Request]) -> String {
    let mut html = String::from(
        "<table class=\"list\">\n<tr><th>Created</th><th>Status</th><th>Requester</th>\
<th>Command</th><th>Rule</th><th>Votes</th></tr>\n",
    );
    for request in requests {
        let view = &request.view;
        let command = summary::truncate(&summary::command_line(&view.argv), 100);
        let glass = if view.break_glass {
            " <span class=\"breakglass\">BREAK-GLASS</span>"
        } else {
            ""
        };
        let votes: Vec<String> = view
            .votes
            .iter()
            .map(|v| format!("{} {} ({})", v.person, v.verdict.past_tense(), v.channel))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{}/dashboard/requests/{id}\">{}</a></td><td>{}{glass}</td><td>{}</td>\
<td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(base),
            escape(&view.created_at),
            status(view.status),
            escape(&requester(view)),
            escape(&command),
            escape(&view.rules.join(", ")),
            escape(&votes.join("; ")),
            id = escape(&view.id),
        );
    }
    html.push_str("</table>\n");
    html
}

/// `/dashboard`: the pending requests the viewer sees, reloaded every 10 s.
pub fn pending(base: &str, viewer: &Viewer, requests: &[Request]) -> String {
    let mut body = nav(base, viewer);
    body.push_str("<h1>gate: pending requests</h1>\n");
    if requests.is_empty() {
        body.push_str("<p>Nothing is pending.</p>\n");
    } else {
        body.push_str(&table(base, requests));
    }
    body.push_str("<p class=\"noprint\">This list reloads every 10 seconds.</p>\n");
    layout("gate: pending requests", &body, Some(10))
}

/// `/dashboard/history`: the filter form, a page of requests, the next-page
/// link and the export links for the same filters.
pub fn history(
    base: &str,
    viewer: &Viewer,
    filters: &Filters,
    requests: &[Request],
    next: Option<i64>,
    problem: Option<&str>,
) -> String {
    let mut body = nav(base, viewer);
    body.push_str("<h1>gate: history</h1>\n");
    let field = |name: &str, label: &str, value: &str, hint: &str| {
        format!(
            "<label>{label}<input name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label>",
            escape(value)
        )
    };
    let decisions = [
        "",
        "pending",
        "approved",
        "denied",
        "timed_out",
        "cancelled",
    ];
    let options: String = decisions
        .iter()
        .map(|d| {
            let selected = if *d == filters.decision {
                " selected"
            } else {
                ""
            };
            let label = if d.is_empty() { "any" } else { d };
            format!("<option value=\"{d}\"{selected}>{label}</option>")
        })
        .collect();
    let glass = if filters.break_glass == "yes" {
        " checked"
    } else {
        ""
    };
    let _ = writeln!(
        body,
        "<form method=\"get\" action=\"{}/dashboard/history\" class=\"noprint\"><div class=\"filters\">{}{}{}{}{}{}{}\
<label>Decision<select name=\"decision\">{options}</select></label>\
<label>Break-glass<span><input type=\"checkbox\" name=\"break_glass\" value=\"yes\"{glass}> only</span></label>{}{}</div>\
<button type=\"submit\">Filter</button> <a href=\"{}/dashboard/history\">Clear</a></form>",
        escape(base),
        field("q", "Command contains", &filters.q, "kubectl delete"),
        field("person", "Person involved", &filters.person, "alice"),
        field(
            "requester",
            "Requester (user)",
            &filters.requester,
            "deploy"
        ),
        field("host", "Host", &filters.host, "ci-7"),
        field("agent", "Agent", &filters.agent, "claude-code"),
        field("repo", "CI repository", &filters.repo, "org/app"),
        field("rule", "Rule", &filters.rule, "production changes"),
        field("from", "From (date)", &filters.from, "2026-11-01"),
        field("to", "To (date, inclusive)", &filters.to, "2026-11-30"),
        escape(base),
    );
    if let Some(problem) = problem {
        let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(problem));
    }
    let query = filters.to_query_string();
    let _ = writeln!(
        body,
        "<p class=\"noprint\">Export this view: <a href=\"{b}/dashboard/export.csv?{q}\">CSV</a> \
<a href=\"{b}/dashboard/export.jsonl?{q}\">JSONL</a></p>",
        b = escape(base),
        q = escape(&query)
    );
    if requests.is_empty() && problem.is_none() {
        body.push_str("<p>No request matches.</p>\n");
    } else if !requests.is_empty() {
        body.push_str(&table(base, requests));
    }
    if let Some(before) = next {
        let sep = if query.is_empty() { "" } else { "&" };
        let _ = writeln!(
            body,
            "<p><a href=\"{}/dashboard/history?{}\" rel=\"next\">Older requests</a></p>",
            escape(base),
            escape(&format!("{query}{sep}before={before}"))
        );
    }
    layout("gate: history", &body, None)
}

/// `/dashboard/installations`: every chain, and the refused records.
pub fn installations(base: &str, viewer: &Viewer, chains: &[Chain], refused: &[Refused]) -> String {
    let mut body = nav(base, viewer);
    body.push_str("<h1>gate: installations</h1>\n");
    body.push_str(&heads(chains));
    body.push_str("<h2>Refused records</h2>\n");
    if refused.is_empty() {
        body.push_str("<p>None: every record forwarded so far extended its chain.</p>\n");
    } else {
        body.push_str("<table class=\"list\">\n<tr><th>Installation</th><th>Seq</th><th>Received</th><th>Why refused</th><th>Hash</th></tr>\n");
        for r in refused {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&r.installation),
                r.seq,
                escape(&r.received_at),
                escape(&r.reason),
                escape(&r.hash)
            );
        }
        body.push_str("</table>\n");
    }
    layout("gate: installations", &body, None)
}

/// The chain heads table (also in the evidence report).
pub fn heads(chains: &[Chain]) -> String {
    if chains.is_empty() {
        return "<p>No installation has forwarded records yet.</p>\n".into();
    }
    let mut html = String::from(
        "<table class=\"list\">\n<tr><th>Installation</th><th>Status</th><th>Head seq</th>\
<th>Head hash</th><th>First seen</th><th>Last seen</th></tr>\n",
    );
    for chain in chains {
        let state = match chain.status.as_str() {
            "ok" => "<span class=\"ok\">ok</span>".to_string(),
            other => format!(
                "<span class=\"broken\">{}</span>: {}",
                escape(other),
                escape(chain.detail.as_deref().unwrap_or(""))
            ),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{state}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&chain.name),
            chain.head_seq,
            escape(&chain.head_hash),
            escape(&chain.first_seen),
            escape(&chain.last_seen)
        );
    }
    html.push_str("</table>\n");
    html
}
