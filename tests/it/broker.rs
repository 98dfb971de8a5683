//! `gate serve` end to end: the real broker on 127.0.0.1, driven over HTTP.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, code, stderr};
use crate::support::fixtures::{
    BROKER_CONFIG_SRE_ALICE_BOB_CAROL, delete_payments_request, with_broker_policy,
};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use gate::approval::SignedDecision;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

fn path(id: &str) -> String {
    format!("/v1/requests/{id}")
}

fn decision(view: &Value) -> SignedDecision {
    serde_json::from_value(view["decision"].clone()).expect("a signed decision")
}

#[test]
fn an_approval_ends_the_request_with_a_signed_decision() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, created) = broker.create(&delete_payments_request("dave"));
    let view = &created["request"];
    assert_eq!(view["status"], "pending");
    assert_eq!(view["approvers"], json!(["alice", "bob", "carol"]));
    assert_eq!(view["url"], format!("{}/r/{id}", broker.url()));
    assert!(requester.starts_with("gate_"));
    assert_eq!(id.len(), 32);

    let reply = broker.decide(&id, &bob, "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "approved");
    assert_eq!(reply.body["votes"][0]["person"], "bob");

    let seen = broker.get(&path(&id), Some(&requester));
    assert_eq!(seen.body["status"], "approved");
    let key = VerifyingKey::from_public_key_pem(&broker.pubkey_pem()).unwrap();
    let payload = decision(&seen.body)
        .verify_approval(&key, &id, &"ab".repeat(32), SystemTime::now())
        .expect("the decision verifies with `gate serve pubkey`");
    assert_eq!(payload.approvers[0].name, "bob");
    assert_eq!(payload.approvers[0].channel, "cli");

    let api_key = broker.get("/v1/pubkey", None);
    assert_eq!(api_key.body["public_key_pem"], broker.pubkey_pem());
    assert_eq!(broker.get("/v1/health", None).body["status"], "ok");
    assert!(broker.log_has(&format!("created {id}")), "{}", broker.log());
    assert!(
        broker.log_has(&format!("decided {id}: approved")),
        "{}",
        broker.log()
    );
    let log = broker.log();
    assert!(
        !log.contains(&requester) && !log.contains(&bob),
        "tokens leaked: {log}"
    );
}

#[test]
fn one_deny_ends_it_and_later_decisions_are_refused() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let (bob, carol) = (broker.token("bob"), broker.token("carol"));
    let mut body = delete_payments_request("dave");
    body["quorum"] = json!(2);
    let (id, _, _) = broker.create(&body);
    assert_eq!(broker.decide(&id, &bob, "deny").body["status"], "denied");
    let later = broker.decide(&id, &carol, "approve");
    assert_eq!((later.status, later.code()), (409, "already_decided"));
    let key = VerifyingKey::from_public_key_pem(&broker.pubkey_pem()).unwrap();
    let view = broker.get(&path(&id), Some(&carol)).body;
    let payload = decision(&view).verify(&key).unwrap();
    assert_eq!(payload.verdict, gate::approval::protocol::Choice::Deny);
}

#[test]
fn quorum_two_needs_two_different_people() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let (bob, carol) = (broker.token("bob"), broker.token("carol"));
    let mut body = delete_payments_request("dave");
    body["quorum"] = json!(2);
    let (id, _, _) = broker.create(&body);
    assert_eq!(
        broker.decide(&id, &bob, "approve").body["status"],
        "pending"
    );
    let again = broker.decide(&id, &broker.token("bob"), "approve");
    assert_eq!((again.status, again.code()), (409, "already_voted"));
    let done = broker.decide(&id, &carol, "approve");
    assert_eq!(done.body["status"], "approved");
    let after = broker.decide(&id, &broker.token("alice"), "approve");
    assert_eq!((after.status, after.code()), (409, "already_decided"));
}

