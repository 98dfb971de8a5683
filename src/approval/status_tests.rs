use super::*;
use crate::approval::protocol::{Choice, Status};
use crate::identity::Requester;

fn view(votes: Vec<Vote>) -> RequestView {
    RequestView {
        id: "r-7Hq2".into(),
        status: Status::Pending,
        version: 3,
        requester: Requester {
            user: "carol".into(),
            host: "ci-1".into(),
            ci: None,
            agent: None,
        },
        argv: vec!["kubectl".into(), "delete".into(), "ns".into(), "a".into()],
        cwd: "/w".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["production changes".into()],
        rule_reason: "prod".into(),
        reason: None,
        approvers: vec!["alice".into(), "bob".into()],
        quorum: 2,
        break_glass: false,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        expires_at: "2026-01-01T00:15:00.000Z".into(),
        votes,
        decision: None,
        claimed: false,
        url: "http://broker:8787/r/r-7Hq2".into(),
    }
}

fn vote(person: &str, verdict: Choice, reason: Option<&str>) -> Vote {
    Vote {
        person: person.into(),
        channel: "slack".into(),
        verdict,
        reason: reason.map(str::to_string),
        at: "2026-01-01T00:01:00.000Z".into(),
    }
}

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

#[test]
fn the_live_line_says_what_who_how_long_and_where() {
    let v = view(vec![vote("alice", Choice::Approve, None)]);
    assert_eq!(
        live_line(&v, at("2026-01-01T00:00:28Z")),
        "waiting for approval (rule \"production changes\"): 1/2 from alice, bob · 14m 32s left · r-7Hq2 · http://broker:8787/r/r-7Hq2"
    );
}

#[test]
fn plain_lines_name_the_request_the_link_and_each_vote() {
    let v = view(vec![
        vote("alice", Choice::Approve, None),
        vote("bob", Choice::Deny, Some("not during the freeze")),
    ]);
    assert_eq!(
        created_line(&v),
        "gate: approval requested (rule \"production changes\"): request r-7Hq2, needs 2 of alice, bob; approve at http://broker:8787/r/r-7Hq2"
    );
    assert_eq!(
        vote_line(&v.votes[1], &v),
        "gate: bob denied via slack: not during the freeze (1/2 approvals)"
    );
    assert_eq!(
        heartbeat_line(&v, at("2026-01-01T00:10:00Z")),
        "gate: still waiting for approval of r-7Hq2 (1/2 from alice, bob, 5m 00s left) http://broker:8787/r/r-7Hq2"
    );
}

#[test]
fn no_listed_approvers_means_the_broker_default() {
    let mut v = view(vec![]);
    v.approvers.clear();
    v.rules = vec!["a".into(), "b".into()];
    assert!(
        created_line(&v).contains("(rules \"a\", \"b\")")
            && created_line(&v).contains("of the broker's default approvers"),
        "{}",
        created_line(&v)
    );
}
