//! Several `gate serve` replicas on one PostgreSQL database (a throwaway cluster):
//! a change made on one wakes the long-polls waiting on another within the
//! notification's delay, a request is decided, claimed and expired once however
//! the replicas race, and a database restart loses no decision.

use crate::support::broker_support::{Broker, Reply};
use crate::support::common::TestContext;
use crate::support::fake_slack::FakeSlack;
use crate::support::fake_teams::FakeTeams;
use crate::support::fixtures::{
    BROKER_CONFIG_SRE_ALICE_BOB_CAROL, ORG_POLICY_DENY_CURL_AND_WGET,
    POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS, broker_config_policy_admins,
    broker_config_slack_alice_me, broker_config_sre_alice_bob_carol_teams,
    broker_config_sre_alice_bob_me, delete_payments_request, with_broker_policy,
};
use crate::support::postgres::{self, Cluster};
use crate::support::waiting::Waiting;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use gate::approval::SignedDecision;
use serde_json::Value;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Longer than a notification takes, well under the replicas' fallback poll (5 s).
const NOTIFIED_WITHIN: Duration = Duration::from_millis(2500);

fn config(url: &str) -> String {
    format!("{BROKER_CONFIG_SRE_ALICE_BOB_CAROL}[store]\nurl = \"{url}\"\n")
}

/// Replica A and B of one broker on a new database of `cluster`.
fn replicas(ctx: &TestContext, cluster: &Cluster) -> (Broker, Broker) {
    let a = Broker::start(ctx, &config(&cluster.database().url));
    let b = a.replica();
    (a, b)
}

/// Long-poll request `id` on `broker` past `since`, in the background.
fn wait_on(
    broker: &Broker,
    id: &str,
    token: &str,
    since: u64,
) -> thread::JoinHandle<(Reply, Instant)> {
    let (url, id, token) = (broker.url(), id.to_string(), token.to_string());
    thread::spawn(move || {
        let reply = Broker::call_at(
            &url,
            "GET",
            &format!("/v1/requests/{id}?since={since}&wait=60"),
            Some(&token),
            None,
        );
        (reply, Instant::now())
    })
}

fn version(view: &Value) -> u64 {
    view["version"].as_u64().unwrap()
}

#[test]
fn a_request_made_on_one_replica_and_approved_on_another_wakes_its_waiter() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let (a, b) = replicas(&ctx, cluster);
    let bob = a.token("bob");
    let (id, requester, created) = a.create(&delete_payments_request("dave"));
    let waiter = wait_on(&a, &id, &requester, version(&created["request"]));
    thread::sleep(Duration::from_millis(300));

    let approved_at = Instant::now();
    let reply = b.decide(&id, &bob, "approve");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (seen, woke_at) = waiter.join().unwrap();
    assert_eq!(seen.body["status"], "approved", "{:?}", seen.body);
    let delay = woke_at.duration_since(approved_at);
    assert!(delay < NOTIFIED_WITHIN, "woke after {delay:?}");

    // Both replicas sign with the one key, and each tells the same story.
    let key = VerifyingKey::from_public_key_pem(&a.pubkey_pem()).unwrap();
    let decision: SignedDecision = serde_json::from_value(seen.body["decision"].clone()).unwrap();
    decision
        .verify_approval(&key, &id, &"ab".repeat(32), SystemTime::now())
        .expect("the decision verifies with the replicas' key");
    let on_a = a.get(&format!("/v1/requests/{id}"), Some(&requester));
    assert_eq!(on_a.body, seen.body);
    // Each change is logged once, by the replica that made it.
    assert!(a.log_has(&format!("created {id}")) && !b.log_has(&format!("created {id}")));
    assert!(b.log_has(&format!("decided {id}")) && !a.log_has(&format!("decided {id}")));

    // An approver's inbox on A sees a request made on B.
    let listed = thread::spawn({
        let (url, bob) = (a.url(), bob.clone());
        let since = a.get("/v1/requests", Some(&bob)).body["version"]
            .as_u64()
            .unwrap();
        move || {
            Broker::call_at(
                &url,
                "GET",
                &format!("/v1/requests?since={since}&wait=60"),
                Some(&bob),
                None,
            )
        }
    });
    thread::sleep(Duration::from_millis(300));
    let (other, _, _) = b.create(&delete_payments_request("erin"));
    let listed = listed.join().unwrap();
    let ids: Vec<&str> = listed.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other.as_str()], "{:?}", listed.body);
}