#[test]
fn nobody_approves_their_own_request_under_any_identity() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let carol = broker.token("carol");
    // carol's login is cbrown.
    let (id, _, created) = broker.create(&delete_payments_request("cbrown"));
    assert_eq!(created["request"]["approvers"], json!(["alice", "bob"]));
    let own = broker.decide(&id, &carol, "approve");
    assert_eq!((own.status, own.code()), (403, "self_approval"));

    // A CI job run by alice's GitHub account, on a runner with another login.
    let mut body = delete_payments_request("runner");
    body["requester"]["ci"] = json!({
        "system": "github", "actor": "alice-gh", "repository": null,
        "branch": null, "commit": null, "url": null
    });
    let (id, _, _) = broker.create(&body);
    let own = broker.decide(&id, &broker.token("alice"), "approve");
    assert_eq!((own.status, own.code()), (403, "self_approval"));
    assert_eq!(
        broker.get(&path(&id), Some(&carol)).body["status"],
        "pending"
    );
}

#[test]
fn only_listed_approvers_decide() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let mut body = delete_payments_request("dave");
    body["approvers"] = json!(["bob"]);
    let (id, _, _) = broker.create(&body);
    let stranger = broker.decide(&id, &broker.token("carol"), "approve");
    assert_eq!((stranger.status, stranger.code()), (403, "not_an_approver"));
    let missing = broker.decide("0".repeat(32).as_str(), &broker.token("bob"), "approve");
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
}

#[test]
fn a_request_times_out_and_wakes_its_long_poll() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let mut body = delete_payments_request("dave");
    body["timeout_seconds"] = json!(1);
    let (id, requester, created) = broker.create(&body);
    let version = created["request"]["version"].as_u64().unwrap();
    let started = Instant::now();
    let reply = broker.get(
        &format!("{}?wait=30&since={version}", path(&id)),
        Some(&requester),
    );
    assert_eq!(reply.body["status"], "timed_out");
    assert!(reply.body["decision"].is_null());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let late = broker.decide(&id, &broker.token("bob"), "approve");
    assert_eq!((late.status, late.code()), (409, "already_decided"));
    assert!(
        broker.log_has(&format!("timed out {id}")),
        "{}",
        broker.log()
    );
}

#[test]
fn the_requester_cancels_a_pending_request() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let cancel = format!("{}/cancel", path(&id));
    let by_approver = broker.post(&cancel, Some(&bob), &json!({}));
    assert_eq!(
        (by_approver.status, by_approver.code()),
        (401, "unauthorized")
    );
    let reply = broker.post(&cancel, Some(&requester), &json!({}));
    assert_eq!(reply.body["status"], "cancelled");
    let again = broker.post(&cancel, Some(&requester), &json!({}));
    assert_eq!((again.status, again.code()), (409, "already_decided"));
    assert_eq!(
        broker.decide(&id, &bob, "approve").code(),
        "already_decided"
    );
}

#[test]
fn an_approval_is_claimed_once() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let (id, requester, _) = broker.create(&delete_payments_request("dave"));
    let claim = format!("{}/claim", path(&id));
    let early = broker.call("POST", &claim, Some(&requester), None);
    assert_eq!((early.status, early.code()), (409, "not_approved"));
    broker.decide(&id, &broker.token("bob"), "approve");
    let first = broker.call("POST", &claim, Some(&requester), None);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["claimed"], true);
    let second = broker.call("POST", &claim, Some(&requester), None);
    assert_eq!((second.status, second.code()), (409, "already_claimed"));
}

#[test]
fn a_long_poll_returns_as_soon_as_someone_votes() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (id, requester, created) = broker.create(&delete_payments_request("dave"));
    let version = created["request"]["version"].as_u64().unwrap();
    let poll = format!("{}?wait=30&since={version}", path(&id));
    // Nothing changes: the poll comes back after its wait with the same view.
    let quiet = broker.get(
        &format!("{}?wait=1&since={version}", path(&id)),
        Some(&requester),
    );
    assert_eq!(quiet.body["version"], version);
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let started = Instant::now();
            (broker.get(&poll, Some(&requester)), started.elapsed())
        });
        // The waiter is parked once the broker-wide list shows nothing new; vote now.
        std::thread::sleep(Duration::from_millis(200));
        let voted = Instant::now();
        broker.decide(&id, &bob, "approve");
        let (reply, _) = waiter.join().unwrap();
        assert_eq!(reply.body["status"], "approved");
        assert!(
            voted.elapsed() < Duration::from_secs(5),
            "{:?}",
            voted.elapsed()
        );
    });
}

