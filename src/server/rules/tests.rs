use super::*;
use crate::approval::protocol::{Choice, DecideBody, NewRequest, Status};
use crate::identity::CiJob;
use crate::server::config::OrgPolicy;
use ed25519_dalek::SigningKey;
use std::time::Duration;

const CONFIG: &str = r#"version = 1
[people.alice]
github = "alice-gh"
[people.bob]
[people.carol]
unix = "cbrown"
[groups]
sre = ["alice", "bob", "carol"]
[defaults]
approvers = ["group:sre"]
decision_ttl = "10m"
"#;

/// The broker's own policy in these tests: restarts need approval and may break
/// glass; everything else is left to what the request asks.
const ORG_POLICY: &str = r#"version = 1
default = "allow"
[[rule]]
name = "restarts"
action = "approve"
match = "systemctl restart **"
break_glass = true
"#;

fn config() -> BrokerConfig {
    let mut config = super::super::config::parse(CONFIG, "b.toml").unwrap();
    config.policy = OrgPolicy::parse(ORG_POLICY, "org.toml").unwrap();
    config
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn t(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn requester(user: &str) -> Requester {
    Requester {
        user: user.into(),
        host: "h".into(),
        ci: None,
        agent: None,
    }
}

fn new_request(user: &str) -> NewRequest {
    NewRequest {
        requester: requester(user),
        argv: vec!["kubectl".into(), "delete".into(), "ns".into(), "a".into()],
        cwd: "/".into(),
        executable: "/usr/bin/kubectl".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["prod".into()],
        rule_reason: "production".into(),
        approvers: Vec::new(),
        quorum: 0,
        timeout_seconds: 60,
        reason: None,
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
        id_token: None,
    }
}

fn admit_at(new: NewRequest, now: SystemTime) -> Result<Request, Refusal> {
    let key = key();
    let config = config();
    let admission = Admission {
        policy: &config.policy,
        id: "r1".into(),
        token_hash: [0; 32],
        url: "http://x/r/r1".into(),
        now,
        key: &key,
        ci_identity: None,
    };
    admit(new, &config, admission)
}

fn approve() -> DecideBody {
    DecideBody {
        verdict: Choice::Approve,
        reason: None,
        channel: Some("cli".into()),
    }
}

fn deny() -> DecideBody {
    DecideBody {
        verdict: Choice::Deny,
        reason: Some("no".into()),
        channel: None,
    }
}

fn cast(request: &Request, voter: &str, body: DecideBody, at: u64) -> Result<Request, Refusal> {
    vote(request, voter, &body, t(at), &config(), &key())
}

#[test]
fn the_requester_is_removed_from_the_approvers() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    assert_eq!(request.view.approvers, vec!["bob", "carol"]);
    assert_eq!(request.requester_people, ["alice".to_string()].into());
    assert_eq!(request.view.quorum, 1);
    assert_eq!(request.view.status, Status::Pending);
}

#[test]
fn a_person_is_found_by_unix_login_or_ci_actor() {
    let config = config();
    let people = |requester| requester_people(&config, &requester);
    assert_eq!(people(requester("cbrown")), ["carol".to_string()].into());
    assert!(people(requester("carol")).is_empty());
    let mut ci = requester("runner");
    ci.ci = Some(CiJob {
        system: "github".into(),
        actor: Some("alice-gh".into()),
        repository: None,
        branch: None,
        commit: None,
        url: None,
    });
    assert_eq!(people(ci), ["alice".to_string()].into());
}

#[test]
fn a_requester_is_every_person_any_of_its_identities_names() {
    // The OS user is carol's login; the CI actor claims alice's GitHub login:
    // neither may approve, whichever the broker would have found first.
    let mut ci = requester("cbrown");
    ci.ci = Some(CiJob {
        system: "github".into(),
        actor: Some("alice-gh".into()),
        repository: None,
        branch: None,
        commit: None,
        url: None,
    });
    let config = config();
    let people = requester_people(&config, &ci);
    assert_eq!(people, ["alice".to_string(), "carol".to_string()].into());
    let mut new = new_request("cbrown");
    new.requester = ci;
    let request = admit_at(new, t(0)).unwrap();
    assert_eq!(request.view.approvers, vec!["bob"]);
    for person in ["alice", "carol"] {
        let err = cast(&request, person, approve(), 1).unwrap_err();
        assert_eq!(err.code, ErrorCode::SelfApproval, "{person}");
    }
}

#[test]
fn approvers_expand_groups_and_reject_strangers() {
    let config = config();
    let got = resolve_approvers(&["group:sre".into(), "bob".into()], &config).unwrap();
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        vec!["alice", "bob", "carol"]
    );
    let err = resolve_approvers(&["mallory".into()], &config).unwrap_err();
    assert_eq!((err.status, err.field.as_deref()), (400, Some("approvers")));
    let err = resolve_approvers(&["group:ops".into()], &config).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("approvers"));
}

