//! `/dashboard/evidence?from=DATE&to=DATE`: the evidence report for a period,
//! a printable page for an access review (SOC 2 CC6/CC8, FedRAMP AC-2/AU-6
//! samples). It lists every approved request created in the period (`from` and
//! `to` inclusive dates, or RFC 3339 instants), oldest first: who asked, what,
//! each approver with channel and time, the run's outcome and its audit
//! records' verification; then each installation's chain head at the time the
//! report was made, which the listed records rest on. Denied, timed-out,
//! cancelled and pending requests are not privileged actions and are not
//! listed. Only auditors and admins see it: it claims to be complete.

use super::filters::{Period, PeriodForm, bound};
use super::html::{self, layout, nav};
use super::index::Query;
use super::story;
use super::{EXPORT_LIMIT, Shared, Viewer};
use crate::approval::protocol::Choice;
use crate::server::web::page::{self, escape};
use crate::server::web::reply::html as html_reply;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::fmt::Write;

pub async fn report(
    State(dash): Shared,
    headers: HeaderMap,
    QueryParams(period): QueryParams<Period>,
) -> Response {
    let Some(viewer) = dash.viewer(&headers) else {
        return dash.to_signin();
    };
    if !viewer.role.sees_all() {
        let text = "The evidence report covers every request; only auditors and admins \
                    ([dashboard] in broker.toml) can make it.";
        return html_reply(
            StatusCode::FORBIDDEN,
            page::message("Evidence report", text),
        );
    }
    let (from, until) = match (bound(&period.from, false), bound(&period.to, true)) {
        (Ok(Some(from)), Ok(Some(until))) => (from, until),
        (Err(problem), _) | (_, Err(problem)) => {
            let body = form(dash.base(), &viewer, &period, Some(&problem));
            return html_reply(StatusCode::BAD_REQUEST, body);
        }
        _ => return html_reply(StatusCode::OK, form(dash.base(), &viewer, &period, None)),
    };
    let query = Query {
        facets: vec![("status", "approved".to_string())],
        from: Some(from),
        until: Some(until),
        ascending: true,
        ..Query::default()
    };
    let found = async {
        let index = dash.index()?;
        let requests = index.find(query, EXPORT_LIMIT).await?;
        let ids = requests.iter().map(|r| r.view.id.clone()).collect();
        let records = index.records_of(ids).await?;
        Ok((requests, records))
    }
    .await
    .map_err(|e| dash.failed(e));
    let (requests, records) = match found {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chains = dash.web.broker.ledger.chains().await.unwrap_or_default();
    let made = crate::server::rules::rfc3339(std::time::SystemTime::now());
    let mut body = nav(dash.base(), &viewer);
    let _ = writeln!(
        body,
        "<h1>gate: evidence report, {} to {}</h1>\n<p>Every approved privileged action \
requested in the period, with its approval and verification status. Made {} by {} ({}) \
from the broker at {}. {} action(s).</p>",
        escape(&period.from),
        escape(&period.to),
        escape(&made),
        escape(&viewer.session.person),
        viewer.role.as_str(),
        escape(&dash.web.broker.public_url),
        requests.len()
    );
    if requests.len() >= EXPORT_LIMIT {
        let _ = writeln!(
            body,
            "<p class=\"notice error\">Only the first {EXPORT_LIMIT} actions are listed: make the period shorter.</p>"
        );
    }
    body.push_str("<table class=\"list evidence\">\n<tr><th>Request</th><th>Requested</th><th>Requester</th><th>Command</th>\
<th>Rule</th><th>Approved by (channel, time)</th><th>Outcome</th><th>Audit verification</th></tr>\n");
    for (request, records) in requests.iter().zip(&records) {
        let view = &request.view;
        let approvals: Vec<String> = view
            .votes
            .iter()
            .filter(|v| v.verdict == Choice::Approve)
            .map(|v| format!("{} ({}, {})", v.person, v.channel, v.at))
            .collect();
        let mut approved = escape(&approvals.join("; "));
        if view.break_glass {
            approved.push_str(" <span class=\"breakglass\">BREAK-GLASS</span>");
        }
        let outcome = records
            .iter()
            .find(|r| r.kind == "outcome")
            .map(story::outcome)
            .unwrap_or_else(|| "no outcome record forwarded".into());
        let verified = match records.iter().find(|r| r.kind == "decision") {
            Some(record) => story::verification(record, &chains),
            None => "UNVERIFIED: no forwarded decision record names this request".into(),
        };
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{}/dashboard/requests/{id}\"><code>{id}</code></a></td><td>{}</td><td>{}</td>\
<td><code>{}</code></td><td>{}</td><td>{approved}</td><td>{}</td><td>{}</td></tr>",
            escape(dash.base()),
            escape(&view.created_at),
            escape(&html::requester(view)),
            escape(&crate::approval::summary::command_line(&view.argv)),
            escape(&view.rules.join(", ")),
            escape(&outcome),
            escape(&verified),
            id = escape(&view.id),
        );
    }
    body.push_str("</table>\n<h2>Chain heads these records rest on</h2>\n");
    body.push_str(&html::heads(&chains));
    html_reply(StatusCode::OK, layout("gate: evidence report", &body, None))
}

/// The form asking for the period.
fn form(base: &str, viewer: &Viewer, period: &Period, problem: Option<&str>) -> String {
    let form = PeriodForm {
        title: "gate: evidence report",
        path: "/dashboard/evidence",
        placeholders: ("2026-10-01", "2026-12-31"),
        required: true,
        button: "Make the report",
        print: true,
    };
    layout(
        "gate: evidence report",
        &form.render(base, viewer, period, problem),
        None,
    )
}