#[test]
fn the_pending_list_long_polls_for_new_requests() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let list = broker.get("/v1/requests?status=pending", Some(&bob));
    assert_eq!(list.status, 200);
    assert_eq!(list.body["requests"], json!([]));
    let version = list.body["version"].as_u64().unwrap();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let poll = format!("/v1/requests?status=pending&wait=30&since={version}");
            broker.get(&poll, Some(&bob))
        });
        let (id, _, _) = broker.create(&delete_payments_request("dave"));
        let reply = waiter.join().unwrap();
        assert_eq!(reply.body["requests"][0]["id"], id);
        assert!(reply.body["version"].as_u64().unwrap() > version);
    });
    let mut only_carol = delete_payments_request("dave");
    only_carol["approvers"] = json!(["carol"]);
    broker.create(&only_carol);
    let list = broker.get("/v1/requests?status=pending", Some(&bob));
    assert_eq!(list.body["requests"].as_array().unwrap().len(), 1);
    let bad = broker.get("/v1/requests?status=approved", Some(&bob));
    assert_eq!((bad.status, bad.field()), (400, "status"));
}

#[test]
fn a_restart_keeps_pending_and_decided_requests() {
    let ctx = TestContext::new();
    let mut broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (waiting, waiting_token, _) = broker.create(&delete_payments_request("dave"));
    let (decided, decided_token, _) = broker.create(&delete_payments_request("dave"));
    let before = broker.decide(&decided, &bob, "approve").body;
    broker.restart();
    let after = broker.get(&path(&decided), Some(&decided_token)).body;
    // The link follows the new listening port; everything else is as it was.
    let mut before = json!(before);
    assert!(after["url"].as_str().unwrap().starts_with(&broker.url()));
    before["url"] = after["url"].clone();
    assert_eq!(after, before);
    let still = broker.get(&path(&waiting), Some(&waiting_token)).body;
    assert_eq!(still["status"], "pending");
    assert!(still["version"].as_u64() < after["version"].as_u64());
    let now = broker.decide(&waiting, &bob, "approve");
    assert_eq!(now.body["status"], "approved");
    assert!(now.body["version"].as_u64() > after["version"].as_u64());
}

#[test]
fn a_pending_request_still_times_out_after_a_restart() {
    let ctx = TestContext::new();
    let mut broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let mut body = delete_payments_request("dave");
    body["timeout_seconds"] = json!(2);
    let (id, requester, created) = broker.create(&body);
    broker.restart();
    let version = created["request"]["version"].as_u64().unwrap();
    let reply = broker.get(
        &format!("{}?wait=30&since={version}", path(&id)),
        Some(&requester),
    );
    assert_eq!(reply.body["status"], "timed_out");
}

