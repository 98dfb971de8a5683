//! The whole flow through Teams and the web page: `gate -- CMD` asks the real
//! broker, the Teams card links to the approval page, a person signs in there and
//! approves, the command runs, and Teams hears the outcome.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fake_teams::FakeTeams;
use crate::support::fixtures::{POLICY_APPROVE_TOUCH, broker_config_sre_alice_bob_teams};
use crate::support::waiting::Waiting;
use crate::support::web_support::{csrf, send, sign_in};

#[test]
fn a_card_in_teams_leads_to_the_page_where_an_approval_runs_the_command() {
    let ctx = TestContext::with_policy(POLICY_APPROVE_TOUCH);
    let teams = FakeTeams::start(&[]);
    let broker = Broker::start_with_env(
        &ctx,
        &broker_config_sre_alice_bob_teams(),
        &[("TEAMS_WEBHOOK_URL", &teams.url())],
    );
    let key = broker.pin_key(&ctx);
    let marker = ctx.work().join("ran");

    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &key)
        .args(["--reason", "deploy OPS-9", "--", "touch"])
        .arg(&marker);
    let mut waiting = Waiting::spawn(command);
    waiting.expect_line("approval requested");

    let card = &teams.wait_for(1)[0]["attachments"][0]["content"];
    assert!(card.to_string().contains("deploy OPS-9"), "{card}");
    let link = card["actions"][0]["url"].as_str().unwrap();
    let path = link
        .strip_prefix(&broker.url())
        .expect("a link to this broker");
    let id = path.strip_prefix("/r/").unwrap();

    let alice = broker.token("alice");
    let cookie = sign_in(&broker, id, &alice);
    let page = send(&broker, "GET", path, Some(&cookie), None, None);
    assert!(page.body.contains("touch"), "{}", page.body);
    let form = [
        ("verdict", "approve"),
        ("reason", "looks right"),
        ("csrf", &csrf(&page)),
    ];
    let origin = broker.url();
    let decided = send(
        &broker,
        "POST",
        &format!("{path}/decision"),
        Some(&cookie),
        Some(&form),
        Some(&origin),
    );
    assert_eq!(decided.status, 303, "{}", decided.body);

    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists(), "the approved command ran");
    let record = ctx
        .records()
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "decision")
        .expect("a decision record");
    assert_eq!(record["decision"], "approved");
    assert_eq!(
        record["approvers"],
        serde_json::json!([{"name": "alice", "channel": "web"}])
    );

    let outcome = teams.wait_for(2)[1].to_string();
    assert!(outcome.contains("Approved by alice"), "{outcome}");
    assert!(outcome.contains("looks right"), "{outcome}");
}