#[test]
fn replicas_racing_on_the_same_requests_decide_and_claim_each_once() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let (a, b) = replicas(&ctx, cluster);
    let (bob, carol) = (a.token("bob"), a.token("carol"));
    let made: Vec<(String, String)> = (0..12)
        .map(|n| {
            let (id, token, _) = a.create(&delete_payments_request(&format!("user{n}")));
            (id, token)
        })
        .collect();
    // Bob approves each on A while Carol denies it on B, at the same moment.
    let races: Vec<_> = made
        .iter()
        .map(|(id, _)| {
            let approve = {
                let (url, id, bob) = (a.url(), id.clone(), bob.clone());
                thread::spawn(move || vote_at(&url, &id, &bob, "approve"))
            };
            let deny = {
                let (url, id, carol) = (b.url(), id.clone(), carol.clone());
                thread::spawn(move || vote_at(&url, &id, &carol, "deny"))
            };
            (approve.join().unwrap(), deny.join().unwrap())
        })
        .collect();
    for ((id, token), (approve, deny)) in made.iter().zip(&races) {
        let won: Vec<&Reply> = [approve, deny]
            .into_iter()
            .filter(|r| r.status == 200)
            .collect();
        assert_eq!(won.len(), 1, "{id}: {approve:?} / {deny:?}");
        let lost = if approve.status == 200 { deny } else { approve };
        assert_eq!(
            (lost.status, lost.code()),
            (409, "already_decided"),
            "{lost:?}"
        );
        let stored = b.get(&format!("/v1/requests/{id}"), Some(token)).body;
        assert_eq!(stored["status"], won[0].body["status"]);
        assert_eq!(stored["votes"].as_array().unwrap().len(), 1, "{stored}");
    }

    // The requester claims an approved one on both replicas at once: one claim.
    let (approved, token) = made
        .iter()
        .zip(&races)
        .find(|(_, (approve, _))| approve.status == 200)
        .map(|((id, token), _)| (id.clone(), token.clone()))
        .unwrap_or_else(|| {
            let (id, token, _) = a.create(&delete_payments_request("zed"));
            assert_eq!(a.decide(&id, &bob, "approve").status, 200);
            (id, token)
        });
    let claims: Vec<Reply> = [a.url(), b.url(), a.url(), b.url()]
        .into_iter()
        .map(|url| {
            let (id, token) = (approved.clone(), token.clone());
            thread::spawn(move || {
                Broker::call_at(
                    &url,
                    "POST",
                    &format!("/v1/requests/{id}/claim"),
                    Some(&token),
                    Some("{}"),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let granted = claims.iter().filter(|r| r.status == 200).count();
    assert_eq!(granted, 1, "{claims:?}");
}

fn vote_at(url: &str, id: &str, token: &str, verdict: &str) -> Reply {
    let body = format!(r#"{{"verdict":"{verdict}","channel":"cli"}}"#);
    Broker::call_at(
        url,
        "POST",
        &format!("/v1/requests/{id}/decision"),
        Some(token),
        Some(&body),
    )
}

#[test]
fn a_request_expires_once_whichever_replica_times_it_out() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let (a, b) = replicas(&ctx, cluster);
    let bob = a.token("bob");
    let mut body = delete_payments_request("dave");
    body["timeout_seconds"] = 2.into();
    let ids: Vec<String> = (0..5).map(|_| b.create(&body).0).collect();
    thread::sleep(Duration::from_secs(5));
    for id in &ids {
        let stored = a.get(&format!("/v1/requests/{id}"), Some(&bob)).body;
        assert_eq!(stored["status"], "timed_out", "{stored}");
        let line = format!("timed out {id}");
        let times = a.log().matches(&line).count() + b.log().matches(&line).count();
        assert_eq!(times, 1, "{id} timed out {times} times");
    }
}

#[test]
fn a_database_restart_loses_no_decision_and_the_replicas_reconnect() {
    let Some(cluster) = postgres::private_cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let (a, b) = replicas(&ctx, &cluster);
    let bob = a.token("bob");
    let made: Vec<(String, String, u64)> = (0..5)
        .map(|n| {
            let (id, token, created) = a.create(&delete_payments_request(&format!("u{n}")));
            (id, token, version(&created["request"]))
        })
        .collect();
    let waiters: Vec<_> = made
        .iter()
        .map(|(id, token, since)| wait_on(&b, id, token, *since))
        .collect();
    // Every long-poll has reached B before the database goes away.
    let waiting_on_b = || {
        let metrics = crate::support::web_support::send(&b, "GET", "/metrics", None, None, None);
        metrics
            .body
            .lines()
            .any(|l| l == "gate_long_polls_waiting 5")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !waiting_on_b() {
        assert!(Instant::now() < deadline, "the long-polls never reached B");
        thread::sleep(Duration::from_millis(20));
    }

    cluster.stop();
    // With the database down a vote is refused, never taken and lost.
    let refused = a.decide(&made[0].0, &bob, "approve");
    assert_eq!(refused.status, 500, "{:?}", refused.body);
    assert_eq!(a.get("/v1/ready", None).status, 503);
    cluster.start();

    for (id, _, _) in &made {
        let reply = a.decide(id, &bob, "approve");
        assert_eq!(reply.status, 200, "{id}: {:?}", reply.body);
    }
    for waiter in waiters {
        let (seen, _) = waiter.join().unwrap();
        assert_eq!(seen.body["status"], "approved", "{:?}", seen.body);
    }
    assert_eq!(a.get("/v1/ready", None).status, 200);
    assert!(
        b.log_has("lost the store's notifications; reconnecting"),
        "{}",
        b.log()
    );
    assert!(
        b.log_has("following the other replicas' changes again"),
        "{}",
        b.log()
    );
}

/// 100 gates wait on replica A (`GATE_SERVER=A,B`); A is killed outright; every
/// request is approved on B. Each gate carries its wait over to B and runs its
/// command exactly once: none is lost, none runs twice.
#[test]
fn killing_a_replica_hands_its_waiting_gates_to_the_other() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    const GATES: usize = 100;
    let ctx = TestContext::with_policy(POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS);
    let config = format!(
        "{}[store]\nurl = \"{}\"\n[limits]\nmax_pending_per_requester = {GATES}\n",
        with_broker_policy(&broker_config_sre_alice_bob_me()),
        cluster.database().url
    );
    let mut a = Broker::start(&ctx, &config);
    a.pin_key(&ctx);
    let b = a.replica();
    let alice = a.token("alice");
    let (ran, marker) = (ctx.work().join("ran"), ctx.work().join("marker"));
    let mut waiting: Vec<(Waiting, String)> = (0..GATES)
        .map(|n| {
            let mut command = ctx.gate();
            command
                .env("GATE_SERVER", format!("{},{}", a.url(), b.url()))
                .env("GATE_SERVER_KEY", ctx.dir.path().join("broker.pub"))
                .args([
                    "--",
                    "sh",
                    "-c",
                    &format!("touch {}; echo {n} >> {}", marker.display(), ran.display()),
                ]);
            let mut gate = Waiting::spawn(command);
            let id = gate.expect_request_id();
            (gate, id)
        })
        .collect();
    a.kill();
    for (_, id) in &waiting {
        let reply = b.decide(id, &alice, "approve");
        assert_eq!(reply.status, 200, "{id}: {:?}", reply.body);
    }
    for (gate, id) in &mut waiting {
        gate.expect_line(&format!("continuing with {}", b.url()));
        let _ = id;
    }
    let mut codes = Vec::new();
    for (gate, _) in waiting {
        let done = gate.finish();
        codes.push((done.code, done.stderr));
    }
    for (n, (code, stderr)) in codes.iter().enumerate() {
        assert_eq!(*code, 0, "gate {n}: {stderr}");
    }
    let mut lines: Vec<usize> = std::fs::read_to_string(&ran)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        (0..GATES).collect::<Vec<_>>(),
        "each ran exactly once"
    );
}

/// Replicas A and B of a broker posting to `slack`, on a new database.
fn slack_replicas(ctx: &TestContext, cluster: &Cluster, slack: &FakeSlack) -> (Broker, Broker) {
    let config = format!(
        "{}[store]\nurl = \"{}\"\n",
        broker_config_slack_alice_me(&slack.url()),
        cluster.database().url
    );
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-e2e"),
        ("SLACK_SIGNING_SECRET", "e2e-signing-secret"),
    ];
    let a = Broker::start_with_env(ctx, &config, &env);
    let b = a.replica();
    (a, b)
}

/// After a second for late calls: how many new messages, thread replies and
/// updates Slack received, and every call.
fn slack_calls(slack: &FakeSlack) -> ((usize, usize, usize), Vec<(String, Value)>) {
    thread::sleep(Duration::from_secs(1));
    let calls = slack.received();
    let count = |method: &str, threaded: bool| {
        calls
            .iter()
            .filter(|(m, body)| m == method && body.get("thread_ts").is_some() == threaded)
            .count()
    };
    let counted = (
        count("chat.postMessage", false),
        count("chat.postMessage", true),
        count("chat.update", false),
    );
    (counted, calls)
}

/// Slack hears of a request once, from the replica that made it, and of its
/// decision once, from the replica that decided it.
#[test]
fn each_change_is_posted_to_slack_once_by_the_replica_that_made_it() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let slack = FakeSlack::start();
    let ctx = TestContext::new();
    let (a, b) = slack_replicas(&ctx, cluster, &slack);
    let alice = a.token("alice");
    let (id, _, _) = a.create(&delete_payments_request("dave"));
    slack.wait("chat.postMessage", 1);
    assert_eq!(b.decide(&id, &alice, "approve").status, 200);
    slack.wait("chat.update", 1);
    let (counted, calls) = slack_calls(&slack);
    // The message, the vote as a reply in its thread, the message updated.
    assert_eq!(counted, (1, 1, 1), "{calls:#?}");
}

/// A request decided on replica B while replica A is still posting it to
/// Slack: B finds no message to update, so A, once it has stored where the
/// message is, draws the decision itself and replies in the thread, once.
#[test]
fn a_decision_made_while_the_message_is_being_posted_still_reaches_slack_once() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let slack = FakeSlack::start();
    slack.hold_posts(Duration::from_millis(1500));
    let ctx = TestContext::new();
    let (a, b) = slack_replicas(&ctx, cluster, &slack);
    let alice = a.token("alice");
    let (id, _, _) = a.create(&delete_payments_request("dave"));
    slack.wait("chat.postMessage", 1);
    // Slack has not answered A yet: A does not know where its message is.
    assert_eq!(b.decide(&id, &alice, "approve").status, 200);
    let update = slack.wait("chat.update", 1);
    assert_eq!(update["ts"], crate::support::fake_slack::TS, "{update}");
    let drawn = update["blocks"].to_string();
    assert!(
        drawn.contains("Approved"),
        "the decision is drawn: {update}"
    );
    let reply = slack.wait("chat.postMessage", 2);
    assert_eq!(
        reply["thread_ts"],
        crate::support::fake_slack::TS,
        "{reply}"
    );
    let (counted, calls) = slack_calls(&slack);
    assert_eq!(counted, (1, 1, 1), "{calls:#?}");
    assert!(
        b.log()
            .contains(&format!("no message stored for request {id}")),
        "B found no message: {}",
        b.log()
    );
}