#[test]
fn break_glass_self_approves_with_a_reason_only_where_allowed() {
    let ctx = TestContext::new();
    let config = with_broker_policy(BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let broker = Broker::start(&ctx, &config);
    let mut body = delete_payments_request("alice");
    body["break_glass"] = json!(true);
    body["reason"] = json!("payments down, INC-42");
    let refused = broker.post("/v1/requests", None, &body);
    assert_eq!(
        (refused.status, refused.code()),
        (403, "break_glass_not_allowed")
    );
    body["break_glass_allowed"] = json!(true);
    body["reason"] = json!(" ");
    let no_reason = broker.post("/v1/requests", None, &body);
    assert_eq!((no_reason.status, no_reason.field()), (400, "reason"));
    body["reason"] = json!("payments down, INC-42");
    let (id, _, created) = broker.create(&body);
    let view = &created["request"];
    assert_eq!(view["status"], "approved");
    assert_eq!(view["break_glass"], true);
    assert_eq!(view["votes"][0]["channel"], "break-glass");
    let key = VerifyingKey::from_public_key_pem(&broker.pubkey_pem()).unwrap();
    let payload = decision(view).verify(&key).unwrap();
    assert!(payload.break_glass);
    assert_eq!(payload.approvers[0].name, "alice");
    assert!(
        broker.log_has(&format!("BREAK-GLASS {id}")),
        "{}",
        broker.log()
    );
}

#[test]
fn bad_input_is_a_4xx_naming_the_field() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let invalid = broker.call("POST", "/v1/requests", None, Some("{\"argv\": ["));
    assert_eq!((invalid.status, invalid.code()), (400, "invalid_field"));
    assert_eq!(invalid.field(), "argv", "where the JSON broke off");
    let trailing = format!("{}{{}}", delete_payments_request("dave"));
    let twice = broker.call("POST", "/v1/requests", None, Some(&trailing));
    assert_eq!((twice.status, twice.field()), (400, "body"));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("quorom", json!(2), "quorom"),
        ("quorum", json!("two"), "quorum"),
        ("argv", json!("kubectl"), "argv"),
        ("action_digest", json!("not-hex"), "action_digest"),
        ("quorum", json!(4), "quorum"),
        ("approvers", json!(["mallory"]), "approvers"),
        ("approvers", json!(["group:ops"]), "approvers"),
    ];
    for (key, value, field) in cases {
        let mut body = delete_payments_request("dave");
        body[key] = value;
        let reply = broker.post("/v1/requests", None, &body);
        assert_eq!(
            (reply.status, reply.code()),
            (400, "invalid_field"),
            "{key}: {:?}",
            reply.body
        );
        assert_eq!(reply.field(), field, "{key}: {:?}", reply.body);
    }
    let mut body = delete_payments_request("dave");
    body.as_object_mut().unwrap().remove("cwd");
    assert_eq!(broker.post("/v1/requests", None, &body).field(), "cwd");
    let mut body = delete_payments_request("dave");
    body["requester"]["user"] = json!(7);
    assert_eq!(
        broker.post("/v1/requests", None, &body).field(),
        "requester.user"
    );

    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let bob = broker.token("bob");
    let decide = format!("{}/decision", path(&id));
    let wrong = broker.post(&decide, Some(&bob), &json!({ "verdict": "maybe" }));
    assert_eq!((wrong.status, wrong.field()), (400, "verdict"));
    let slack = json!({ "verdict": "approve", "channel": "slack" });
    let forged = broker.post(&decide, Some(&bob), &slack);
    assert_eq!((forged.status, forged.field()), (400, "channel"));
    let huge = json!({ "verdict": "approve", "reason": "x".repeat(70_000) });
    assert_eq!(broker.post(&decide, Some(&bob), &huge).status, 413);
    let text = broker.call("POST", &decide, Some(&bob), None);
    assert_eq!(text.status, 415, "{:?}", text.body);
    let wait = broker.get(&format!("{}?wait=soon", path(&id)), Some(&bob));
    assert_eq!((wait.status, wait.field()), (400, "wait"));
    assert_eq!(broker.get("/v1/nothing", None).code(), "not_found");
    let undecodable = broker.get("/v1/requests/%FF%FE", Some(&bob));
    assert_eq!((undecodable.status, undecodable.code()), (404, "not_found"));
    let method = broker.call("DELETE", &path(&id), Some(&bob), None);
    assert_eq!((method.status, method.code()), (405, "method_not_allowed"));
}

#[test]
fn a_missing_or_unknown_token_is_401() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let forged = "gate_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for token in [None, Some(forged)] {
        let read = broker.get(&path(&id), token);
        assert_eq!((read.status, read.code()), (401, "unauthorized"));
        let list = broker.get("/v1/requests?status=pending", token);
        assert_eq!(list.status, 401);
        let decide = broker.post(
            &format!("{}/decision", path(&id)),
            token,
            &json!({ "verdict": "approve" }),
        );
        assert_eq!(decide.status, 401);
    }
}

#[test]
fn a_config_error_points_at_the_key_and_exits_105() {
    let ctx = TestContext::new();
    let config = ctx.dir.path().join("broker.toml");
    std::fs::write(&config, "version = 1\n[defaults]\nquorom = 2\n").unwrap();
    let out = ctx
        .gate()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = stderr(&out);
    assert_eq!(code(&out), 105, "{text}");
    let location = format!("{}:3:1: unknown key \"quorom\"", config.display());
    assert!(text.contains(&location), "{text}");
    assert!(
        text.contains("quorom = 2\n") && text.contains("^^^^^^"),
        "{text}"
    );
    assert!(text.contains("hint: did you mean \"quorum\"?"), "{text}");
}

