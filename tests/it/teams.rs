//! Teams cards end to end: the real `gate serve` posting to a fake Workflows
//! webhook on 127.0.0.1; the cards checked against the Adaptive Card 1.5 schema.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, code, stderr};
use crate::support::fake_teams::{FakeTeams, HANG, SIGNATURE};
use crate::support::fixtures::{
    broker_config_sre_alice_bob_carol_teams, delete_payments_request, with_broker_policy,
};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn start(ctx: &TestContext, teams: &FakeTeams) -> Broker {
    Broker::start_with_env(
        ctx,
        &with_broker_policy(&broker_config_sre_alice_bob_carol_teams()),
        &[("OPS_TEAMS_HOOK", &teams.url())],
    )
}

/// A request from a CI job run by an agent, with a justification.
fn rich_request() -> Value {
    let mut new = delete_payments_request("dave");
    new["requester"]["ci"] = json!({"system": "github", "actor": "dave-gh",
        "repository": "acme/infra", "branch": "main", "commit": "0123abc",
        "url": "https://github.com/acme/infra/actions/runs/77"});
    new["requester"]["agent"] = json!({"name": "claude-code", "session": "s-42"});
    new["reason"] = "rotate the payments namespace, ticket OPS-7".into();
    new
}

fn card(body: &Value) -> &Value {
    &body["attachments"][0]["content"]
}

macro_rules! assert_card_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"[0-9a-f]{32}", "[ID]"),
            (r"http://127\.0\.0\.1:\d+", "http://[BROKER]"),
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
            (r"\d+m \d\ds", "[LEFT]"),
        ]}, {
            insta::assert_json_snapshot!($name, $value);
        });
    };
}

#[test]
fn a_new_request_posts_a_card_and_its_decision_a_follow_up() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[]);
    let broker = start(&ctx, &teams);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&rich_request());

    let posted = teams.wait_for(1);
    assert_eq!(posted[0]["type"], "message");
    assert_eq!(
        posted[0]["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let actions = &card(&posted[0])["actions"];
    assert_eq!(actions[0]["type"], "Action.OpenUrl");
    assert_eq!(actions[0]["url"], format!("{}/r/{id}", broker.url()));
    assert_card_snapshot!("request_card", &posted[0]);

    let reply = broker.post(
        &format!("/v1/requests/{id}/decision"),
        Some(&bob),
        &json!({"verdict": "deny", "reason": "not during the freeze", "channel": "cli"}),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let posted = teams.wait_for(2);
    let text = posted[1].to_string();
    assert!(text.contains("Denied by bob"), "{text}");
    assert!(text.contains("not during the freeze"), "{text}");
    assert_card_snapshot!("outcome_card", &posted[1]);

    assert!(broker.log_has(&format!("the outcome of request {id} accepted by Teams")));
    let log = broker.log();
    assert!(
        log.contains(&format!(
            "the card for request {id} accepted by Teams (127.0.0.1:"
        )),
        "{log}"
    );
    assert!(!log.contains("delivered"), "{log}");
    assert!(
        !log.contains(SIGNATURE) && !log.contains("/workflows/"),
        "webhook URL leaked: {log}"
    );
}

#[test]
fn a_timed_out_request_gets_a_follow_up_too() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[]);
    let broker = start(&ctx, &teams);
    let mut new = delete_payments_request("dave");
    new["timeout_seconds"] = 1.into();
    let (id, _, _) = broker.create(&new);
    let posted = teams.wait_for(2);
    let outcome = posted[1].to_string();
    assert!(
        outcome.contains("Timed out: nobody decided in time"),
        "{outcome}"
    );
    assert!(outcome.contains(&id), "{outcome}");
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[(503, None), (429, Some("0")), (200, None)]);
    let broker = start(&ctx, &teams);
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let posted = teams.wait_for(3);
    assert_eq!(posted[0], posted[2], "the same card, posted again");
    assert!(broker.log_has(&format!("the card for request {id} posted to Teams")));
    let log = broker.log();
    assert!(
        log.contains("Teams answered 503") && log.contains("rate limited (429)"),
        "{log}"
    );
}

#[test]
fn a_post_that_times_out_is_retried() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[(HANG, None)]);
    let config = broker_config_sre_alice_bob_carol_teams()
        .replace("timeout = \"5s\"\n", "timeout = \"1s\"\n");
    let broker = Broker::start_with_env(&ctx, &config, &[("OPS_TEAMS_HOOK", &teams.url())]);
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    let posted = teams.wait_for(2);
    assert_eq!(posted[0], posted[1]);
    assert!(broker.log_has(&format!("the card for request {id} accepted by Teams")));
    assert!(
        broker
            .log()
            .contains(&format!("the card for request {id}: timed out")),
        "{}",
        broker.log()
    );
}

