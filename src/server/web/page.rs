//! The approval page's HTML: the sign-in form, a request with all its context,
//! and the decision form. Pure: values in, a string out.
//!
//! Everything shown that came from a request, a person or a refusal passes
//! through [`escape`]: commands are attacker-controlled. The page loads nothing
//! (inline CSS, no scripts, no images) and links only to itself, so it works
//! offline and the CSP can forbid everything else. Form actions are relative
//! (`ID/decision` from `/r/ID`), so the page also works under a path prefix.

use crate::approval::protocol::{RequestView, Status};
use crate::approval::summary;
use std::fmt::Write;
use std::time::SystemTime;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
h1{font-size:1.3rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #ddd}\
th{width:11rem;color:#555;font-weight:600}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem;margin:0}\
.status{font-weight:700}.pending{color:#9a6700}.approved{color:#1a7f37}.denied,.timed_out,.cancelled{color:#cf222e}\
.notice{padding:.6rem;border:1px solid #d4a72c;background:#fff8c5;margin:1rem 0}.error{border-color:#cf222e;background:#ffebe9}\
form{margin:1rem 0}textarea,input[type=password]{width:100%;box-sizing:border-box;padding:.4rem}button{padding:.4rem 1rem;margin:.5rem .5rem 0 0}\
.breakglass{color:#fff;background:#cf222e;padding:.2rem .4rem}";

/// What the signed-in person sees besides the request.
#[derive(Debug)]
pub struct Viewer<'a> {
    pub person: &'a str,
    pub csrf: &'a str,
    /// `Ok` when they may vote now, else why not.
    pub may_decide: Result<(), String>,
    /// A refusal or problem from the last form, shown on top.
    pub error: Option<String>,
}

/// HTML-escape text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// The sign-in form for request `id`, with an optional problem on top.
pub fn signin(id: &str, error: Option<&str>) -> String {
    let mut body = String::from("<h1>gate: sign in to review this request</h1>\n");
    if let Some(error) = error {
        let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(error));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{id}/signin\">\n\
<label for=\"token\">Approver token (from <code>gate serve token create NAME</code>)</label>\n\
<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required>\n\
<button type=\"submit\">Sign in</button>\n</form>\n",
        id = escape(id)
    );
    layout("gate: sign in", &body)
}

/// A page with only a message (unknown request, bad form).
pub fn message(title: &str, text: &str) -> String {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"notice error\">{}</p>\n",
        escape(title),
        escape(text)
    );
    layout(title, &body)
}

/// A request with all its context, and the decision form when `viewer` may decide.
pub fn request(view: &RequestView, viewer: &Viewer<'_>, now: SystemTime) -> String {
    let id = escape(&view.id);
    let mut body = format!("<h1>gate: approval request <code>{id}</code></h1>\n");
    let _ = writeln!(
        body,
        "<p>Signed in as <b>{}</b>.</p>",
        escape(viewer.person)
    );
    if let Some(error) = &viewer.error {
        let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(error));
    }
    if view.break_glass {
        body.push_str("<p><span class=\"breakglass\">BREAK-GLASS</span> the requester approved this themselves under a break-glass rule.</p>\n");
    }
    body.push_str("<table>\n");
    for (label, value) in facts(view, now) {
        let _ = writeln!(body, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    body.push_str("</table>\n");
    body.push_str(&votes(view));
    match &viewer.may_decide {
        Ok(()) => body.push_str(&decision_form(&id, viewer.csrf)),
        Err(why) if view.status == Status::Pending => {
            let _ = writeln!(body, "<p class=\"notice\">{}</p>", escape(why));
        }
        Err(_) => {}
    }
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"{id}/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button type=\"submit\">Sign out</button></form>",
        escape(viewer.csrf)
    );
    layout(&format!("gate: request {}", view.id), &body)
}

/// Label and already-escaped HTML for each row.
fn facts(view: &RequestView, now: SystemTime) -> Vec<(&'static str, String)> {
    let status = view.status.as_str();
    let mut status_html = format!("<span class=\"status {status}\">{status}</span>");
    if view.status == Status::Approved && view.claimed {
        status_html.push_str(" (the command has been run)");
    }
    let time_left = match view.status {
        Status::Pending => format!(
            "{} (expires {})",
            summary::time_left(&view.expires_at, now),
            view.expires_at
        ),
        _ => "-".to_string(),
    };
    let command = format!("<pre>{}</pre>", escape(&summary::command_line(&view.argv)));
    let mut facts = vec![
        ("Status", status_html),
        (
            "Requester",
            escape(&summary::requester_long(&view.requester)),
        ),
        ("Command", command),
        ("Directory", format!("<code>{}</code>", escape(&view.cwd))),
        ("Rule", escape(&view.rules.join(", "))),
        ("Rule's reason", escape(&view.rule_reason)),
        (
            "Requester's reason",
            escape(view.reason.as_deref().unwrap_or("(none given)")),
        ),
        ("Approvers", escape(&view.approvers.join(", "))),
        (
            "Quorum",
            format!("{} of {} approvals", summary::approvals(view), view.quorum),
        ),
        ("Created", escape(&view.created_at)),
        ("Time left", escape(&time_left)),
    ];
    if let Some(identity) = summary::ci_identity(view) {
        facts.insert(2, ("CI identity", escape(&identity)));
    }
    facts
}

fn votes(view: &RequestView) -> String {
    if view.votes.is_empty() {
        return "<p>No votes yet.</p>\n".to_string();
    }
    let mut html = String::from("<h2>Votes</h2>\n<ul>\n");
    for vote in &view.votes {
        let verdict = vote.verdict.past_tense();
        let reason = vote
            .reason
            .as_deref()
            .map(|reason| format!(": {}", escape(reason)))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<li><b>{}</b> {verdict} via {} at {}{reason}</li>",
            escape(&vote.person),
            escape(&vote.channel),
            escape(&vote.at)
        );
    }
    html.push_str("</ul>\n");
    html
}

fn decision_form(id: &str, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{id}/decision\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
<label for=\"reason\">Reason (recorded with your vote; required to deny)</label>\n\
<textarea id=\"reason\" name=\"reason\" rows=\"2\" maxlength=\"2000\"></textarea>\n\
<button type=\"submit\" name=\"verdict\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"verdict\" value=\"deny\">Deny</button>\n</form>\n",
        escape(csrf)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            super::escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
