//! A new version of the organisation's policy is itself a request: published by
//! a person (`gate policy publish`), approved by `[policy] admins` with their own
//! quorum, never by the person who published it. Only an approved version comes
//! into force.

use super::{Refusal, Request, resolve_approvers, rfc3339};
use crate::approval::protocol::{RequestView, Status};
use crate::identity::Requester;
use crate::server::config::{BrokerConfig, OrgPolicy};
use std::collections::BTreeSet;
use std::time::SystemTime;

/// The rule name every policy publication carries: how approvers, the store and
/// the broker tell a publication from a command.
pub const POLICY_CHANGE_RULE: &str = "organisation policy change";

/// Whether `request` publishes a policy version.
pub fn is_publication(request: &Request) -> bool {
    request.view.rules.iter().any(|r| r == POLICY_CHANGE_RULE)
}

/// What the broker supplies for a publication.
#[derive(Debug)]
pub struct Publication<'a> {
    pub id: String,
    pub token_hash: [u8; 32],
    pub url: String,
    pub now: SystemTime,
    /// The person who publishes (an approver token's person).
    pub publisher: String,
    /// The new version, already parsed and its own tests passed.
    pub new: &'a OrgPolicy,
    /// The version in force.
    pub current: &'a OrgPolicy,
    pub reason: Option<String>,
}

/// The request that decides whether `publication.new` comes into force.
pub fn admit_publication(
    config: &BrokerConfig,
    publication: Publication<'_>,
) -> Result<Request, Refusal> {
    let admins = &config.policy_admins;
    if admins.admins.is_empty() {
        return Err(Refusal::new(
            403,
            crate::approval::protocol::ErrorCode::DeniedByPolicy,
            "publishing is off on this broker: set [policy] admins (and admin_quorum) in broker.toml",
        ));
    }
    if publication.new.version == publication.current.version {
        return Err(Refusal::field(
            "text",
            format!(
                "this policy (version {}) is already in force",
                &publication.new.version[..12]
            ),
        ));
    }
    let publisher = publication.publisher;
    let mut approvers = resolve_approvers(&admins.admins, config)?;
    approvers.remove(&publisher);
    let quorum = admins.quorum.max(1);
    if approvers.len() < quorum as usize {
        return Err(Refusal::field(
            "quorum",
            format!(
                "[policy] admin_quorum {quorum} cannot be reached without the publisher: \
                 only {} other admin(s)",
                approvers.len()
            ),
        ));
    }
    let unix = config
        .people
        .get(&publisher)
        .and_then(|p| p.unix.clone())
        .unwrap_or_else(|| publisher.clone());
    let expires = publication.now + config.defaults.timeout;
    let rules = publication.new.policy.rules.len();
    Ok(Request {
        view: RequestView {
            id: publication.id,
            status: Status::Pending,
            version: 0,
            requester: Requester {
                user: unix,
                host: "gate policy publish".into(),
                ci: None,
                agent: None,
            },
            argv: vec![
                "gate".into(),
                "policy".into(),
                "publish".into(),
                publication.new.version.clone(),
            ],
            cwd: "/".into(),
            action_digest: publication.new.version.clone(),
            rules: vec![POLICY_CHANGE_RULE.into()],
            rule_reason: format!(
                "puts organisation policy {} ({rules} rules) in force in place of {}",
                &publication.new.version[..12],
                &publication.current.version[..12]
            ),
            policy_version: publication.current.version.clone(),
            ci_identity: None,
            reason: publication.reason.filter(|r| !r.trim().is_empty()),
            approvers: approvers.into_iter().collect(),
            quorum,
            break_glass: false,
            created_at: rfc3339(publication.now),
            expires_at: rfc3339(expires),
            votes: Vec::new(),
            decision: None,
            claimed: false,
            url: publication.url,
        },
        token_hash: publication.token_hash,
        requester_people: BTreeSet::from([publisher]),
        expires,
    })
}
