//! The Block Kit message for one request, in every state it goes through:
//! pending (Approve / Deny buttons), final (the outcome and who decided, no
//! buttons) and break-glass (an announcement, never buttons).
//!
//! Pure: takes the request and "now", returns JSON; Slack's size limits are
//! enforced here and a shortened text says so.

use crate::approval::protocol::{Choice, RequestView, Status};
use crate::approval::summary::{self, truncate};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Slack's limits (characters).
pub const HEADER_MAX: usize = 150;
pub const SECTION_MAX: usize = 3000;
pub const BUTTON_MAX: usize = 75;
pub const ACTIONS_MAX: usize = 25;
pub const BLOCKS_MAX: usize = 50;
/// The notification fallback text; Slack allows more, people read less.
pub const FALLBACK_MAX: usize = 3000;

pub const APPROVE: &str = "gate_approve";
pub const DENY: &str = "gate_deny";

/// A message body: the fallback `text` and its `blocks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// The message for `request` as it stands at `now`.
pub fn render(request: &RequestView, now: SystemTime) -> Message {
    let command = summary::command_line(&request.argv);
    let title = if request.break_glass {
        "Break-glass"
    } else {
        match request.status {
            Status::Pending => "Approval needed",
            Status::Approved => "Approved",
            Status::Denied => "Denied",
            Status::TimedOut => "Timed out",
            Status::Cancelled => "Cancelled",
        }
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&format!("{title}: {command}"), HEADER_MAX), "emoji": false },
    })];
    if request.break_glass {
        blocks.push(section(&format!(
            ":rotating_light: *Break-glass*: {} ran this under their own approval. Review it.",
            escape(&request.requester.user)
        )));
    }
    blocks.push(section(&requester(request)));
    blocks.push(section(&code_block(&command, &request.url)));
    let mut rule = format!("*Rule:* {}", escape(&summary::rules(request)));
    if !request.rule_reason.is_empty() {
        rule.push_str(&format!("\n*Why:* {}", escape(&request.rule_reason)));
    }
    blocks.push(section(&rule));
    if let Some(reason) = request.reason.as_deref().filter(|r| !r.is_empty()) {
        blocks.push(section(&format!("*Justification:* {}", escape(reason))));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": fit(&progress(request, now), SECTION_MAX) }],
    }));
    match request.status {
        Status::Pending if !request.break_glass => blocks.push(buttons(&request.id)),
        Status::Pending => {}
        _ => blocks.push(section(&outcome(request))),
    }
    debug_assert!(blocks.len() <= BLOCKS_MAX);
    // Slack reads the fallback as mrkdwn too.
    let text = format!(
        "{title}: {} (requested by {}) {}",
        escape(&command),
        escape(&summary::requester_short(&request.requester)),
        request.url
    );
    Message {
        text: truncate(&text, FALLBACK_MAX),
        blocks,
    }
}

/// The thread reply telling the requester how a final request ended.
pub fn thread_reply(request: &RequestView, requester_slack: Option<&str>) -> String {
    let who = requester_slack.map_or_else(
        || escape(&request.requester.user),
        |id| format!("<@{}>", escape(id)),
    );
    fit(&format!("{who}: {}", outcome(request)), SECTION_MAX)
}

fn requester(request: &RequestView) -> String {
    let r = &request.requester;
    let mut text = format!("*Requested by* `{}@{}`", escape(&r.user), escape(&r.host));
    if let Some(ci) = &r.ci {
        let job = match &ci.url {
            Some(url) => link(url, &format!("{} job", ci.system)),
            None => format!("{} job", escape(&ci.system)),
        };
        text.push_str(&format!("\n*CI:* {job}"));
        for (name, value) in [
            ("actor", &ci.actor),
            ("repo", &ci.repository),
            ("branch", &ci.branch),
        ] {
            if let Some(value) = value {
                text.push_str(&format!(" · {name} `{}`", escape(value)));
            }
        }
        if let Some(identity) = summary::ci_identity(request) {
            text.push_str(&format!("\n*CI identity:* {}", escape(&identity)));
        }
    }
    if let Some(agent) = &r.agent {
        text.push_str(&format!("\n*Agent:* {}", escape(&agent.name)));
        if let Some(session) = &agent.session {
            text.push_str(&format!(" · session `{}`", escape(session)));
        }
    }
    fit(&text, SECTION_MAX)
}