#[test]
fn tokens_are_only_for_people_in_the_config_and_configs_must_be_private() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let config = ctx.dir.path().join("broker.toml");
    let out = ctx
        .gate()
        .args(["serve", "token", "create", "mallory", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("\"mallory\" is not a person"),
        "{}",
        stderr(&out)
    );
    drop(broker);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = ctx
        .gate()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod go-w"), "{}", stderr(&out));
}

#[test]
fn sigterm_stops_the_broker_cleanly_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::new();
    let mut broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    broker.create(&delete_payments_request("dave"));
    let mode = |name: &str| {
        let path = broker.home().join("broker").join(name);
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o700);
    if std::env::var("GATE_TEST_STORE").as_deref() != Ok("postgres") {
        assert_eq!(mode("broker.db"), 0o600);
    }
    assert_eq!(mode("broker-key.pem"), 0o600);
    let status = broker.stop();
    assert_eq!(status.code(), Some(0), "{}", broker.log());
    assert!(
        broker.log_has("gate serve: shutting down"),
        "{}",
        broker.log()
    );
}

/// Anyone who can reach the broker can ask; nobody can make it hold more than
/// `[limits]` pending requests, in all or from one requester.
#[test]
fn pending_requests_are_capped_per_requester_and_in_all() {
    let ctx = TestContext::new();
    let config = format!(
        "{BROKER_CONFIG_SRE_ALICE_BOB_CAROL}[limits]\nmax_pending = 3\nmax_pending_per_requester = 2\n"
    );
    let broker = Broker::start(&ctx, &config);
    broker.create(&delete_payments_request("dave"));
    broker.create(&delete_payments_request("dave"));
    let third = broker.post("/v1/requests", None, &delete_payments_request("dave"));
    assert_eq!(
        (third.status, third.code()),
        (429, "too_many_requests"),
        "{:?}",
        third.body
    );
    let wait: u64 = third
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(
        third.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dave@build-1 (unverified) has 2 pending requests"),
        "{:?}",
        third.body
    );
    assert!(
        broker.log_has("refused a request by dave@build-1"),
        "{}",
        broker.log()
    );
    // Another requester still gets the last place; then the broker is full.
    broker.create(&delete_payments_request("erin"));
    let full = broker.post("/v1/requests", None, &delete_payments_request("frank"));
    assert_eq!((full.status, full.code()), (429, "too_many_requests"));
    assert!(full.retry_after.is_some());
    // A decided request frees its place.
    let list = broker.get("/v1/requests?status=pending", Some(&broker.token("alice")));
    let id = list.body["requests"][0]["id"].as_str().unwrap().to_string();
    let bob = broker.token("bob");
    assert_eq!(broker.decide(&id, &bob, "deny").status, 200);
    broker.create(&delete_payments_request("frank"));
}

#[test]
fn a_broker_nobody_can_use_says_so_at_start_up() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, "version = 1\n");
    assert!(
        broker.log_has("no people are configured, so nobody can approve a request"),
        "{}",
        broker.log()
    );
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    assert!(broker.log_has("listening on"), "{}", broker.log());
    assert!(
        !broker.log().contains("no people are configured"),
        "{}",
        broker.log()
    );
}

