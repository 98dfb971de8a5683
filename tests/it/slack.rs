//! The Slack channel end to end: a real `gate -- CMD` waits on a real `gate serve`
//! whose Slack channel talks to a fake Slack Web API on 127.0.0.1; a signed
//! click callback approves it, the message is updated, the command runs.

use crate::support::broker_support::{Broker, serve_command, write_config};
use crate::support::common::*;
use crate::support::fixtures::{POLICY_APPROVE_TOUCH, broker_config_slack_alice_me};
use crate::support::waiting::Waiting;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIGNING_SECRET: &str = "e2e-signing-secret";

/// Calls the fake Slack received: (method, JSON body), with a signal per call.
#[derive(Default)]
struct Calls {
    list: Mutex<Vec<(String, Value)>>,
    grew: Condvar,
}

impl Calls {
    /// Wait (up to 10 s) for the `n`th call of `method`; its body.
    fn wait(&self, method: &str, n: usize) -> Value {
        let list = self.list.lock().unwrap();
        let (list, _) = self
            .grew
            .wait_timeout_while(list, Duration::from_secs(10), |list| {
                list.iter().filter(|(m, _)| m == method).count() < n
            })
            .unwrap();
        let found: Vec<&Value> = list
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b)
            .collect();
        assert!(
            found.len() >= n,
            "{method} called {} times: {list:#?}",
            found.len()
        );
        found[n - 1].clone()
    }
}

/// A fake Slack Web API on its own runtime; its base URL.
fn fake_slack(runtime: &tokio::runtime::Runtime, calls: Arc<Calls>) -> String {
    async fn answer(
        State(calls): State<Arc<Calls>>,
        Path(method): Path<String>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let channel = body["channel"].clone();
        let mut list = calls.list.lock().unwrap();
        list.push((method, body));
        calls.grew.notify_all();
        Json(json!({ "ok": true, "channel": channel, "ts": "1700000000.000100" }))
    }
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/api/{method}", post(answer))
        .with_state(calls);
    runtime.spawn(async move { axum::serve(listener, app).await });
    url
}

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
    let calls = Arc::new(Calls::default());
    let api_url = fake_slack(&runtime, calls.clone());
    let ctx = TestContext::with_policy(POLICY_APPROVE_TOUCH);
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-e2e"),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
    ];
    let broker = Broker::start_with_env(&ctx, &broker_config_slack_alice_me(&api_url), &env);
    let key = broker.pin_key(&ctx);

    let marker = ctx.work().join("ran");
    let mut command = ctx.gate();
    command
        .env("GATE_SERVER", broker.url())
        .env("GATE_SERVER_KEY", &key)
        .args(["--", "touch", marker.to_str().unwrap()]);
    let mut waiting = Waiting::spawn(command);
    let id = waiting.expect_request_id();

    let posted = calls.wait("chat.postMessage", 1);
    assert_eq!(posted["channel"], "C0GATE");
    assert_eq!(
        posted["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["value"],
        id
    );
    assert!(!marker.exists());

    assert_eq!(signed_click(&runtime, &broker.url(), &id), 200);
    let update = calls.wait("chat.update", 1);
    assert_eq!(update["ts"], "1700000000.000100");
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
    let reply = calls.wait("chat.postMessage", 2);
    assert_eq!(reply["thread_ts"], "1700000000.000100");
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