#[test]
fn empty_defaults_mean_everyone_in_the_config() {
    let mut config = config();
    config.defaults.approvers.clear();
    let got = resolve_approvers(&[], &config).unwrap();
    assert_eq!(got.len(), 3);
}

#[test]
fn bad_requests_name_their_field() {
    type Edit = fn(&mut NewRequest);
    let cases: Vec<(Edit, &str)> = vec![
        (|n| n.argv.clear(), "argv"),
        (|n| n.action_digest = "AB".repeat(32), "action_digest"),
        (|n| n.action_digest = "ab".into(), "action_digest"),
        (|n| n.require_reason = true, "reason"),
        (|n| n.quorum = 3, "quorum"),
        (|n| n.approvers = vec!["nobody".into()], "approvers"),
    ];
    for (edit, field) in cases {
        let mut new = new_request("alice");
        edit(&mut new);
        let err = admit_at(new, t(0)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{err:?}");
        assert_eq!(err.status, 400);
    }
}

#[test]
fn the_timeout_is_defaulted_and_capped() {
    let mut new = new_request("alice");
    new.timeout_seconds = 0;
    let request = admit_at(new.clone(), t(0)).unwrap();
    assert_eq!(request.expires, t(15 * 60));
    new.timeout_seconds = 10 * 24 * 3600;
    let request = admit_at(new, t(0)).unwrap();
    assert_eq!(request.expires, t(24 * 3600));
}

#[test]
fn one_approval_reaches_quorum_one_and_is_signed() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    let done = cast(&request, "bob", approve(), 5).unwrap();
    assert_eq!(done.view.status, Status::Approved);
    let payload = done
        .view
        .decision
        .as_ref()
        .unwrap()
        .verify_approval(&key().verifying_key(), "r1", &"ab".repeat(32), t(6))
        .unwrap();
    assert_eq!(payload.approvers[0].name, "bob");
    assert_eq!(payload.approvers[0].channel, "cli");
    assert_eq!(payload.expires_at, rfc3339(t(5 + 600)));
}

#[test]
fn quorum_two_needs_two_distinct_people() {
    let mut new = new_request("alice");
    new.quorum = 2;
    let request = admit_at(new, t(0)).unwrap();
    let once = cast(&request, "bob", approve(), 1).unwrap();
    assert_eq!(once.view.status, Status::Pending);
    let again = cast(&once, "bob", approve(), 2).unwrap_err();
    assert_eq!((again.status, again.code), (409, ErrorCode::AlreadyVoted));
    let twice = cast(&once, "carol", approve(), 3).unwrap();
    assert_eq!(twice.view.status, Status::Approved);
    let payload = twice
        .view
        .decision
        .unwrap()
        .verify(&key().verifying_key())
        .unwrap();
    assert_eq!(payload.approvers.len(), 2);
}

#[test]
fn one_deny_ends_it() {
    let mut new = new_request("alice");
    new.quorum = 2;
    let request = admit_at(new, t(0)).unwrap();
    let once = cast(&request, "bob", approve(), 1).unwrap();
    let denied = cast(&once, "carol", deny(), 2).unwrap();
    assert_eq!(denied.view.status, Status::Denied);
    let payload = denied
        .view
        .decision
        .unwrap()
        .verify(&key().verifying_key())
        .unwrap();
    assert_eq!(payload.verdict, Choice::Deny);
    assert_eq!(payload.approvers[0].name, "carol");
    assert_eq!(payload.approvers[0].channel, "api");
}

#[test]
fn nobody_decides_their_own_request_or_one_they_are_not_listed_on() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    let err = cast(&request, "alice", approve(), 1).unwrap_err();
    assert_eq!((err.status, err.code), (403, ErrorCode::SelfApproval));
    let err = cast(&request, "mallory", approve(), 1).unwrap_err();
    assert_eq!((err.status, err.code), (403, ErrorCode::NotAnApprover));
}