#[test]
fn a_revoked_token_stops_at_once_and_the_list_shows_its_use() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    assert_eq!(
        broker.get("/v1/requests?status=pending", Some(&bob)).status,
        200
    );
    let config = broker.config_path().to_str().unwrap();
    let list = ctx.run(&["serve", "token", "list", "--config", config]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    let text = crate::support::common::stdout(&list);
    let line = text
        .lines()
        .find(|l| l.starts_with("bob"))
        .expect("bob's token");
    assert!(!line.contains("last used never"), "{text}");
    assert!(!line.contains(&bob), "the secret is never listed: {text}");
    assert!(!text.contains("REFUSED"), "{text}");
    // Against a config that no longer names bob, his token is marked refused.
    let without_bob = ctx.write_private(
        "without-bob.toml",
        &std::fs::read_to_string(config)
            .unwrap()
            .replace("[people.bob]\n", "")
            .replace("\"alice\", \"bob\", \"carol\"", "\"alice\", \"carol\""),
    );
    let list = ctx.run(&[
        "serve",
        "token",
        "list",
        "--config",
        without_bob.to_str().unwrap(),
    ]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    let text = crate::support::common::stdout(&list);
    assert!(
        text.lines()
            .any(|l| l.starts_with("bob")
                && l.contains("REFUSED: not a person in the broker config")),
        "{text}"
    );
    // Revoked from another process, with the broker running: refused on the next call.
    let out = ctx.run(&["serve", "token", "revoke", "bob", "--config", config]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        broker.get("/v1/requests?status=pending", Some(&bob)).status,
        401
    );
    let text =
        crate::support::common::stdout(&ctx.run(&["serve", "token", "list", "--config", config]));
    assert!(
        text.lines()
            .any(|l| l.starts_with("bob") && l.contains("REVOKED")),
        "{text}"
    );
    // Nothing left to revoke is a usage error naming the person.
    let out = ctx.run(&["serve", "token", "revoke", "bob", "--config", config]);
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bob has no token in force"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn metrics_count_votes_and_decisions_and_never_name_anyone() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let bob = broker.token("bob");
    let (approved, _, _) = broker.create(&delete_payments_request("dave"));
    let (denied, _, _) = broker.create(&delete_payments_request("dave"));
    let (_pending, _, _) = broker.create(&delete_payments_request("dave"));
    assert_eq!(broker.decide(&approved, &bob, "approve").status, 200);
    assert_eq!(broker.decide(&denied, &bob, "deny").status, 200);

    let page = crate::support::web_support::send(&broker, "GET", "/metrics", None, None, None);
    assert_eq!(page.status, 200);
    let text = page.body;
    for line in [
        "gate_requests_pending 1",
        "gate_requests_finished_total{state=\"approved\"} 1",
        "gate_requests_finished_total{state=\"denied\"} 1",
        "gate_votes_total{channel=\"cli\",verdict=\"approve\"} 1",
        "gate_votes_total{channel=\"cli\",verdict=\"deny\"} 1",
        "gate_time_to_decision_seconds_count 2",
        "gate_long_polls_waiting 0",
        "# EOF",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("gate_store_write_seconds_count ") && !l.ends_with(" 0")),
        "{text}"
    );
    // Counts only: no person, requester, command or request id.
    for secret in ["bob", "dave", "kubectl", "payments", approved.as_str()] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }

    // Liveness and readiness.
    assert_eq!(broker.get("/v1/health", None).body["status"], "ok");
    let ready = broker.get("/v1/ready", None);
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (200, Some("ready"))
    );
}

#[test]
fn with_log_format_json_every_log_line_is_one_json_object() {
    use std::io::{BufRead, BufReader, Read, Write};
    let ctx = TestContext::new();
    let config =
        crate::support::broker_support::write_config(&ctx, BROKER_CONFIG_SRE_ALICE_BOB_CAROL);
    let mut child =
        crate::support::broker_support::serve_command(&ctx.home(), &config, "127.0.0.1:0")
            .args(["--log-format", "json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let mut stderr_lines = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr_lines.read_line(&mut first).unwrap();
    let listening: Value = serde_json::from_str(&first).expect("a JSON line");
    let message = listening["message"].as_str().unwrap();
    let address = message
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{first}"));
    // One request, so the log has an event with a command in it.
    let body = delete_payments_request("dave").to_string();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /v1/requests HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    stderr_lines.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<Value> = rest
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &lines {
        assert!(
            line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert_eq!(line["level"], "info", "{line}");
        assert!(!line["message"].as_str().unwrap().starts_with("gate serve:"));
    }
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("created") && m.contains("kubectl delete ns payments")),
        "{messages:?}"
    );
    assert!(messages.contains(&"shutting down"), "{messages:?}");
}
