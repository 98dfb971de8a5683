//! The approval rules as pure functions: who may approve a request, whether a new
//! request is acceptable, and what a vote, a cancel, a claim or the clock does to
//! one. No I/O and no clock of their own: the caller passes `now`, so every rule is
//! tested here without a server.
//!
//! A refusal is data ([`Refusal`]) carrying the HTTP status, the API error code and
//! the offending field; the API layer only renders it.

use super::config::BrokerConfig;
use crate::approval::protocol::{DecideBody, NewRequest, RequestView, Status, Verdict, Vote};
use crate::approval::{DecidedBy, DecisionPayload, SignedDecision};
use crate::identity::Requester;
use ed25519_dalek::SigningKey;
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// A request as the broker holds it: what it reports, plus what it must never report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub view: RequestView,
    /// SHA-256 of the requester's token.
    pub token_hash: [u8; 32],
    /// The config person the requester is, if any (never allowed to approve).
    pub requester_person: Option<String>,
    /// `view.expires_at` as a time.
    pub expires: SystemTime,
}

/// Why the broker refuses something: HTTP status, stable code, one line, the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 `invalid_field` naming `field`.
    pub fn field(field: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field.to_string()),
            ..Refusal::new(400, "invalid_field", message)
        }
    }

    fn already_decided(request: &Request) -> Refusal {
        let status = request.view.status.as_str();
        Refusal::new(
            409,
            "already_decided",
            format!("the request is already {status}"),
        )
    }
}

/// What the broker supplies to admit a request: the parts that are not the
/// requester's to choose.
#[derive(Debug)]
pub struct Admission<'a> {
    pub id: String,
    pub token_hash: [u8; 32],
    pub url: String,
    pub now: SystemTime,
    pub key: &'a SigningKey,
}

pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// The person the requester is: their login equals the person's `unix`, or their
/// CI actor equals the person's `github`.
pub fn requester_person(config: &BrokerConfig, requester: &Requester) -> Option<String> {
    let actor = requester.ci.as_ref().and_then(|ci| ci.actor.as_deref());
    config.people.iter().find_map(|(name, person)| {
        let by_login = person.unix.as_deref() == Some(requester.user.as_str());
        let by_actor = actor.is_some() && person.github.as_deref() == actor;
        (by_login || by_actor).then(|| name.clone())
    })
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

/// Check a new request and build it: approvers resolved without the requester,
/// quorum and timeout defaulted, break-glass decided at once.
pub fn admit(
    new: NewRequest,
    config: &BrokerConfig,
    admission: Admission<'_>,
) -> Result<Request, Refusal> {
    if new.argv.is_empty() {
        return Err(Refusal::field("argv", "argv must name a command"));
    }
    if !is_digest(&new.action_digest) {
        let message = "action_digest must be 64 lowercase hex characters (SHA-256)";
        return Err(Refusal::field("action_digest", message));
    }
    let reason = new.reason.filter(|r| !r.trim().is_empty());
    if new.require_reason && reason.is_none() {
        return Err(Refusal::field(
            "reason",
            "this rule requires a reason; pass --reason TEXT",
        ));
    }
    if new.break_glass && !new.break_glass_allowed {
        let mut refusal = Refusal::new(
            403,
            "break_glass_not_allowed",
            "break-glass is not allowed for this command",
        );
        refusal.field = Some("break_glass".into());
        return Err(refusal);
    }
    if new.break_glass && reason.is_none() {
        return Err(Refusal::field(
            "reason",
            "break-glass needs a reason; pass --reason TEXT",
        ));
    }
    let requester_person = requester_person(config, &new.requester);
    let mut approvers = resolve_approvers(&new.approvers, config)?;
    if let Some(me) = &requester_person {
        approvers.remove(me);
    }
    let quorum = if new.quorum == 0 {
        config.defaults.quorum
    } else {
        new.quorum
    };
    if !new.break_glass && approvers.len() < quorum as usize {
        let message = format!(
            "quorum {quorum} cannot be reached: only {} approver(s) other than the requester",
            approvers.len()
        );
        return Err(Refusal::field("quorum", message));
    }
    let timeout = match new.timeout_seconds {
        0 => config.defaults.timeout,
        seconds => Duration::from_secs(seconds).min(config.defaults.max_timeout),
    };
    let now = admission.now;
    let expires = now + timeout;
    let mut request = Request {
        view: RequestView {
            id: admission.id,
            status: Status::Pending,
            version: 0,
            requester: new.requester,
            argv: new.argv,
            cwd: new.cwd,
            action_digest: new.action_digest,
            rules: new.rules,
            rule_reason: new.rule_reason,
            reason,
            approvers: approvers.into_iter().collect(),
            quorum,
            break_glass: new.break_glass,
            created_at: rfc3339(now),
            expires_at: rfc3339(expires),
            votes: Vec::new(),
            decision: None,
            claimed: false,
            url: admission.url,
        },
        token_hash: admission.token_hash,
        requester_person,
        expires,
    };
    if new.break_glass {
        let person = request
            .requester_person
            .clone()
            .unwrap_or_else(|| request.view.requester.user.clone());
        request.view.votes.push(Vote {
            person,
            channel: "break-glass".into(),
            verdict: Verdict::Approve,
            reason: request.view.reason.clone(),
            at: rfc3339(now),
        });
        finish(
            &mut request,
            Verdict::Approve,
            now,
            config.defaults.decision_ttl,
            admission.key,
        );
    }
    Ok(request)
}

/// `voter` casts `body` on `request` at `now`. The updated request, or why not.
pub fn vote(
    request: &Request,
    voter: &str,
    body: &DecideBody,
    now: SystemTime,
    config: &BrokerConfig,
    key: &SigningKey,
) -> Result<Request, Refusal> {
    if request.view.status.is_final() {
        return Err(Refusal::already_decided(request));
    }
    if now >= request.expires {
        let message = "the request timed out before this decision";
        return Err(Refusal::new(409, "already_decided", message));
    }
    if request.requester_person.as_deref() == Some(voter) {
        let message = format!("{voter} asked for this request and cannot decide it");
        return Err(Refusal::new(403, "self_approval", message));
    }
    if !request.view.approvers.iter().any(|name| name == voter) {
        let message = format!("{voter} is not an approver of this request");
        return Err(Refusal::new(403, "not_an_approver", message));
    }
    if request.view.votes.iter().any(|v| v.person == voter) {
        let message = format!("{voter} has already voted; quorum needs distinct approvers");
        return Err(Refusal::new(409, "already_voted", message));
    }
    let mut next = request.clone();
    next.view.votes.push(Vote {
        person: voter.to_string(),
        channel: body.channel.clone().unwrap_or_else(|| "api".into()),
        verdict: body.verdict,
        reason: body.reason.clone(),
        at: rfc3339(now),
    });
    let approvals = next
        .view
        .votes
        .iter()
        .filter(|v| v.verdict == Verdict::Approve)
        .count();
    if body.verdict == Verdict::Deny {
        finish(
            &mut next,
            Verdict::Deny,
            now,
            config.defaults.decision_ttl,
            key,
        );
    } else if approvals >= next.view.quorum as usize {
        finish(
            &mut next,
            Verdict::Approve,
            now,
            config.defaults.decision_ttl,
            key,
        );
    }
    Ok(next)
}

/// The request timed out, if it is pending and its time has come.
pub fn expire(request: &Request, now: SystemTime) -> Option<Request> {
    if request.view.status != Status::Pending || now < request.expires {
        return None;
    }
    let mut next = request.clone();
    next.view.status = Status::TimedOut;
    Some(next)
}

/// The requester withdraws a pending request.
pub fn cancel(request: &Request) -> Result<Request, Refusal> {
    if request.view.status.is_final() {
        return Err(Refusal::already_decided(request));
    }
    let mut next = request.clone();
    next.view.status = Status::Cancelled;
    Ok(next)
}

/// The requester uses an approval: once, and before the decision expires.
pub fn claim(request: &Request, now: SystemTime) -> Result<Request, Refusal> {
    if request.view.status != Status::Approved {
        let status = request.view.status.as_str();
        let message = format!("only an approved request can be claimed; this one is {status}");
        return Err(Refusal::new(409, "not_approved", message));
    }
    if request.view.claimed {
        let message = "this approval was already used; ask again";
        return Err(Refusal::new(409, "already_claimed", message));
    }
    let expired = decision_expiry(request).is_none_or(|expires| now >= expires);
    if expired {
        let message = "the approval expired before it was used; ask again";
        return Err(Refusal::new(409, "decision_expired", message));
    }
    let mut next = request.clone();
    next.view.claimed = true;
    Ok(next)
}

fn decision_expiry(request: &Request) -> Option<SystemTime> {
    let decision = request.view.decision.as_ref()?;
    let payload: DecisionPayload = serde_json::from_str(&decision.payload).ok()?;
    humantime::parse_rfc3339(&payload.expires_at).ok()
}

/// Make `request` final with a signed decision.
fn finish(
    request: &mut Request,
    verdict: Verdict,
    now: SystemTime,
    ttl: Duration,
    key: &SigningKey,
) {
    let approvers = request
        .view
        .votes
        .iter()
        .filter(|v| v.verdict == verdict)
        .map(|v| DecidedBy {
            name: v.person.clone(),
            channel: v.channel.clone(),
        })
        .collect();
    let payload = DecisionPayload {
        v: 1,
        request_id: request.view.id.clone(),
        action_digest: request.view.action_digest.clone(),
        verdict,
        approvers,
        break_glass: request.view.break_glass,
        decided_at: rfc3339(now),
        expires_at: rfc3339(now + ttl),
    };
    request.view.status = match verdict {
        Verdict::Approve => Status::Approved,
        Verdict::Deny => Status::Denied,
    };
    request.view.decision = Some(SignedDecision::sign(&payload, key));
}

fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