#[test]
fn self_approval_is_caught_through_the_ci_actor() {
    let mut new = new_request("runner");
    new.requester.ci = Some(CiJob {
        system: "github".into(),
        actor: Some("alice-gh".into()),
        repository: None,
        branch: None,
        commit: None,
        url: None,
    });
    new.approvers = vec!["alice".into(), "bob".into()];
    let request = admit_at(new, t(0)).unwrap();
    assert_eq!(request.view.approvers, vec!["bob"]);
    let err = cast(&request, "alice", approve(), 1).unwrap_err();
    assert_eq!(err.code, ErrorCode::SelfApproval);
}

#[test]
fn the_first_final_decision_wins() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    let approved = cast(&request, "bob", approve(), 1).unwrap();
    let err = cast(&approved, "carol", deny(), 2).unwrap_err();
    assert_eq!((err.status, err.code), (409, ErrorCode::AlreadyDecided));
    assert_eq!(err.message, "the request is already approved by bob");
}

#[test]
fn already_decided_says_how_and_by_whom() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    let denied = cast(&request, "bob", deny(), 1).unwrap();
    let err = cast(&denied, "carol", approve(), 2).unwrap_err();
    assert_eq!(err.message, "the request is already denied by bob: no");
    let timed_out = expire(&request, t(60)).unwrap();
    let err = cancel(&timed_out).unwrap_err();
    assert_eq!(
        err.message,
        "the request is already timed out with no decision"
    );
    let cancelled = cancel(&request).unwrap();
    let err = cast(&cancelled, "bob", approve(), 1).unwrap_err();
    assert_eq!(
        err.message,
        "the request is already cancelled by its requester"
    );
}

#[test]
fn expiry_ends_it() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    assert_eq!(expire(&request, t(59)), None);
    let timed_out = expire(&request, t(60)).unwrap();
    assert_eq!(timed_out.view.status, Status::TimedOut);
    assert_eq!(timed_out.view.decision, None);
    let err = cast(&request, "bob", approve(), 61).unwrap_err();
    assert_eq!(err.code, ErrorCode::AlreadyDecided);
    assert_eq!(expire(&timed_out, t(120)), None);
}

#[test]
fn cancel_only_while_pending() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    let cancelled = cancel(&request).unwrap();
    assert_eq!(cancelled.view.status, Status::Cancelled);
    assert_eq!(
        cancel(&cancelled).unwrap_err().code,
        ErrorCode::AlreadyDecided
    );
}

#[test]
fn an_approval_is_claimed_once_before_it_expires() {
    let request = admit_at(new_request("alice"), t(0)).unwrap();
    assert_eq!(
        claim(&request, t(1)).unwrap_err().code,
        ErrorCode::NotApproved
    );
    let approved = cast(&request, "bob", approve(), 1).unwrap();
    assert_eq!(
        claim(&approved, t(1 + 600)).unwrap_err().code,
        ErrorCode::DecisionExpired
    );
    let claimed = claim(&approved, t(2)).unwrap();
    assert!(claimed.view.claimed);
    assert_eq!(
        claim(&claimed, t(3)).unwrap_err().code,
        ErrorCode::AlreadyClaimed
    );
}

#[test]
fn break_glass_self_approves_with_a_reason_when_allowed() {
    let mut new = new_request("alice");
    new.argv = vec!["systemctl".into(), "restart".into(), "db".into()];
    new.break_glass = true;
    let err = admit_at(new.clone(), t(0)).unwrap_err();
    assert_eq!(
        (err.status, err.code),
        (403, ErrorCode::BreakGlassNotAllowed)
    );
    new.break_glass_allowed = true;
    let err = admit_at(new.clone(), t(0)).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("reason"));
    new.reason = Some("prod is down".into());
    let request = admit_at(new, t(0)).unwrap();
    assert_eq!(request.view.status, Status::Approved);
    assert!(request.view.break_glass);
    let payload = request
        .view
        .decision
        .unwrap()
        .verify(&key().verifying_key())
        .unwrap();
    assert!(payload.break_glass);
    assert_eq!(payload.approvers[0].name, "alice");
    assert_eq!(payload.approvers[0].channel, "break-glass");
}

