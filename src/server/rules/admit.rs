//! Admitting a new request: field checks, approvers resolved without the
//! requester, quorum and timeout defaulted, break-glass decided on the spot.

use super::decide::finish;
use super::{Refusal, Request, requester_person, resolve_approvers, rfc3339};
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, NewRequest, RequestView, Status, Vote};
use crate::server::config::BrokerConfig;
use ed25519_dalek::SigningKey;
use std::time::{Duration, SystemTime};

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
            ErrorCode::BreakGlassNotAllowed,
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
            verdict: Choice::Approve,
            reason: request.view.reason.clone(),
            at: rfc3339(now),
        });
        finish(
            &mut request,
            Choice::Approve,
            now,
            config.defaults.decision_ttl,
            admission.key,
        );
    }
    Ok(request)
}

fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
