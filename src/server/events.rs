//! The broker's log: one line on stderr per event (created, vote, decided, timed
//! out, cancelled, claimed), break-glass flagged as BREAK-GLASS. Lines name
//! requests, people and commands (already redacted by the requester), never a token.

use super::rules::{Refusal, Request};
use crate::approval::protocol::{NewRequest, Status};

/// Who asked for what, kept to log a refused request.
#[derive(Debug)]
pub struct Asked {
    who: String,
    command: String,
}

impl Asked {
    pub fn of(new: &NewRequest) -> Asked {
        let requester = &new.requester;
        let mut who = format!("{}@{}", requester.user, requester.host);
        if let Some(actor) = requester.ci.as_ref().and_then(|ci| ci.actor.as_deref()) {
            who.push_str(&format!(" (CI actor {actor})"));
        }
        Asked {
            who: one_line(&who),
            command: one_line(&new.argv.join(" ")),
        }
    }
}

/// A request the broker would not admit: who tried what, and why.
pub fn refused_request(asked: &Asked, refusal: &Refusal) {
    crate::serve_log!(
        "gate serve: refused a request by {}: {}: {} ({})",
        asked.who,
        asked.command,
        one_line(&refusal.message),
        refusal.code
    );
}

/// A vote the broker would not count: who tried, on which request, and why.
pub fn refused_vote(id: &str, person: &str, channel: &str, refusal: &Refusal) {
    crate::serve_log!(
        "gate serve: refused a vote on {} by {} via {}: {} ({})",
        one_line(id),
        one_line(person),
        one_line(channel),
        one_line(&refusal.message),
        refusal.code
    );
}

pub fn created(request: &Request) {
    let view = &request.view;
    let who = one_line(&format!("{}@{}", view.requester.user, view.requester.host));
    let command = one_line(&view.argv.join(" "));
    if view.break_glass {
        let reason = one_line(view.reason.as_deref().unwrap_or_default());
        crate::serve_log!(
            "gate serve: BREAK-GLASS {} by {who}: {command} (self-approved, reason: {reason})",
            view.id
        );
        return;
    }
    crate::serve_log!(
        "gate serve: created {} by {who}: {command} (approvers: {}; quorum {}; expires {})",
        view.id,
        view.approvers.join(", "),
        view.quorum,
        view.expires_at
    );
}

/// The lines for one change from `before` to `after`.
pub fn changed(before: &Request, after: &Request) {
    let id = &after.view.id;
    for vote in after.view.votes.iter().skip(before.view.votes.len()) {
        crate::serve_log!(
            "gate serve: vote {id}: {} {} via {}",
            vote.person,
            vote.verdict.as_str(),
            one_line(&vote.channel)
        );
    }
    if before.view.status != after.view.status {
        let line = match after.view.status {
            Status::Approved | Status::Denied => {
                format!("decided {id}: {}", after.view.status.as_str())
            }
            Status::TimedOut => format!("timed out {id}"),
            Status::Cancelled => format!("cancelled {id}"),
            Status::Pending => return,
        };
        crate::serve_log!("gate serve: {line}");
    }
    if after.view.claimed && !before.view.claimed {
        crate::serve_log!("gate serve: claimed {id}");
    }
}

/// Text from a request with control characters escaped, so that one event stays
/// one line whatever the requester sent.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// A published policy version came into force, or was refused.
pub fn policy_settled(version: &str, approved: bool, by: &[String]) {
    if approved {
        crate::serve_log!(
            "gate serve: organisation policy {} is now in force (approved by {})",
            &version[..version.len().min(12)],
            by.join(", ")
        );
    } else {
        crate::serve_log!(
            "gate serve: organisation policy {} was not approved; the policy in force is unchanged",
            &version[..version.len().min(12)]
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_cannot_forge_log_lines() {
        let text = super::one_line("rm -rf x\ngate serve: decided abc: approved\u{1b}[2J");
        assert_eq!(
            text,
            "rm -rf x\\ngate serve: decided abc: approved\\u{1b}[2J"
        );
        assert!(!text.contains('\n'));
    }
}
