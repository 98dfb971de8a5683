//! The approval pages' HTML: the sign-in form, the landing page with the
//! requests waiting for you, a request with all its context, and the decision
//! form. Pure: values in, a string out.
//!
//! Everything shown that came from a request, a person or a refusal passes
//! through [`escape`]: commands are attacker-controlled. The pages load nothing
//! (inline CSS, no images; the one script is inline, carries the response's CSP
//! nonce and only counts down the time left, see [`clock`]) and link only to
//! themselves, so they work offline and the CSP can forbid everything else. Links
//! and form actions are paths under `base`, the path of the broker's `public_url`
//! (empty at the root), so the pages work under a path prefix, and a page
//! answering a form post (a refusal at `/r/ID/decision`) still posts where the
//! page at `/r/ID` does.

use super::clock;
use super::style::STYLE;
use crate::approval::protocol::{RequestView, Status};
use crate::approval::summary;
use std::fmt::Write;
use std::time::SystemTime;

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

/// A whole page; `script` (the clock, with its nonce) goes last in the body.
fn layout(title: &str, body: &str, script: Option<String>) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}{}</body></html>\n",
        escape(title),
        script.unwrap_or_default()
    )
}

/// Where a sign-in form leads: the landing page, or one request's page.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    Landing,
    Request(&'a str),
    Dashboard,
}

/// The sign-in form for `place`, with an optional problem on top and, when `sso`
/// is a link, a way to sign in with single sign-on.
pub fn signin(base: &str, place: Place<'_>, error: Option<&str>, sso: Option<&str>) -> String {
    let (heading, action) = match place {
        Place::Landing => (
            "sign in to see the requests waiting for you",
            format!("{base}/signin"),
        ),
        Place::Request(id) => (
            "sign in to review this request",
            format!("{base}/r/{id}/signin"),
        ),
        Place::Dashboard => (
            "sign in to the dashboard",
            format!("{base}/dashboard/signin"),
        ),
    };
    let mut body = format!("<h1>gate: {heading}</h1>\n");
    if let Some(error) = error {
        let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(error));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}\">\n\
<label for=\"token\">Approver token (from <code>gate serve token create NAME</code>)</label>\n\
<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required>\n\
<button type=\"submit\">Sign in</button>\n</form>\n",
        escape(&action)
    );
    if let Some(link) = sso {
        let _ = writeln!(
            body,
            "<p class=\"sso\"><a href=\"{}\">Sign in with SSO</a> (your organisation's single sign-on)</p>",
            escape(link)
        );
    }
    layout("gate: sign in", &body, None)
}

/// After single sign-on: who is signed in, moving on to `next` (a path on this
/// broker) at once.
pub fn moving_on(person: &str, next: &str) -> String {
    let body = format!(
        "<h1>gate: signed in as {}</h1>\n<p><a href=\"{}\">Continue</a></p>\n",
        escape(person),
        escape(next)
    );
    let page = layout("gate: signed in", &body, None);
    let refresh = format!(
        "<meta http-equiv=\"refresh\" content=\"0; url={}\">",
        escape(next)
    );
    page.replacen("<title>", &format!("{refresh}<title>"), 1)
}

/// A page with only a message (unknown request, bad form).
pub fn message(title: &str, text: &str) -> String {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"notice error\">{}</p>\n",
        escape(title),
        escape(text)
    );
    layout(title, &body, None)
}

/// The landing page for a signed-in person: who they are, sign-out, a problem
/// from the last form, and the `requests` they may still vote on, each linking
/// to its page. With `nonce`, the times left count down.
pub fn landing(
    base: &str,
    person: &str,
    csrf: &str,
    requests: &[&RequestView],
    error: Option<&str>,
    now: SystemTime,
    nonce: Option<&str>,
) -> String {
    let mut body = String::from("<h1>gate: requests waiting for you</h1>\n");
    body.push_str(&signed_in(person, csrf, &format!("{base}/signout")));
    if let Some(error) = error {
        let _ = writeln!(body, "<p class=\"notice error\">{}</p>", escape(error));
    }
    if requests.is_empty() {
        body.push_str("<p>Nothing is waiting for your decision.</p>\n");
    } else {
        body.push_str(
            "<table class=\"list\">\n<tr><th>Request</th><th>Requester</th><th>Command</th>\
<th>Rule</th><th>Time left</th></tr>\n",
        );
        for view in requests {
            let id = escape(&view.id);
            let command = summary::truncate(&summary::command_line(&view.argv), 120);
            let _ = writeln!(
                body,
                "<tr><td><a href=\"{}/r/{id}\">{id}</a></td><td>{}</td><td><code>{}</code></td>\
<td>{}</td><td>{}</td></tr>",
                escape(base),
                escape(&summary::requester_short(&view.requester)),
                escape(&command),
                escape(&summary::rules(view)),
                clock::countdown(view, now)
            );
        }
        body.push_str("</table>\n");
    }
    layout(
        "gate: requests waiting for you",
        &body,
        nonce.map(clock::script),
    )
}

/// "Signed in as NAME" with the sign-out form posting to `action`.
fn signed_in(person: &str, csrf: &str, action: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><p>Signed in as <b>{}</b>. \
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button type=\"submit\">Sign out</button></p></form>\n",
        escape(action),
        escape(person),
        escape(csrf)
    )
}

/// A request with all its context, and the decision form when `viewer` may
/// decide. With `nonce`, the time left counts down.
pub fn request(
    base: &str,
    view: &RequestView,
    viewer: &Viewer<'_>,
    now: SystemTime,
    nonce: Option<&str>,
) -> String {
    let id = escape(&view.id);
    let mut body = format!("<h1>gate: approval request <code>{id}</code></h1>\n");
    let signout = format!("{base}/r/{}/signout", view.id);
    body.push_str(&signed_in(viewer.person, viewer.csrf, &signout));
    let _ = writeln!(
        body,
        "<p><a href=\"{}/\">All requests waiting for you</a></p>",
        escape(base)
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
        Ok(()) => body.push_str(&decision_form(&escape(base), &id, viewer.csrf)),
        Err(why) if view.status == Status::Pending => {
            let _ = writeln!(body, "<p class=\"notice\">{}</p>", escape(why));
        }
        Err(_) => {}
    }
    layout(
        &format!("gate: request {}", view.id),
        &body,
        nonce.map(clock::script),
    )
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
            clock::countdown(view, now),
            escape(&view.expires_at)
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
        ("Time left", time_left),
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

/// The decision form; `base` and `id` come escaped.
fn decision_form(base: &str, id: &str, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{base}/r/{id}/decision\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
<label for=\"reason\">Reason (recorded with your vote; required to deny)</label>\n\
<textarea id=\"reason\" name=\"reason\" rows=\"2\" maxlength=\"2000\"></textarea>\n\
<p class=\"notice\" data-expired=\"{id}\" hidden>This request has expired; it can no longer be decided.</p>\n\
<button type=\"submit\" class=\"approve\" name=\"verdict\" value=\"approve\" data-decide=\"{id}\">\
<span aria-hidden=\"true\">&#10003; </span>Approve</button>\
<button type=\"submit\" class=\"deny\" name=\"verdict\" value=\"deny\" data-decide=\"{id}\">\
<span aria-hidden=\"true\">&#10007; </span>Deny</button>\n</form>\n",
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
