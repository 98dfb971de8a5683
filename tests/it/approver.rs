//! `gate approve`, `gate deny` and `gate pending` against a real broker.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, code, stderr, stdout};
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS, create_carol_request, fetch_request,
};
use gate::approval::protocol::{Choice, RequestList, Status};
use std::process::Output;

fn as_approver(ctx: &TestContext, broker: &Broker, person: &str, args: &[&str]) -> Output {
    ctx.gate()
        .args(args)
        .env("GATE_SERVER", broker.url())
        .env("GATE_TOKEN", broker.token(person))
        .output()
        .unwrap()
}

#[test]
fn approvals_count_towards_the_quorum_and_record_the_cli_channel() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let created = create_carol_request(&broker, &["kubectl", "delete", "ns", "a"], 2);
    let id = created.request.id.clone();

    let out = as_approver(&ctx, &broker, "alice", &["approve", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("approved {id} (1 of 2 approvals): waiting for 1 more\n")
    );
    let view = fetch_request(&broker, &created);
    assert_eq!(view.status, Status::Pending);
    assert_eq!(view.votes[0].person, "alice");
    assert_eq!(view.votes[0].channel, "cli");

    let out = as_approver(
        &ctx,
        &broker,
        "bob",
        &["approve", &id, "--reason", "plan read"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("approved {id} (2 of 2 approvals): the request is approved\n")
    );
    let view = fetch_request(&broker, &created);
    assert_eq!(view.status, Status::Approved);
    assert_eq!(view.votes[1].reason.as_deref(), Some("plan read"));
    assert!(view.decision.is_some());
}

#[test]
fn deny_needs_a_reason_and_hands_it_to_the_requester() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let created = create_carol_request(&broker, &["terraform", "apply"], 1);
    let id = created.request.id.clone();

    let out = as_approver(&ctx, &broker, "bob", &["deny", &id]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    assert!(stderr(&out).contains("--reason"), "{}", stderr(&out));
    assert_eq!(fetch_request(&broker, &created).status, Status::Pending);

    let out = as_approver(
        &ctx,
        &broker,
        "bob",
        &["deny", &id, "--reason", "freeze week"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("denied {id}: the request is denied\n")
    );
    let view = fetch_request(&broker, &created);
    assert_eq!(view.status, Status::Denied);
    assert_eq!(view.votes[0].verdict, Choice::Deny);
    assert_eq!(view.votes[0].reason.as_deref(), Some("freeze week"));
    assert_eq!(view.votes[0].channel, "cli");
}

#[test]
fn refusals_by_the_broker_are_one_line_and_exit_1() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let created = create_carol_request(&broker, &["reboot"], 1);
    let id = created.request.id.clone();

    let cases = [
        (
            "carol",
            id.clone(),
            "is your own; another approver must decide it",
        ),
        ("dave", id.clone(), "you are not an approver of request"),
        (
            "alice",
            "no-such-request".to_string(),
            "no request no-such-request on the broker",
        ),
    ];
    for (person, id, expected) in cases {
        let out = as_approver(&ctx, &broker, person, &["approve", &id]);
        assert_eq!(code(&out), 1, "{person}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{person}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }

    let out = as_approver(&ctx, &broker, "alice", &["approve", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = as_approver(&ctx, &broker, "bob", &["deny", &id, "--reason", "late"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out).trim_end(),
        format!("gate: request {id} is already approved by alice"),
        "how it was decided and by whom"
    );
    assert_eq!(fetch_request(&broker, &created).status, Status::Approved);
}

#[test]
fn a_missing_unknown_or_unusable_token_says_what_to_do() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);

    let out = ctx
        .gate()
        .args(["pending", "--server", &broker.url()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 110);
    assert!(
        stderr(&out).contains("gate serve token create NAME"),
        "{}",
        stderr(&out)
    );

    let secret = "not-a-real-token-0123456789";
    let out = ctx
        .gate()
        .args(["pending", "--server", &broker.url(), "--token", secret])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("does not accept your token"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(secret));

    let out = ctx
        .gate()
        .args([
            "pending",
            "--server",
            "http://127.0.0.1:1",
            "--token",
            secret,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 103);
    assert!(stderr(&out).contains("cannot reach the gate broker at http://127.0.0.1:1"));
    assert!(!stderr(&out).contains(secret));
}

#[test]
fn pending_lists_requests_newest_last_as_a_table_or_json() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);

    let out = as_approver(&ctx, &broker, "alice", &["pending"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "no pending requests\n");

    let first = create_carol_request(&broker, &["kubectl", "delete", "ns", "first"], 2);
    let second = create_carol_request(&broker, &["sh", "-c", "echo 'second one'"], 1);
    let out = as_approver(&ctx, &broker, "alice", &["approve", &first.request.id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = as_approver(&ctx, &broker, "alice", &["pending"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let heads: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        heads,
        ["ID", "AGE", "REQUESTER", "COMMAND", "RULE", "VOTES", "LEFT"]
    );
    assert!(lines[1].starts_with(&first.request.id), "{text}");
    assert!(lines[1].contains("carol@build-7"), "{text}");
    assert!(lines[1].contains("kubectl delete ns first"), "{text}");
    assert!(lines[1].contains("production changes"), "{text}");
    assert!(lines[1].contains(" 1/2 "), "{text}");
    assert!(lines[2].starts_with(&second.request.id), "{text}");
    assert!(
        lines[2].contains("sh -c 'echo '\\''second one'\\'''"),
        "{text}"
    );
    assert!(lines[2].contains(" 0/1 "), "{text}");

    let out = as_approver(&ctx, &broker, "bob", &["pending", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list: RequestList = serde_json::from_str(&stdout(&out)).expect("a RequestList");
    let mut ids: Vec<&str> = list.requests.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    let mut expected = [first.request.id.as_str(), second.request.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(list.version >= 3);
}