/// The command in a code block, shortened to fit a section and saying so.
fn code_block(command: &str, url: &str) -> String {
    let full = format!("```{}```", escape(command));
    if full.chars().count() <= SECTION_MAX {
        return full;
    }
    let total = command.chars().count();
    let note_for = |shown: usize| {
        format!(
            "\n_Shortened to fit Slack: {shown} of {total} characters shown; the full command is on the {}._",
            link(url, "approval page")
        )
    };
    let budget = SECTION_MAX - 6 - note_for(total).chars().count() - 1;
    let escaped = escape(command);
    let mut cut: String = escaped.chars().take(budget).collect();
    // Never leave half an entity (`&am`) behind.
    if let Some(amp) = cut.rfind('&')
        && !cut[amp..].contains(';')
    {
        cut.truncate(amp);
    }
    let shown = unescape(&cut).chars().count();
    format!("```{cut}…```{}", note_for(shown))
}

fn progress(request: &RequestView, now: SystemTime) -> String {
    let approvals: Vec<String> = request
        .votes
        .iter()
        .filter(|vote| vote.verdict == Choice::Approve)
        .map(|vote| format!("{} ({})", escape(&vote.person), escape(&vote.channel)))
        .collect();
    let mut text = format!("*Approvals:* {} of {}", approvals.len(), request.quorum);
    if !approvals.is_empty() {
        text.push_str(&format!(" — {}", approvals.join(", ")));
    }
    text.push_str(&format!(
        " · *Approvers:* {}",
        escape(&request.approvers.join(", "))
    ));
    if request.status == Status::Pending {
        let left = summary::time_left(&request.expires_at, now);
        let at = match summary::parse_time(&request.expires_at) {
            Some(at) => {
                let unix = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                format!(
                    "<!date^{unix}^{{date_short_pretty}} {{time}}|{}>",
                    request.expires_at
                )
            }
            None => escape(&request.expires_at),
        };
        text.push_str(&format!(" · *Expires* in {left} ({at})"));
    }
    text.push_str(&format!(" · {}", link(&request.url, "details")));
    text
}

fn outcome(request: &RequestView) -> String {
    let by = |verdict: Choice| {
        request
            .votes
            .iter()
            .filter(|vote| vote.verdict == verdict)
            .map(|vote| {
                let mut text = format!("{} via {}", escape(&vote.person), escape(&vote.channel));
                if let Some(reason) = vote.reason.as_deref().filter(|r| !r.is_empty()) {
                    text.push_str(&format!(" (“{}”)", escape(reason)));
                }
                text
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = match request.status {
        Status::Approved if request.break_glass => {
            format!(
                ":rotating_light: *Approved by break-glass* ({})",
                by(Choice::Approve)
            )
        }
        Status::Approved => format!(":white_check_mark: *Approved* by {}", by(Choice::Approve)),
        Status::Denied => format!(":no_entry: *Denied* by {}", by(Choice::Deny)),
        Status::TimedOut => {
            ":hourglass: *Timed out*: nobody decided in time; the command did not run".into()
        }
        Status::Cancelled => ":heavy_multiplication_x: *Cancelled* by the requester".into(),
        Status::Pending => "*Pending*".into(),
    };
    fit(&text, SECTION_MAX)
}

fn buttons(id: &str) -> Value {
    let button = |label: &str, action: &str, style: &str| {
        json!({
            "type": "button",
            "text": { "type": "plain_text", "text": truncate(label, BUTTON_MAX) },
            "action_id": action,
            "value": id,
            "style": style,
        })
    };
    let elements = vec![
        button("Approve", APPROVE, "primary"),
        button("Deny", DENY, "danger"),
    ];
    debug_assert!(elements.len() <= ACTIONS_MAX);
    json!({ "type": "actions", "block_id": "gate_decision", "elements": elements })
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": fit(text, SECTION_MAX) } })
}

/// `text` within `max` characters, marked when shortened.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    const NOTE: &str = " _(shortened to fit Slack)_";
    let cut = truncate(text, max - NOTE.chars().count());
    format!("{cut}{NOTE}")
}

/// Slack mrkdwn escaping: the three characters Slack gives meaning to.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `<url|label>`, when `url` is a plain http(s) URL; else just the label.
fn link(url: &str, label: &str) -> String {
    let safe = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(['<', '>', '|', ' ']);
    if safe {
        format!("<{url}|{}>", escape(label))
    } else {
        escape(label)
    }
}
