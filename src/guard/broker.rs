//! Step 3 of the pipeline, ask: which broker a request goes to (and the key its
//! decisions must verify with), and the request itself. This is the only place a
//! broker request is built, so every front end asks for exactly what its verdict
//! demands. Waiting and verifying the answer is `crate::approval::request`.

use super::{Decided, LoadedPolicy};
use crate::approval::protocol::{Choice, NewRequest, RequestView};
use crate::approval::{Channel, ChannelError, channel::configure, installation};
use crate::audit::ApproverRecord;
use crate::paths::Home;
use crate::policy::ApprovalRequirement;
use std::time::Duration;

/// The broker named by `GATE_SERVER` / `GATE_SERVER_KEY`, else by the policy's
/// `[channels.api]`, with its pinned key loaded, and this machine's enrolled
/// installation (`$GATE_HOME/installation.key`) to sign with when it enrolled.
///
/// In managed mode the broker is the one the installer pinned, whatever the
/// environment says: the requester sets its own environment.
pub fn channel(loaded: &LoadedPolicy) -> Result<Channel, ChannelError> {
    let mut channel = match &loaded.managed {
        Some(org) => {
            let key = org.config.server_key.display().to_string();
            configure(Some(&org.config.url), Some(&key), None, None)?.load()?
        }
        None => {
            let server = std::env::var("GATE_SERVER").ok();
            let key = std::env::var("GATE_SERVER_KEY").ok();
            configure(
                server.as_deref(),
                key.as_deref(),
                loaded.policy.channels.api.as_ref(),
                loaded.dir(),
            )?
            .load()?
        }
    };
    channel.installation =
        installation::load(&Home::from_env()).map_err(ChannelError::Installation)?;
    Ok(channel)
}

/// What a front end adds to its verdict when it asks.
#[derive(Debug, Clone, Copy)]
pub struct Asking<'a> {
    /// The requester's justification, already redacted.
    pub reason: Option<&'a str>,
    /// How long the broker should wait for a decision.
    pub timeout: Duration,
    /// Whether this front end lets its requester break glass at all (an agent's
    /// hook never does).
    pub offer_break_glass: bool,
    /// The requester invokes break-glass now.
    pub break_glass: bool,
}

/// The request for `decided`, which must need approval under `requirement`.
pub fn new_request(
    decided: &Decided,
    requirement: &ApprovalRequirement,
    asking: Asking<'_>,
) -> NewRequest {
    NewRequest {
        requester: decided.requester.clone(),
        argv: decided.command.clone(),
        cwd: decided.cwd().display().to_string(),
        executable: decided.digest_executable().display().to_string(),
        action_digest: decided.digest.clone(),
        rules: requirement.rules.clone(),
        rule_reason: decided.verdict.reason.clone(),
        approvers: requirement.approvers.clone(),
        quorum: requirement.quorum,
        timeout_seconds: asking.timeout.as_secs(),
        reason: asking.reason.map(str::to_string),
        require_reason: requirement.require_reason,
        break_glass_allowed: asking.offer_break_glass && requirement.break_glass,
        break_glass: asking.break_glass,
        // Minted or read when the request is sent (`approval::request`): a
        // GitHub Actions token is fetched over the network, for the audience the
        // broker names.
        id_token: None,
    }
}

/// Who denied (with their channel), and the first reason given, unredacted.
pub fn denied_by(view: &RequestView) -> (Vec<ApproverRecord>, Option<String>) {
    let denials: Vec<_> = view
        .votes
        .iter()
        .filter(|v| v.verdict == Choice::Deny)
        .collect();
    let by = denials
        .iter()
        .map(|v| ApproverRecord {
            name: v.person.clone(),
            channel: v.channel.clone(),
        })
        .collect();
    let reason = denials.iter().find_map(|v| v.reason.clone());
    (by, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
version = 1
default = "allow"

[people.alice]
unix = "alice"
[people.bob]
unix = "bob"

[[rule]]
name = "prod deletes"
action = "approve"
match = "kubectl delete **"
approvers = ["alice", "bob"]
quorum = 2
timeout = "5m"
require_reason = true
break_glass = true
"#;

    fn decided(argv: &[&str]) -> (Decided, ApprovalRequirement) {
        let (decided, _) = crate::guard::decided_for_test(POLICY, argv, "carol");
        let requirement = decided.verdict.approval.clone().expect("approve");
        (decided, requirement)
    }

    #[test]
    fn the_request_asks_for_what_the_verdict_demands_about_the_redacted_action() {
        let (decided, requirement) =
            decided(&["kubectl", "delete", "ns", "x", "--password=hunter2"]);
        let asking = Asking {
            reason: Some("cleanup"),
            timeout: requirement.timeout,
            offer_break_glass: true,
            break_glass: false,
        };
        let request = new_request(&decided, &requirement, asking);
        assert_eq!(request.rules, ["prod deletes"]);
        assert_eq!(request.approvers, ["alice", "bob"]);
        assert_eq!(request.quorum, 2);
        assert_eq!(request.timeout_seconds, 300);
        assert!(request.require_reason && request.break_glass_allowed);
        assert_eq!(request.reason.as_deref(), Some("cleanup"));
        assert_eq!(request.action_digest, decided.digest);
        assert_eq!(request.argv, decided.command);
        assert!(
            !request.argv.concat().contains("hunter2"),
            "{:?}",
            request.argv
        );
        assert_eq!(request.cwd, "/srv");
        assert_eq!(request.requester.user, "carol");
    }

    #[test]
    fn a_front_end_that_offers_no_break_glass_never_asks_for_it() {
        let (decided, requirement) = decided(&["kubectl", "delete", "ns", "x"]);
        let asking = Asking {
            reason: None,
            timeout: std::time::Duration::from_secs(30),
            offer_break_glass: false,
            break_glass: false,
        };
        let request = new_request(&decided, &requirement, asking);
        assert!(!request.break_glass_allowed && !request.break_glass);
        assert_eq!(request.timeout_seconds, 30);
    }
}
