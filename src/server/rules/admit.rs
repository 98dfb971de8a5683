//! Admitting a new request: field checks, approvers resolved without the
//! requester, quorum and timeout defaulted, break-glass decided on the spot.

use super::decide::finish;
use super::{Refusal, Request, requester_people, resolve_approvers, rfc3339};
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, NewRequest, RequestView, Status, VerifiedCi, Vote};
use crate::policy::Action;
use crate::server::config::{BrokerConfig, OrgPolicy};
use ed25519_dalek::SigningKey;
use std::collections::BTreeSet;
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
    /// The organisation policy in force (the config's, or a published version).
    pub policy: &'a OrgPolicy,
    /// The CI identity the broker verified from the request's ID token; the
    /// request's CI job already says the same.
    pub ci_identity: Option<VerifiedCi>,
}

/// Check a new request and build it. What it needs (rules, approvers, quorum,
/// timeout, a reason, whether break-glass is allowed) is the stricter of the
/// broker's own policy and what the request asks, field by field: a request can
/// ask for more than the broker's policy demands, never for less.
pub fn admit(
    new: NewRequest,
    config: &BrokerConfig,
    admission: Admission<'_>,
) -> Result<Request, Refusal> {
    check_action(&new)?;
    let demands = Demands::of(
        &new,
        config,
        admission.policy,
        admission.ci_identity.is_some(),
    )?;
    let reason = new.reason.filter(|r| !r.trim().is_empty());
    if demands.require_reason && reason.is_none() {
        return Err(Refusal::field(
            "reason",
            "this rule requires a reason; pass --reason TEXT",
        ));
    }
    if new.break_glass && !demands.break_glass {
        let mut refusal = Refusal::new(
            403,
            ErrorCode::BreakGlassNotAllowed,
            "break-glass is not allowed for this command by the broker's policy",
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
    let requester_people = requester_people(config, &new.requester);
    let mut approvers = demands.approvers;
    approvers.retain(|person| !requester_people.contains(person));
    let quorum = demands.quorum;
    if !new.break_glass && approvers.len() < quorum as usize {
        let message = format!(
            "quorum {quorum} cannot be reached: only {} approver(s) other than the requester",
            approvers.len()
        );
        return Err(Refusal::field("quorum", message));
    }
    let timeout = demands.timeout;
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
            rules: demands.rules,
            rule_reason: new.rule_reason,
            policy_version: admission.policy.version.clone(),
            ci_identity: admission.ci_identity,
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
        requester_people,
        expires,
    };
    if new.break_glass {
        let person = request
            .requester_people
            .first()
            .cloned()
            .unwrap_or_else(|| request.view.requester.user.clone());
        request.view.votes.push(Vote {
            person,
            channel: crate::approval::protocol::BREAK_GLASS_CHANNEL.into(),
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

/// What a request needs: the broker's policy and the request's own asks, the
/// stricter of the two in each field.
struct Demands {
    rules: Vec<String>,
    approvers: BTreeSet<String>,
    quorum: u32,
    timeout: Duration,
    require_reason: bool,
    break_glass: bool,
}

impl Demands {
    fn of(
        new: &NewRequest,
        config: &BrokerConfig,
        policy: &OrgPolicy,
        ci_verified: bool,
    ) -> Result<Demands, Refusal> {
        let verdict = policy.evaluate(new, ci_verified);
        let asked_timeout = match new.timeout_seconds {
            0 => config.defaults.timeout,
            seconds => Duration::from_secs(seconds),
        };
        let mut demands = Demands {
            rules: new.rules.clone(),
            approvers: resolve_approvers(&new.approvers, config)?,
            quorum: if new.quorum == 0 {
                config.defaults.quorum
            } else {
                new.quorum
            },
            timeout: asked_timeout,
            require_reason: new.require_reason,
            // Only the broker's own policy can allow break-glass.
            break_glass: false,
        };
        match (verdict.decision, verdict.approval) {
            (Action::Deny, _) => {
                let message = format!(
                    "the broker's policy denies this command: {}",
                    verdict.reason
                );
                let mut refusal = Refusal::new(403, ErrorCode::DeniedByPolicy, message);
                refusal.field = Some("argv".into());
                return Err(refusal);
            }
            (Action::Approve, Some(rule)) => {
                for name in rule.rules {
                    if !demands.rules.contains(&name) {
                        demands.rules.push(name);
                    }
                }
                let allowed = resolve_approvers(&rule.approvers, config)?;
                if new.approvers.is_empty() {
                    demands.approvers = allowed;
                } else {
                    demands.approvers.retain(|person| allowed.contains(person));
                }
                demands.quorum = demands.quorum.max(rule.quorum);
                demands.timeout = demands.timeout.min(rule.timeout);
                demands.require_reason |= rule.require_reason;
                demands.break_glass = rule.break_glass && new.break_glass_allowed;
            }
            (Action::Approve, None) | (Action::Allow, _) => {}
        }
        demands.timeout = demands.timeout.min(config.defaults.max_timeout);
        Ok(demands)
    }
}

/// The action must be complete: a command, and absolute paths for the directory
/// and the program, so approvers see where and what runs.
fn check_action(new: &NewRequest) -> Result<(), Refusal> {
    if new.argv.is_empty() {
        return Err(Refusal::field("argv", "argv must name a command"));
    }
    if !new.cwd.starts_with('/') {
        return Err(Refusal::field("cwd", "cwd must be an absolute path"));
    }
    if !new.executable.starts_with('/') {
        return Err(Refusal::field(
            "executable",
            "executable must be the absolute path of the program",
        ));
    }
    if !is_digest(&new.action_digest) {
        let message = "action_digest must be 64 lowercase hex characters (SHA-256)";
        return Err(Refusal::field("action_digest", message));
    }
    Ok(())
}

fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
