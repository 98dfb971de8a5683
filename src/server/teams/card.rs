//! The Adaptive Cards (version 1.5) the broker posts to a Teams Workflows
//! webhook: a new request, its outcome, and a break-glass announcement.
//!
//! Pure: takes a request view and "now", returns JSON. Everything the requester
//! controls (command, cwd, names, reasons) goes into `TextRun`s, which Teams shows
//! verbatim (no markdown), and is cut to a bounded length on a character boundary,
//! so a request cannot forge links or formatting, or blow the card size limit.

use crate::approval::protocol::{Choice, RequestView, Status};
use crate::approval::summary;
use serde_json::{Value, json};
use std::time::SystemTime;

/// The longest command shown; the full one is on the approval page.
const COMMAND_CHARS: usize = 1500;
/// The longest other requester-supplied text shown.
const TEXT_CHARS: usize = 500;

/// The webhook body wrapping one card.
pub fn message(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// A new request waiting for approvers.
pub fn request_card(view: &RequestView, now: SystemTime) -> Value {
    // Headings are TextBlocks, which render markdown: only our own words go there.
    let mut body = vec![heading("Approval needed", "Attention")];
    body.extend(context(view));
    body.push(line(
        "Approvers",
        &format!("{} (quorum {})", view.approvers.join(", "), view.quorum),
    ));
    body.push(line(
        "Time left",
        &format!(
            "{} (expires {})",
            summary::time_left(&view.expires_at, now),
            view.expires_at
        ),
    ));
    card(body, actions(view, "Review and decide"))
}

/// The final word on a request: approved, denied, timed out or cancelled.
pub fn outcome_card(view: &RequestView) -> Value {
    // Person names come from the broker config, not from the requester.
    let deciders = |verdict: Choice| {
        let names: Vec<&str> = view
            .votes
            .iter()
            .filter(|vote| vote.verdict == verdict)
            .map(|vote| vote.person.as_str())
            .collect();
        names.join(", ")
    };
    let (title, color) = match view.status {
        Status::Approved => (format!("Approved by {}", deciders(Choice::Approve)), "Good"),
        Status::Denied => (format!("Denied by {}", deciders(Choice::Deny)), "Attention"),
        Status::TimedOut => ("Timed out: nobody decided in time".to_string(), "Warning"),
        Status::Cancelled => ("Cancelled by the requester".to_string(), "Default"),
        Status::Pending => ("Still pending".to_string(), "Default"),
    };
    let mut body = vec![heading(&title, color)];
    body.push(line("Request", &view.id));
    body.push(line(
        "Requester",
        &format!("{}@{}", view.requester.user, view.requester.host),
    ));
    body.push(command(&view.argv));
    for vote in &view.votes {
        let verdict = vote.verdict.past_tense();
        let mut text = format!("{verdict} via {} at {}", vote.channel, vote.at);
        if let Some(reason) = &vote.reason {
            text.push_str(&format!(": {reason}"));
        }
        body.push(line(&vote.person, &text));
    }
    card(body, actions(view, "Open the request"))
}

/// A request that approved itself under a break-glass rule: everyone should know.
pub fn break_glass_card(view: &RequestView) -> Value {
    let title = "BREAK-GLASS: a command was self-approved without review";
    let mut body = vec![heading(title, "Attention")];
    body.extend(context(view));
    for vote in &view.votes {
        let text = format!(
            "{} via {} at {}",
            vote.verdict.as_str(),
            vote.channel,
            vote.at
        );
        body.push(line(&format!("Self-approved by {}", vote.person), &text));
    }
    card(body, actions(view, "Open the request"))
}

/// Who asked, what, where, and why: the same facts for every card that has them.
fn context(view: &RequestView) -> Vec<Value> {
    let requester = &view.requester;
    let mut items = vec![line(
        "Requester",
        &format!("{}@{}", requester.user, requester.host),
    )];
    if let Some(ci) = &requester.ci {
        let mut text = format!("CI {}", ci.system);
        for (name, value) in [
            ("actor", &ci.actor),
            ("repo", &ci.repository),
            ("branch", &ci.branch),
        ] {
            if let Some(value) = value {
                text.push_str(&format!(", {name} {value}"));
            }
        }
        let mut runs = vec![bold("CI job: "), plain(&text)];
        if let Some(url) = ci.url.as_deref().filter(|url| is_web_link(url)) {
            runs.push(plain(" "));
            runs.push(link("(open the job)", url));
        }
        items.push(rich(runs));
        if let Some(identity) = summary::ci_identity(view) {
            items.push(line("CI identity", &identity));
        }
    }
    if let Some(agent) = &requester.agent {
        let mut text = agent.name.clone();
        if let Some(session) = &agent.session {
            text.push_str(&format!(", session {session}"));
        }
        items.push(line("Agent", &text));
    }
    items.push(command(&view.argv));
    items.push(line("Directory", &view.cwd));
    items.push(line(
        "Rule",
        &format!("{}: {}", view.rules.join(", "), view.rule_reason),
    ));
    let reason = view.reason.as_deref().unwrap_or("(none given)");
    items.push(line("Requester's reason", reason));
    items
}

fn card(body: Vec<Value>, actions: Vec<Value>) -> Value {
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": body,
        "actions": actions,
    })
}

