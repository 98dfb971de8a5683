//! What happens to a request after it is admitted: votes (quorum, one deny,
//! self-approval, distinct approvers), expiry, cancel, claim, and the signed
//! decision that makes it final.

use super::{Refusal, Request, rfc3339};
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, DecideBody, Status, Vote};
use crate::approval::{DecidedBy, DecisionPayload, SignedDecision};
use crate::server::config::BrokerConfig;
use ed25519_dalek::SigningKey;
use std::time::{Duration, SystemTime};

/// `voter` casts `body` on `request` at `now`. The updated request, or why not.
pub fn vote(
    request: &Request,
    voter: &str,
    body: &DecideBody,
    now: SystemTime,
    config: &BrokerConfig,
    key: &SigningKey,
) -> Result<Request, Refusal> {
    may_vote(request, voter, now)?;
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
        .filter(|v| v.verdict == Choice::Approve)
        .count();
    if body.verdict == Choice::Deny {
        finish(
            &mut next,
            Choice::Deny,
            now,
            config.defaults.decision_ttl,
            key,
        );
    } else if approvals >= next.view.quorum as usize {
        finish(
            &mut next,
            Choice::Approve,
            now,
            config.defaults.decision_ttl,
            key,
        );
    }
    Ok(next)
}

/// Whether `voter` may vote on `request` at `now`, else the refusal [`vote`]
/// gives: what a channel offers (the web page's forms, its list of requests
/// waiting for you) is decided by the same checks as the vote itself.
pub fn may_vote(request: &Request, voter: &str, now: SystemTime) -> Result<(), Refusal> {
    if request.view.status.is_final() {
        return Err(Refusal::already_decided(request));
    }
    if now >= request.expires {
        let message = "the request timed out before this decision";
        return Err(Refusal::new(409, ErrorCode::AlreadyDecided, message));
    }
    if request.requester_people.contains(voter) {
        let message = format!("{voter} asked for this request and cannot decide it");
        return Err(Refusal::new(403, ErrorCode::SelfApproval, message));
    }
    if !request.view.approvers.iter().any(|name| name == voter) {
        let message = format!("{voter} is not an approver of this request");
        return Err(Refusal::new(403, ErrorCode::NotAnApprover, message));
    }
    if request.view.votes.iter().any(|v| v.person == voter) {
        let message = format!("{voter} has already voted; quorum needs distinct approvers");
        return Err(Refusal::new(409, ErrorCode::AlreadyVoted, message));
    }
    Ok(())
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
        return Err(Refusal::new(409, ErrorCode::NotApproved, message));
    }
    if request.view.claimed {
        let message = "this approval was already used; ask again";
        return Err(Refusal::new(409, ErrorCode::AlreadyClaimed, message));
    }
    let expired = decision_expiry(request).is_none_or(|expires| now >= expires);
    if expired {
        let message = "the approval expired before it was used; ask again";
        return Err(Refusal::new(409, ErrorCode::DecisionExpired, message));
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
pub(super) fn finish(
    request: &mut Request,
    verdict: Choice,
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
        v: crate::approval::DECISION_VERSION,
        request_id: request.view.id.clone(),
        action_digest: request.view.action_digest.clone(),
        argv: request.view.argv.clone(),
        cwd: request.view.cwd.clone(),
        rules: request.view.rules.clone(),
        policy_version: request.view.policy_version.clone(),
        verdict,
        approvers,
        break_glass: request.view.break_glass,
        decided_at: rfc3339(now),
        expires_at: rfc3339(now + ttl),
        ci_identity: request.view.ci_identity.clone(),
    };
    request.view.status = match verdict {
        Choice::Approve => Status::Approved,
        Choice::Deny => Status::Denied,
    };
    request.view.decision = Some(SignedDecision::sign(&payload, key));
}
