//! Step 4 of the pipeline, second half: an approval the broker signed is checked
//! against gate's own verdict before anything runs. The signature, request id,
//! digest and expiry are `crate::approval::request`'s checks; these are about
//! whether the approval is the one gate's own policy demands, so that a request
//! the requester shaped itself (its own approvers, quorum, break-glass, rules, or
//! another command shown to the approvers) is worth nothing.

use super::Decided;
use crate::approval::DecisionPayload;
use crate::approval::protocol::BREAK_GLASS_CHANNEL;
use crate::policy::Person;
use std::collections::BTreeMap;

/// `Err` says which check failed, in one line.
pub fn check_approval(
    decided: &Decided,
    people: &BTreeMap<String, Person>,
    payload: &DecisionPayload,
) -> Result<(), String> {
    let cwd = decided.cwd().display().to_string();
    if payload.argv != decided.command || payload.cwd != cwd {
        return Err(format!(
            "the approvers were shown another command (`{}` in {}) than the one to run",
            super::shell_join(&payload.argv),
            payload.cwd
        ));
    }
    let Some(requirement) = &decided.verdict.approval else {
        // gate's own policy allows the command: any valid approval will do.
        return Ok(());
    };
    if let Some(missing) = requirement
        .rules
        .iter()
        .find(|rule| !payload.rules.contains(rule))
    {
        return Err(format!(
            "the approval does not name rule \"{missing}\", which this command needs"
        ));
    }
    let own = decided.requester.people_in(people);
    if payload.break_glass {
        if !requirement.break_glass {
            return Err(
                "the approval is break-glass, which this command's rule does not allow".into(),
            );
        }
        return Ok(());
    }
    if let Some(me) = payload
        .approvers
        .iter()
        .find(|a| own.contains(&a.name) || a.channel == BREAK_GLASS_CHANNEL)
    {
        return Err(format!(
            "{} is the requester and cannot approve its own request",
            me.name
        ));
    }
    let counted = payload
        .approvers
        .iter()
        .filter(|a| requirement.approvers.is_empty() || requirement.approvers.contains(&a.name))
        .map(|a| a.name.as_str())
        .collect::<std::collections::BTreeSet<_>>();
    if counted.len() < requirement.quorum as usize {
        let from = if requirement.approvers.is_empty() {
            String::new()
        } else {
            format!(" from {}", requirement.approvers.join(", "))
        };
        return Err(format!(
            "the approval has {} of the {} approvals{from} this command needs",
            counted.len(),
            requirement.quorum
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::protocol::Choice;
    use crate::approval::{DECISION_VERSION, DecidedBy};

    const POLICY: &str = r#"
version = 1
default = "allow"

[people.alice]
unix = "alice"
[people.bob]
unix = "bob"
github = "bob-gh"
[people.carol]
unix = "carol"
[groups]
sre = ["alice", "bob", "carol"]

[[rule]]
name = "prod deletes"
action = "approve"
match = "kubectl delete **"
approvers = ["group:sre"]
quorum = 2

[[rule]]
name = "restarts"
action = "approve"
match = "systemctl restart **"
approvers = ["alice"]
break_glass = true
"#;

    fn setup(argv: &[&str], user: &str) -> (Decided, BTreeMap<String, Person>) {
        let (decided, policy) = crate::guard::decided_for_test(POLICY, argv, user);
        (decided, policy.people)
    }

    fn approval(decided: &Decided, by: &[&str]) -> DecisionPayload {
        DecisionPayload {
            v: DECISION_VERSION,
            request_id: "r".into(),
            action_digest: decided.digest.clone(),
            argv: decided.command.clone(),
            cwd: "/srv".into(),
            rules: decided.verdict.rules.clone(),
            policy_version: "ab".repeat(32),
            verdict: Choice::Approve,
            approvers: by
                .iter()
                .map(|name| DecidedBy {
                    name: name.to_string(),
                    channel: "cli".into(),
                })
                .collect(),
            break_glass: false,
            decided_at: String::new(),
            expires_at: String::new(),
            ci_identity: None,
        }
    }

    const DELETE: &[&str] = &["kubectl", "delete", "ns", "prod"];

    #[test]
    fn an_approval_that_meets_the_rule_passes() {
        let (decided, people) = setup(DELETE, "dave");
        let payload = approval(&decided, &["alice", "bob"]);
        assert_eq!(check_approval(&decided, &people, &payload), Ok(()));
    }

    #[test]
    fn fewer_approvers_than_the_rule_demands_are_refused() {
        let (decided, people) = setup(DELETE, "dave");
        let err = check_approval(&decided, &people, &approval(&decided, &["bob"])).unwrap_err();
        assert!(err.contains("1 of the 2 approvals"), "{err}");
        // A stranger to the rule's approvers does not count towards its quorum.
        let payload = approval(&decided, &["bob", "mallory"]);
        assert!(check_approval(&decided, &people, &payload).is_err());
        // Nor does the same person twice.
        let payload = approval(&decided, &["bob", "bob"]);
        assert!(check_approval(&decided, &people, &payload).is_err());
    }

    #[test]
    fn the_requesters_own_person_is_never_an_approver() {
        let (decided, people) = setup(DELETE, "alice");
        let err =
            check_approval(&decided, &people, &approval(&decided, &["alice", "bob"])).unwrap_err();
        assert!(err.contains("alice is the requester"), "{err}");
        // The CI actor is the requester too, under bob's GitHub login.
        let (mut decided, people) = setup(DELETE, "runner");
        decided.requester.ci = Some(crate::identity::CiJob {
            system: "github".into(),
            actor: Some("bob-gh".into()),
            repository: None,
            branch: None,
            commit: None,
            url: None,
        });
        let err =
            check_approval(&decided, &people, &approval(&decided, &["alice", "bob"])).unwrap_err();
        assert!(err.contains("bob is the requester"), "{err}");
    }

    #[test]
    fn break_glass_only_where_the_rule_allows_it() {
        let (decided, people) = setup(DELETE, "alice");
        let mut payload = approval(&decided, &["alice"]);
        payload.break_glass = true;
        payload.approvers[0].channel = "break-glass".into();
        let err = check_approval(&decided, &people, &payload).unwrap_err();
        assert!(err.contains("break-glass"), "{err}");
        let (decided, people) = setup(&["systemctl", "restart", "api"], "alice");
        let mut payload = approval(&decided, &["alice"]);
        payload.break_glass = true;
        payload.approvers[0].channel = "break-glass".into();
        assert_eq!(check_approval(&decided, &people, &payload), Ok(()));
        // A break-glass vote in an approval that does not say break-glass is refused.
        payload.break_glass = false;
        assert!(check_approval(&decided, &people, &payload).is_err());
    }

    #[test]
    fn the_rules_and_what_the_approvers_saw_must_be_gates_own() {
        let (decided, people) = setup(DELETE, "dave");
        let mut payload = approval(&decided, &["alice", "bob"]);
        payload.rules = vec!["something else".into()];
        let err = check_approval(&decided, &people, &payload).unwrap_err();
        assert!(err.contains("prod deletes"), "{err}");
        let mut payload = approval(&decided, &["alice", "bob"]);
        payload.argv = vec!["kubectl".into(), "get".into(), "pods".into()];
        let err = check_approval(&decided, &people, &payload).unwrap_err();
        assert!(err.contains("shown another command"), "{err}");
        let mut payload = approval(&decided, &["alice", "bob"]);
        payload.cwd = "/tmp".into();
        assert!(check_approval(&decided, &people, &payload).is_err());
    }
}