/// The broker's policy: deletes need two of group sre; `rm -rf /` is refused.
const STRICT_ORG_POLICY: &str = r#"version = 1
default = "allow"
[people.alice]
[people.bob]
[people.carol]
[groups]
sre = ["alice", "bob", "carol"]
[[rule]]
name = "prod deletes"
action = "approve"
match = "kubectl delete **"
approvers = ["group:sre"]
quorum = 2
timeout = "5m"
require_reason = true
[[rule]]
name = "wipe"
action = "deny"
match = "rm -rf /"
"#;

fn admit_under(org: &str, new: NewRequest) -> Result<Request, Refusal> {
    let mut config = config();
    config.policy = OrgPolicy::parse(org, "org.toml").unwrap();
    let key = key();
    let admission = Admission {
        policy: &config.policy,
        id: "r1".into(),
        token_hash: [0; 32],
        url: "http://x/r/r1".into(),
        now: t(0),
        key: &key,
        ci_identity: None,
    };
    admit(new, &config, admission)
}

#[test]
fn the_broker_policy_sets_what_a_request_needs_whatever_it_asks() {
    // The request asks for one approval from bob, an hour, no reason, and
    // offers break-glass: the broker's rule wins on every field.
    let mut new = new_request("dave");
    new.approvers = vec!["bob".into()];
    new.quorum = 1;
    new.timeout_seconds = 3600;
    new.reason = Some("cleanup".into());
    new.rules = Vec::new();
    new.break_glass_allowed = true;
    let err = admit_under(STRICT_ORG_POLICY, new.clone()).unwrap_err();
    // bob alone cannot reach the rule's quorum of two.
    assert_eq!(err.field.as_deref(), Some("quorum"), "{err:?}");
    new.approvers = Vec::new();
    let request = admit_under(STRICT_ORG_POLICY, new.clone()).unwrap();
    assert_eq!(request.view.quorum, 2);
    assert_eq!(request.view.approvers, vec!["alice", "bob", "carol"]);
    assert_eq!(request.view.rules, vec!["prod deletes"]);
    assert_eq!(request.expires, t(5 * 60));
    assert_eq!(
        request.view.policy_version,
        OrgPolicy::parse(STRICT_ORG_POLICY, "x").unwrap().version
    );
    new.reason = None;
    let err = admit_under(STRICT_ORG_POLICY, new.clone()).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("reason"));
    // Break-glass the broker's rule does not allow is refused, whatever the
    // request says it is allowed.
    new.reason = Some("prod is down".into());
    new.break_glass = true;
    let err = admit_under(STRICT_ORG_POLICY, new).unwrap_err();
    assert_eq!(
        (err.status, err.code),
        (403, ErrorCode::BreakGlassNotAllowed)
    );
}

#[test]
fn a_request_may_ask_for_more_than_the_broker_policy_never_less() {
    let mut new = new_request("dave");
    new.reason = Some("cleanup".into());
    new.quorum = 3;
    new.timeout_seconds = 60;
    new.require_reason = true;
    let request = admit_under(STRICT_ORG_POLICY, new.clone()).unwrap();
    assert_eq!(request.view.quorum, 3);
    assert_eq!(request.expires, t(60));
    assert_eq!(request.view.rules, vec!["prod", "prod deletes"]);
    // A command the broker's policy allows gets what the request asks.
    new.argv = vec!["ls".into()];
    new.quorum = 1;
    let request = admit_under(STRICT_ORG_POLICY, new).unwrap();
    assert_eq!(request.view.quorum, 1);
    assert_eq!(request.view.rules, vec!["prod"]);
}

#[test]
fn a_command_the_broker_policy_denies_cannot_be_asked_for() {
    let mut new = new_request("dave");
    new.argv = vec!["rm".into(), "-rf".into(), "/".into()];
    let err = admit_under(STRICT_ORG_POLICY, new).unwrap_err();
    assert_eq!((err.status, err.code), (403, ErrorCode::DeniedByPolicy));
}

#[test]
fn the_action_must_be_complete() {
    let mut new = new_request("dave");
    new.cwd = "relative".into();
    assert_eq!(
        admit_at(new, t(0)).unwrap_err().field.as_deref(),
        Some("cwd")
    );
    let mut new = new_request("dave");
    new.executable = "kubectl".into();
    assert_eq!(
        admit_at(new, t(0)).unwrap_err().field.as_deref(),
        Some("executable")
    );
}
