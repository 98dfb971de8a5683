//! `gate approve`, `gate deny` and `gate pending` against a real broker.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, code, stderr, stdout};
use gate::approval::BrokerClient;
use gate::approval::protocol::{Created, NewRequest, RequestList, RequestView, Status, Verdict};
use gate::identity::Requester;
use std::process::Output;

/// Alice and Bob approve; Carol asks; Dave is known but approves nothing.
pub const CONFIG: &str = r#"
version = 1
[people.alice]
unix = "alice"
[people.bob]
unix = "bob"
[people.carol]
unix = "carol"
[people.dave]
unix = "dave"
[defaults]
approvers = ["alice", "bob"]
quorum = 1
timeout = "15m"
"#;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Carol asks the broker for a decision on `argv`.
pub fn create(broker: &Broker, argv: &[&str], quorum: u32) -> Created {
    let request = NewRequest {
        requester: Requester {
            user: "carol".into(),
            host: "build-7".into(),
            ci: None,
            agent: None,
        },
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: "/srv".into(),
        action_digest: "ab".repeat(32),
        rules: vec!["production changes".into()],
        rule_reason: "production needs a second person".into(),
        approvers: Vec::new(),
        quorum,
        timeout_seconds: 0,
        reason: Some("rotate the key".into()),
        require_reason: false,
        break_glass_allowed: false,
        break_glass: false,
    };
    let client = BrokerClient::new(&broker.url()).unwrap();
    block_on(client.create(&request)).expect("create a request")
}

/// The request as the broker has it now.
pub fn fetch(broker: &Broker, created: &Created) -> RequestView {
    let client = BrokerClient::new(&broker.url()).unwrap();
    block_on(client.get(&created.request.id, &created.requester_token, None, None))
        .expect("read the request back")
}

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
    let broker = Broker::start(&ctx, CONFIG);
    let created = create(&broker, &["kubectl", "delete", "ns", "a"], 2);
    let id = created.request.id.clone();

    let out = as_approver(&ctx, &broker, "alice", &["approve", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("approved {id} (1 of 2 approvals): waiting for 1 more\n")
    );
    let view = fetch(&broker, &created);
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
    let view = fetch(&broker, &created);
    assert_eq!(view.status, Status::Approved);
    assert_eq!(view.votes[1].reason.as_deref(), Some("plan read"));
    assert!(view.decision.is_some());
}

#[test]
fn deny_needs_a_reason_and_hands_it_to_the_requester() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, CONFIG);
    let created = create(&broker, &["terraform", "apply"], 1);
    let id = created.request.id.clone();

    let out = as_approver(&ctx, &broker, "bob", &["deny", &id]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    assert!(stderr(&out).contains("--reason"), "{}", stderr(&out));
    assert_eq!(fetch(&broker, &created).status, Status::Pending);

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
    let view = fetch(&broker, &created);
    assert_eq!(view.status, Status::Denied);
    assert_eq!(view.votes[0].verdict, Verdict::Deny);
    assert_eq!(view.votes[0].reason.as_deref(), Some("freeze week"));
    assert_eq!(view.votes[0].channel, "cli");
}

#[test]
fn refusals_by_the_broker_are_one_line_and_exit_1() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, CONFIG);
    let created = create(&broker, &["reboot"], 1);
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
    assert!(
        stderr(&out).contains("is already decided"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fetch(&broker, &created).status, Status::Approved);
}

#[test]
fn a_missing_unknown_or_unusable_token_says_what_to_do() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, CONFIG);

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
    let broker = Broker::start(&ctx, CONFIG);

    let out = as_approver(&ctx, &broker, "alice", &["pending"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "no pending requests\n");

    let first = create(&broker, &["kubectl", "delete", "ns", "first"], 2);
    let second = create(&broker, &["sh", "-c", "echo 'second one'"], 1);
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