#[test]
fn giving_up_is_one_line_and_the_request_stays_decidable() {
    let ctx = TestContext::new();
    let script = [(429, Some("0")); 5];
    let teams = FakeTeams::start(&script);
    let broker = start(&ctx, &teams);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&delete_payments_request("dave"));
    assert!(broker.log_has("giving up"), "{}", broker.log());
    assert_eq!(teams.received().len(), 5, "bounded: five attempts");
    let log = broker.log();
    let line = log.lines().find(|l| l.contains("giving up")).unwrap();
    assert!(line.contains(&format!("request {id}")), "{line}");
    assert!(
        line.contains("can still be decided at http://127.0.0.1:"),
        "{line}"
    );
    assert_eq!(
        broker.decide(&id, &bob, "approve").body["status"],
        "approved"
    );
    // Operators see it in /metrics (the approval's card gave up too).
    let metrics =
        crate::support::web_support::send(&broker, "GET", "/metrics", None, None, None).body;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("gate_channel_errors_total{channel=\"teams\"} ")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );

    // A refusal that retrying cannot fix gives up at once.
    let teams = FakeTeams::start(&[(404, None)]);
    let ctx = TestContext::new();
    let broker = start(&ctx, &teams);
    broker.create(&delete_payments_request("dave"));
    assert!(broker.log_has("Teams answered 404"), "{}", broker.log());
    assert_eq!(teams.received().len(), 1);
}

#[test]
fn break_glass_is_announced() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[]);
    let broker = start(&ctx, &teams);
    let mut new = delete_payments_request("alice");
    new["break_glass_allowed"] = true.into();
    new["break_glass"] = true.into();
    new["reason"] = "outage: payments down".into();
    broker.create(&new);
    let posted = teams.wait_for(1);
    let text = posted[0].to_string();
    assert!(text.contains("BREAK-GLASS"), "{text}");
    assert!(text.contains("outage: payments down"), "{text}");
    assert_card_snapshot!("break_glass_card", &posted[0]);
}

#[test]
fn a_missing_webhook_variable_stops_the_broker_with_the_fix() {
    let ctx = TestContext::new();
    let path = ctx.dir.path().join("broker.toml");
    std::fs::write(&path, broker_config_sre_alice_bob_carol_teams()).unwrap();
    let out = ctx
        .gate()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("environment variable OPS_TEAMS_HOOK is not set"),
        "{}",
        stderr(&out)
    );
}

/// Every kind of card the broker posts is a valid Adaptive Card 1.5, by the
/// official schema; a card with a misspelt element type is not, so the check bites.
#[test]
fn the_cards_validate_against_the_adaptive_card_schema() {
    let ctx = TestContext::new();
    let teams = FakeTeams::start(&[]);
    let broker = start(&ctx, &teams);
    let bob = broker.token("bob");
    let (id, _, _) = broker.create(&rich_request());
    teams.wait_for(1);
    broker.decide(&id, &bob, "approve");
    let mut glass = delete_payments_request("alice");
    glass["break_glass_allowed"] = true.into();
    glass["break_glass"] = true.into();
    glass["reason"] = "outage".into();
    broker.create(&glass);
    let posted = teams.wait_for(3);

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = posted
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let file = dir.path().join(format!("card-{n}.json"));
            std::fs::write(&file, card(body).to_string()).unwrap();
            file
        })
        .collect();
    let (ok, output) = validate(&files);
    assert!(ok, "cards do not validate:\n{output}");
    assert_eq!(output.matches(": valid").count(), 3, "{output}");

    let misspelt = card(&posted[0])
        .to_string()
        .replacen("\"TextBlock\"", "\"TextBlok\"", 1);
    assert!(misspelt.contains("TextBlok"));
    let bad = dir.path().join("misspelt.json");
    std::fs::write(&bad, misspelt).unwrap();
    let (ok, output) = validate(&[bad]);
    assert!(!ok, "a misspelt element type must fail:\n{output}");
    assert!(output.contains("misspelt.json: body"), "{output}");
}

/// Run tests/python/validate_card.py on `files`: (all valid, its output).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let schema = format!("{root}/../shared/schemas/adaptive-card-1.5.json");
    let out = Command::new("python3")
        .arg(format!("{root}/tests/python/validate_card.py"))
        .arg(schema)
        .args(files)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Traceback") || text.contains("misspelt"),
        "the validator crashed (pip install jsonschema?):\n{text}"
    );
    (out.status.success(), text)
}
