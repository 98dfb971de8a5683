//! The approval rules as pure functions: who may approve a request, whether a new
//! request is acceptable, and what a vote, a cancel, a claim or the clock does to
//! one. No I/O and no clock of their own: the caller passes `now`, so every rule is
//! tested here without a server.
//!
//! A refusal is data ([`Refusal`]) carrying the HTTP status, the API error code and
//! the offending field; the API layer only renders it.
//!
//! Files: this one (the request as held, refusals, who is who), `admit` (checking
//! and building a new request), `decide` (votes, expiry, cancel, claim, and the
//! signed decision that makes a request final).

mod admit;
mod decide;
mod publish;

pub use admit::{Admission, admit};
pub use decide::{cancel, claim, expire, may_vote, vote};
pub use publish::{POLICY_CHANGE_RULE, Publication, admit_publication, is_publication};

use super::config::BrokerConfig;
use crate::approval::protocol::{Choice, ErrorCode, RequestView, Status};
use crate::identity::Requester;
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// A request as the broker holds it: what it reports, plus what it must never report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub view: RequestView,
    /// SHA-256 of the requester's token.
    pub token_hash: [u8; 32],
    /// Every config person the requester is under any of its identities; none of
    /// them may approve.
    pub requester_people: BTreeSet<String>,
    /// `view.expires_at` as a time.
    pub expires: SystemTime,
}

/// Why the broker refuses something: HTTP status, stable code, one line, the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// When to ask again (`Retry-After`), for a 429.
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_field` naming `field`.
    pub fn field(field: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field.to_string()),
            ..Refusal::new(400, ErrorCode::InvalidField, message)
        }
    }

    /// 409 `already_decided`, saying how the request ended and whose votes ended it.
    fn already_decided(request: &Request) -> Refusal {
        let message = format!("the request is already {}", how_it_ended(&request.view));
        Refusal::new(409, ErrorCode::AlreadyDecided, message)
    }
}

/// "approved by bob, carol", "denied by bob: not during the freeze", "timed out",
/// "cancelled by its requester": what an approver arriving late needs to know.
fn how_it_ended(view: &RequestView) -> String {
    let voters = |verdict: Choice| {
        view.votes
            .iter()
            .filter(|vote| vote.verdict == verdict)
            .map(|vote| vote.person.as_str())
            .collect::<Vec<_>>()
    };
    match view.status {
        Status::Approved => match voters(Choice::Approve) {
            people if people.is_empty() => "approved".to_string(),
            people => format!("approved by {}", people.join(", ")),
        },
        Status::Denied => match view.votes.iter().find(|v| v.verdict == Choice::Deny) {
            Some(vote) => match &vote.reason {
                Some(reason) => format!("denied by {}: {reason}", vote.person),
                None => format!("denied by {}", vote.person),
            },
            None => "denied".to_string(),
        },
        Status::TimedOut => match voters(Choice::Approve) {
            people if people.is_empty() => "timed out with no decision".to_string(),
            people => format!(
                "timed out short of its quorum of {} (approved by {})",
                view.quorum,
                people.join(", ")
            ),
        },
        Status::Cancelled => "cancelled by its requester".to_string(),
        Status::Pending => "pending".to_string(),
    }
}

pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// Every config person the requester may be ([`Requester::people_in`]).
pub fn requester_people(config: &BrokerConfig, requester: &Requester) -> BTreeSet<String> {
    requester.people_in(&config.people)
}

/// Person names of approver entries, groups expanded. Empty entries: the broker's
/// default, and when that is empty too, every person in the config.
pub fn resolve_approvers(
    entries: &[String],
    config: &BrokerConfig,
) -> Result<BTreeSet<String>, Refusal> {
    let entries = if entries.is_empty() {
        &config.defaults.approvers
    } else {
        entries
    };
    if entries.is_empty() {
        return Ok(config.people.keys().cloned().collect());
    }
    let mut people = BTreeSet::new();
    for entry in entries {
        match entry.strip_prefix("group:") {
            Some(group) => match config.groups.get(group) {
                Some(members) => people.extend(members.iter().cloned()),
                None => {
                    let message = format!(
                        "unknown group \"{group}\" in approvers: the broker config has no such group"
                    );
                    return Err(Refusal::field("approvers", message));
                }
            },
            None if config.people.contains_key(entry) => {
                people.insert(entry.clone());
            }
            None => {
                let message =
                    format!("unknown approver \"{entry}\": not a person in the broker config");
                return Err(Refusal::field("approvers", message));
            }
        }
    }
    Ok(people)
}

#[cfg(test)]
mod tests;
