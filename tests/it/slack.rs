//! The Slack channel end to end: a real `gate -- CMD` waits on a real `gate serve`
//! whose Slack channel talks to a fake Slack Web API on 127.0.0.1; a signed
//! click callback approves it, the message is updated, the command runs.

use crate::support::broker_support::{Broker, serve_command, write_config};
use crate::support::common::*;
use crate::support::fake_slack::{FakeSlack, TS};
use crate::support::fixtures::{POLICY_APPROVE_TOUCH, broker_config_slack_alice_me};
use crate::support::waiting::Waiting;
use hmac::{KeyInit, Mac};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const SIGNING_SECRET: &str = "e2e-signing-secret";

fn signed_click(runtime: &tokio::runtime::Runtime, broker: &str, id: &str) -> u16 {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": "U0ALICE" },
        "channel": { "id": "C0GATE" },
        "actions": [{ "action_id": "gate_approve", "value": id }],
    });
    let body = format!("payload={}", urlencode(&payload.to_string()));
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{broker}/slack/interactions"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", timestamp)
            .header("x-slack-signature", format!("v0={hex}"))
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_slack_click_approves_a_waiting_command() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = FakeSlack::start();
    let ctx = TestContext::with_policy(POLICY_APPROVE_TOUCH);
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-e2e"),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
    ];
    let broker = Broker::start_with_env(&ctx, &broker_config_slack_alice_me(&slack.url()), &env);
    let key = broker.pin_key(&ctx);

    let marker = ctx.work().join("ran");
    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &key)
        .args(["--", "touch", marker.to_str().unwrap()]);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();

    let posted = slack.wait("chat.postMessage", 1);
    assert_eq!(posted["channel"], "C0GATE");
    assert_eq!(
        posted["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["value"],
        id
    );
    assert!(!marker.exists());

    assert_eq!(signed_click(&runtime, &broker.url(), &id), 200);
    let update = slack.wait("chat.update", 1);
    assert_eq!(update["ts"], TS);
    assert!(
        update.to_string().contains("*Approved* by alice via slack"),
        "{update}"
    );
    let done = waiting.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists());
    let record = ctx
        .records()
        .into_iter()
        .find(|r| r["kind"] == "decision")
        .expect("a decision record");
    assert_eq!(
        record["approvers"],
        json!([{ "name": "alice", "channel": "slack" }])
    );
    let reply = slack.wait("chat.postMessage", 2);
    assert_eq!(reply["thread_ts"], TS);
    assert!(!broker.log().contains("xoxb-e2e"));
}

#[test]
fn a_missing_slack_secret_stops_the_broker_with_one_line() {
    let ctx = TestContext::new();
    let config = write_config(
        &ctx,
        &broker_config_slack_alice_me("http://127.0.0.1:9/api"),
    );
    let out = serve_command(&ctx.home(), &config, "127.0.0.1:0")
        .env("SLACK_SIGNING_SECRET", "set")
        .output()
        .unwrap();
    assert_eq!(code(&out), 110, "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("slack: environment variable SLACK_BOT_TOKEN is not set"),
        "{text}"
    );
    assert!(!text.contains("listening"), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
}
