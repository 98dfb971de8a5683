//! Slack failing: rate limits and server errors are retried (bounded), a
//! permanent `ok:false` is logged and given up, and requests stay decidable.

use super::*;
use crate::approval::protocol::Status;
use crate::server::config::slack::Secret;
use crate::server::slack::api::SlackApi;

fn scripted(status: u16, retry_after: Option<u64>, body: Value) -> Scripted {
    Scripted {
        status,
        retry_after,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_retried() {
    let slack = FakeSlack::start().await;
    slack.script(
        "chat.postMessage",
        vec![
            scripted(429, Some(1), json!({ "ok": false, "error": "ratelimited" })),
            scripted(503, None, json!({})),
            scripted(200, None, json!({ "ok": false, "error": "internal_error" })),
        ],
    );
    let h = Harness::with_slack(slack, "http").await;
    let started = std::time::Instant::now();
    let (view, _) = h.create("carol", &["terraform", "apply"], 1).await;
    let calls = h.slack.wait_for("chat.postMessage", 4).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(calls.iter().all(|c| c.body == calls[0].body));
    // The fourth attempt succeeded, so the message is known and gets updated.
    assert_eq!(h.click("U0ALICE", "gate_approve", &view.id).await, 200);
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert_eq!(update.body["ts"], "1700000000.000004");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded() {
    let slack = FakeSlack::start().await;
    let api = SlackApi::new(&slack.url).unwrap();
    slack.script("chat.update", vec![scripted(500, None, json!({})); 6]);
    let err = api
        .call("chat.update", &Secret::new(BOT_TOKEN), &json!({}))
        .await
        .unwrap_err();
    assert_eq!(slack.calls("chat.update").len(), 4);
    assert!(
        err.to_string().contains("gave up after 4 attempts"),
        "{err}"
    );
    assert!(!err.to_string().contains(BOT_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_not_retried_and_the_request_stays_decidable() {
    let slack = FakeSlack::start().await;
    slack.script(
        "chat.postMessage",
        vec![scripted(
            200,
            None,
            json!({ "ok": false, "error": "channel_not_found" }),
        )],
    );
    let h = Harness::with_slack(slack, "http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    // A click still decides; with no message to update, nothing else is sent.
    assert_eq!(h.click("U0ALICE", "gate_approve", &view.id).await, 200);
    let wait = Some(Duration::from_secs(10));
    let decided = h
        .client
        .get(&view.id, &token, wait, Some(view.version))
        .await
        .unwrap();
    assert_eq!(decided.status, Status::Approved);
    assert_eq!(h.slack.calls("chat.postMessage").len(), 1);
    assert!(h.slack.calls("chat.update").is_empty());
}