fn actions(view: &RequestView, title: &str) -> Vec<Value> {
    let mut actions = vec![json!({"type": "Action.OpenUrl", "title": title, "url": view.url})];
    let job = view.requester.ci.as_ref().and_then(|ci| ci.url.as_deref());
    if let Some(url) = job.filter(|url| is_web_link(url)) {
        actions.push(json!({"type": "Action.OpenUrl", "title": "CI job", "url": url}));
    }
    actions
}

/// Our own words, never requester text.
fn heading(text: &str, color: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true})
}

/// The command, monospace, cut safely.
fn command(argv: &[String]) -> Value {
    let text = cut(&summary::command_line(argv), COMMAND_CHARS);
    let run = json!({"type": "TextRun", "text": text, "fontType": "Monospace"});
    json!({"type": "RichTextBlock", "inlines": [bold("Command: "), run]})
}

fn line(label: &str, value: &str) -> Value {
    rich(vec![
        bold(&format!("{label}: ")),
        plain(&cut(value, TEXT_CHARS)),
    ])
}

fn rich(inlines: Vec<Value>) -> Value {
    json!({"type": "RichTextBlock", "inlines": inlines})
}

fn bold(text: &str) -> Value {
    json!({"type": "TextRun", "text": text, "weight": "Bolder"})
}

fn plain(text: &str) -> Value {
    json!({"type": "TextRun", "text": text})
}

fn link(text: &str, url: &str) -> Value {
    json!({"type": "TextRun", "text": text, "selectAction": {"type": "Action.OpenUrl", "url": url}})
}

fn is_web_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace)
}

/// At most `limit` characters; a cut text says how much it left out.
pub fn cut(text: &str, limit: usize) -> String {
    let total = text.chars().count();
    if total <= limit {
        return text.to_string();
    }
    let kept: String = text.chars().take(limit).collect();
    format!("{kept}… ({} more characters)", total - limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(user: &str, argv: Vec<String>) -> RequestView {
        serde_json::from_value(json!({
            "id": "0123456789abcdef0123456789abcdef", "status": "pending", "version": 1,
            "requester": {"user": user, "host": "h", "ci": null, "agent": null},
            "argv": argv, "cwd": "/", "action_digest": "ab", "rules": ["r"],
            "rule_reason": "why", "reason": null, "approvers": ["bob"], "quorum": 1,
            "break_glass": false, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-01T00:15:00Z", "votes": [], "decision": null,
            "claimed": false, "url": "http://b/r/0123456789abcdef0123456789abcdef"
        }))
        .unwrap()
    }

    /// Every TextBlock (markdown) in a card.
    fn text_blocks(card: &Value) -> Vec<String> {
        card["body"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["type"] == "TextBlock")
            .map(|item| item["text"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn requester_text_stays_out_of_markdown_and_long_commands_are_cut() {
        let evil = "[click me](https://evil.example)";
        let argv = vec!["echo".to_string(), "x".repeat(5000)];
        let card = request_card(&view(evil, argv), SystemTime::UNIX_EPOCH);
        for text in text_blocks(&card) {
            assert!(!text.contains("evil"), "{text}");
        }
        let shown = card.to_string();
        assert!(shown.contains(evil), "shown verbatim in a TextRun");
        assert!(shown.contains("… (3505 more characters)"), "{shown}");
        assert!(shown.len() < 6000, "{}", shown.len());
    }

    #[test]
    fn cutting_respects_characters() {
        use super::cut;
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("ééééé", 2), "éé… (3 more characters)");
    }
}