/// Quorum counts people, not votes: one approver voting on both replicas at
/// the same moment is counted once, and the request waits for a second person.
#[test]
fn one_person_voting_on_two_replicas_at_once_counts_once_toward_quorum() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let (a, b) = replicas(&ctx, cluster);
    let (bob, carol) = (a.token("bob"), a.token("carol"));
    let mut body = delete_payments_request("dave");
    body["quorum"] = 2.into();
    for _ in 0..8 {
        let (id, token, _) = a.create(&body);
        let twice: Vec<Reply> = [a.url(), b.url()]
            .into_iter()
            .map(|url| {
                let (id, bob) = (id.clone(), bob.clone());
                thread::spawn(move || vote_at(&url, &id, &bob, "approve"))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let counted: Vec<&Reply> = twice.iter().filter(|r| r.status == 200).collect();
        assert_eq!(counted.len(), 1, "{twice:?}");
        assert_eq!(counted[0].body["status"], "pending");
        let refused = twice.iter().find(|r| r.status != 200).unwrap();
        assert_eq!(
            (refused.status, refused.code()),
            (409, "already_voted"),
            "{refused:?}"
        );
        let done = b.decide(&id, &carol, "approve");
        assert_eq!(done.body["status"], "approved", "{:?}", done.body);
        let stored = a.get(&format!("/v1/requests/{id}"), Some(&token)).body;
        let people: Vec<&str> = stored["votes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["person"].as_str().unwrap())
            .collect();
        assert_eq!(people.len(), 2, "{stored}");
        assert!(
            people.contains(&"bob") && people.contains(&"carol"),
            "{stored}"
        );
    }
}

/// A broker whose database cannot be reached does not start: one line naming
/// the database (never its password), exit 113.
#[test]
fn a_broker_whose_database_is_unreachable_stops_with_one_line() {
    let ctx = TestContext::new();
    let config = crate::support::broker_support::write_config(
        &ctx,
        &format!(
            "{BROKER_CONFIG_SRE_ALICE_BOB_CAROL}[store]\n\
             url = \"postgres://gate@127.0.0.1:1/gate?connect_timeout=2\"\n\
             password_env = \"GATE_TEST_DB_PASSWORD\"\n"
        ),
    );
    let home = ctx.dir.path().join("home");
    let out = crate::support::broker_support::serve_command(&home, &config, "127.0.0.1:0")
        .env("GATE_TEST_DB_PASSWORD", "hunter2-secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(113), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("postgres://gate@127.0.0.1:1/gate"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!err.contains("listening"), "{err}");
}

/// The whole path across replicas: gate waits on A, the approval is given on B,
/// and the command runs at once (well within the replicas' 5 s fallback poll).
#[test]
fn a_gate_waiting_on_one_replica_runs_as_soon_as_another_approves() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::with_policy(POLICY_APPROVE_QUORUM_TIMEOUT_BREAK_GLASS);
    let config = format!(
        "{}[store]\nurl = \"{}\"\n",
        with_broker_policy(&broker_config_sre_alice_bob_me()),
        cluster.database().url
    );
    let a = Broker::start(&ctx, &config);
    a.pin_key(&ctx);
    let b = a.replica();
    let alice = a.token("alice");
    let started = ctx.work().join("started");
    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", a.url())
        .env("GATE_SERVER_KEY", ctx.dir.path().join("broker.pub"))
        .args(["--", "touch", started.to_str().unwrap()]);
    let mut gate = Waiting::spawn(command);
    let id = gate.expect_request_id();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(b.decide(&id, &alice, "approve").status, 200);
    let approved = Instant::now();
    while !started.exists() {
        assert!(
            approved.elapsed() < NOTIFIED_WITHIN,
            "the command had not started {NOTIFIED_WITHIN:?} after the approval on B"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let done = gate.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(
        done.stderr.contains("alice"),
        "who approved is shown: {}",
        done.stderr
    );
}

/// Teams likewise: the card once, from the replica that made the request, and
/// the decision once, from the replica that decided it.
#[test]
fn each_change_is_posted_to_teams_once_by_the_replica_that_made_it() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let teams = FakeTeams::start(&[]);
    let ctx = TestContext::new();
    let config = format!(
        "{}[store]\nurl = \"{}\"\n",
        broker_config_sre_alice_bob_carol_teams(),
        cluster.database().url
    );
    let a = Broker::start_with_env(&ctx, &config, &[("OPS_TEAMS_HOOK", &teams.url())]);
    let b = a.replica();
    let bob = a.token("bob");
    let (id, _, _) = a.create(&delete_payments_request("dave"));
    teams.wait_for(1);
    assert_eq!(b.decide(&id, &bob, "approve").status, 200);
    teams.wait_for(2);
    thread::sleep(Duration::from_secs(1));
    let posted = teams.received();
    assert_eq!(posted.len(), 2, "{posted:#?}");
    assert!(
        a.log_has(&format!("the card for request {id}")),
        "{}",
        a.log()
    );
    assert!(
        !b.log_has(&format!("the card for request {id}")),
        "{}",
        b.log()
    );
}

/// What `psql` printed of the notifications it received: each payload.
fn payloads(printed: &str) -> Vec<String> {
    const START: &str = "with payload \"";
    const END: &str = "\" received from server process";
    printed
        .match_indices(START)
        .filter_map(|(at, _)| {
            let rest = &printed[at + START.len()..];
            rest.find(END).map(|end| rest[..end].to_string())
        })
        .collect()
}

/// Request `id` as replica `broker` holds it: (status, version).
fn held(broker: &Broker, id: &str, token: &str) -> (String, u64) {
    let view = broker.get(&format!("/v1/requests/{id}"), Some(token)).body;
    (view["status"].as_str().unwrap().to_string(), version(&view))
}

/// Any role that may connect to the database may send notifications on the
/// replicas' channel, and listen to them. As such a role: what a request asks
/// cannot be read from its notification; a forged change (the request
/// approved) is not taken, even under a far higher version; a real change
/// listened to and replayed later (the request as it was made, pending) is not
/// taken either. Each only makes the replicas read the row again.
#[test]
fn notifications_sent_by_anyone_else_on_the_database_change_nothing() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let db = cluster.database();
    let a = Broker::start(&ctx, &config(&db.url));
    let b = a.replica();
    let intruder = format!("{}_intruder", db.name);
    cluster.psql("postgres", &format!("CREATE ROLE {intruder} LOGIN"));
    let listening = thread::spawn({
        let (intruder, name) = (intruder.clone(), db.name.clone());
        move || {
            cluster.psql_as(
                &intruder,
                &name,
                &["LISTEN gate_changes", "SELECT pg_sleep(3)"],
            )
        }
    });
    thread::sleep(Duration::from_millis(500));
    let (id, requester, created) = a.create(&delete_payments_request("dave"));
    let v1 = version(&created["request"]);
    let heard = payloads(&listening.join().unwrap());
    let made = heard
        .iter()
        .find(|note| note.starts_with(&format!("{id} {v1}\n")))
        .unwrap_or_else(|| panic!("the intruder hears the change: {heard:?}"))
        .clone();
    for secret in ["kubectl", "payments", "production changes", "build-1"] {
        assert!(
            !made.contains(secret),
            "the intruder reads {secret}: {made}"
        );
    }
    let send = |note: &str| {
        cluster.psql_as(
            &intruder,
            &db.name,
            &[&format!(
                "SELECT pg_notify('gate_changes', $note${note}$note$)"
            )],
        )
    };

    // A forged approval, under a version far ahead of the store's.
    let mut view = created["request"].clone();
    view["status"] = "approved".into();
    let forged = format!(
        "{id} {}\n{}\n{v1}\n{}\n[\"dave\"]\n{view}",
        v1 + 1000,
        "00".repeat(32),
        "00".repeat(32)
    );
    send(&forged);
    thread::sleep(Duration::from_millis(700));
    for replica in [&a, &b] {
        assert_eq!(held(replica, &id, &requester), ("pending".into(), v1));
    }

    // The real approval still reaches both.
    assert_eq!(b.decide(&id, &b.token("bob"), "approve").status, 200);
    let v2 = held(&b, &id, &requester).1;
    let waited = a.get(
        &format!("/v1/requests/{id}?since={v1}&wait=5"),
        Some(&requester),
    );
    assert_eq!(waited.body["status"], "approved", "{:?}", waited.body);

    // The sealed change that made the request, replayed under a newer
    // version: it changed a version neither replica holds any more.
    let (_, sealed) = made.split_once('\n').unwrap();
    send(&format!("{id} {}\n{sealed}", v2 + 1000));
    send(&made);
    thread::sleep(Duration::from_millis(700));
    for replica in [&a, &b] {
        assert_eq!(held(replica, &id, &requester), ("approved".into(), v2));
    }
}

/// A policy version published on replica A and approved on replica B comes
/// into force on both: whichever replica hears of the decision first records
/// it, and the other takes what was recorded.
#[test]
fn a_policy_approved_on_one_replica_is_in_force_on_both() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let ctx = TestContext::new();
    let config = format!(
        "{}[store]\nurl = \"{}\"\n",
        broker_config_policy_admins(&ctx),
        cluster.database().url
    );
    let a = Broker::start(&ctx, &config);
    let b = a.replica();
    let next = ctx.write_private("next.toml", ORG_POLICY_DENY_CURL_AND_WGET);
    let id = crate::org_policy::publish(&ctx, &a.url(), &a.token("alice"), &next, Some("wget too"));
    assert_eq!(b.decide(&id, &b.token("bob"), "approve").status, 200);
    let wanted = crate::org_policy::version_of(ORG_POLICY_DENY_CURL_AND_WGET);
    let served = |broker: &Broker| {
        let body = broker.get("/v1/policy", None).body;
        let payload: Value = serde_json::from_str(body["payload"].as_str().unwrap()).unwrap();
        payload["version"].as_str().unwrap().to_string()
    };
    let deadline = Instant::now() + NOTIFIED_WITHIN;
    while served(&a) != wanted && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(served(&a), wanted, "A serves the approved version");
    assert_eq!(served(&b), wanted, "B serves the approved version");
    // Recorded once, by one of them.
    let settled = |broker: &Broker| broker.log_has("is now in force (approved by bob)");
    assert!(settled(&a) ^ settled(&b), "{}\n{}", a.log(), b.log());
}
