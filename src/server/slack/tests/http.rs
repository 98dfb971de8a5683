//! Posting, updating and clicking over HTTP interactions.

use super::*;
use crate::approval::protocol::Status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_is_posted_as_block_kit() {
    let h = Harness::start("http").await;
    let (view, _) = h
        .create("carol", &["kubectl", "delete", "ns", "payments"], 2)
        .await;
    let call = h.slack.wait_for("chat.postMessage", 1).await.remove(0);
    assert_eq!(call.authorization, format!("Bearer {BOT_TOKEN}"));
    insta::with_settings!({filters => vec![
        (view.id.as_str(), "[ID]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"<!date\^\d+\^", "<!date^[UNIX]^"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"in \d+m \d\ds", "in [LEFT]"),
    ]}, {
        insta::assert_snapshot!(serde_json::to_string_pretty(&call.body).unwrap());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_update_the_message_and_the_outcome_replies_in_its_thread() {
    let h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 2).await;
    let posted = h.slack.wait_for("chat.postMessage", 1).await.remove(0);
    assert_eq!(block_types(&posted.body).last().unwrap(), "actions");

    assert_eq!(h.click("U0ALICE", "gate_approve", &view.id).await, 200);
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert_eq!(update.body["channel"], "C0GATE");
    assert_eq!(update.body["ts"], "1700000000.000001");
    let text = all_text(&update.body);
    assert!(
        text.contains("*Approvals:* 1 of 2 — alice (slack)"),
        "{text}"
    );
    assert_eq!(block_types(&update.body).last().unwrap(), "actions");
    assert_eq!(h.view(&view.id, &token).await.status, Status::Pending);

    assert_eq!(h.click("U0BOB", "gate_approve", &view.id).await, 200);
    let update = h.slack.wait_for("chat.update", 2).await.remove(1);
    let types = block_types(&update.body);
    assert!(!types.contains(&"actions".to_string()), "{types:?}");
    let text = all_text(&update.body);
    assert!(
        text.contains("*Approved* by alice via slack, bob via slack"),
        "{text}"
    );
    assert!(text.contains("Approved: terraform apply"), "{text}");

    let reply = h.slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert_eq!(reply.body["thread_ts"], "1700000000.000001");
    assert_eq!(reply.body["channel"], "C0GATE");
    let reply = reply.body["text"].as_str().unwrap();
    assert!(
        reply.starts_with("<@U0CAROL>: :white_check_mark: *Approved*"),
        "{reply}"
    );

    let decided = h.view(&view.id, &token).await;
    assert_eq!(decided.status, Status::Approved);
    let channels: Vec<&str> = decided.votes.iter().map(|v| v.channel.as_str()).collect();
    assert_eq!(channels, ["slack", "slack"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_click_ends_the_request() {
    let h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 2).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    assert_eq!(h.click("U0BOB", "gate_deny", &view.id).await, 200);
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert!(all_text(&update.body).contains("*Denied* by bob via slack"));
    let reply = h.slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert!(reply.body["text"].as_str().unwrap().contains("*Denied*"));
    assert_eq!(h.view(&view.id, &token).await.status, Status::Denied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_clicks_get_an_ephemeral_explanation() {
    let h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    let cases = [
        ("U0NOBODY", "does not know your Slack account (U0NOBODY)"),
        ("U0CAROL", "nobody can decide their own request"),
        ("U0DAVE", "you are not an approver of this request"),
    ];
    for (n, (user, expected)) in cases.iter().enumerate() {
        assert_eq!(h.click(user, "gate_approve", &view.id).await, 200);
        let call = h
            .slack
            .wait_for("chat.postEphemeral", n + 1)
            .await
            .remove(n);
        assert_eq!(call.body["user"], *user);
        assert_eq!(call.body["channel"], "C0GATE");
        let text = call.body["text"].as_str().unwrap();
        assert!(text.contains(expected), "{text}");
    }
    assert_eq!(h.view(&view.id, &token).await.status, Status::Pending);
    assert!(h.slack.calls("chat.update").is_empty());

    assert_eq!(h.click("U0ALICE", "gate_approve", &view.id).await, 200);
    h.slack.wait_for("chat.update", 1).await;
    assert_eq!(h.click("U0BOB", "gate_deny", &view.id).await, 200);
    let call = h.slack.wait_for("chat.postEphemeral", 4).await.remove(3);
    assert_eq!(call.body["user"], "U0BOB");
    let text = call.body["text"].as_str().unwrap();
    assert!(text.contains("the request is already approved"), "{text}");
    assert_eq!(h.view(&view.id, &token).await.status, Status::Approved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_future_and_replayed_callbacks_are_refused() {
    let h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    let body = form(&click_payload("U0ALICE", "gate_approve", &view.id));
    let at = |offset: i64| (now() as i64 + offset).to_string();

    let forged = sign("not-the-secret", &at(0), &body);
    assert_eq!(
        h.post_interaction(&body, Some(&at(0)), Some(&forged)).await,
        401
    );
    // Well outside the window, so a second ticking over mid-test cannot bring one back in
    // (the exact boundary is tested in verify.rs with a fixed clock).
    for stale in [at(-400), at(400)] {
        let signature = sign(SIGNING_SECRET, &stale, &body);
        assert_eq!(
            h.post_interaction(&body, Some(&stale), Some(&signature))
                .await,
            401
        );
    }
    assert_eq!(h.post_interaction(&body, None, None).await, 401);
    let tampered = body.replace("U0ALICE", "U0BOB");
    let signature = sign(SIGNING_SECRET, &at(0), &body);
    assert_eq!(
        h.post_interaction(&tampered, Some(&at(0)), Some(&signature))
            .await,
        401
    );
    assert_eq!(h.view(&view.id, &token).await.status, Status::Pending);

    // The genuine callback counts once; the same signature again is a replay.
    let timestamp = at(0);
    let signature = sign(SIGNING_SECRET, &timestamp, &body);
    assert_eq!(
        h.post_interaction(&body, Some(&timestamp), Some(&signature))
            .await,
        200
    );
    assert_eq!(
        h.post_interaction(&body, Some(&timestamp), Some(&signature))
            .await,
        401
    );
    h.slack.wait_for("chat.update", 1).await;
    let decided = h.view(&view.id, &token).await;
    assert_eq!(decided.status, Status::Approved);
    assert_eq!(decided.votes.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_glass_request_is_announced_without_buttons() {
    let h = Harness::start("http").await;
    let mut new = request("carol", &["systemctl", "restart", "db"], 1);
    new.break_glass_allowed = true;
    new.break_glass = true;
    new.reason = Some("database down, pager storm".into());
    h.client.create(&new).await.unwrap();
    let call = h.slack.wait_for("chat.postMessage", 1).await.remove(0);
    let types = block_types(&call.body);
    assert!(!types.contains(&"actions".to_string()), "{types:?}");
    let text = all_text(&call.body);
    assert!(text.contains("Break-glass: systemctl restart db"), "{text}");
    assert!(
        text.contains("*Break-glass*: carol ran this under their own approval"),
        "{text}"
    );
    assert!(text.contains("database down, pager storm"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_broker_still_updates_the_message_it_posted() {
    let mut h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    h.restart().await;
    assert_eq!(h.click("U0ALICE", "gate_approve", &view.id).await, 200);
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert_eq!(update.body["channel"], "C0GATE");
    assert_eq!(update.body["ts"], "1700000000.000001");
    let reply = h.slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert_eq!(reply.body["thread_ts"], "1700000000.000001");
    assert_eq!(h.view(&view.id, &token).await.status, Status::Approved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_loses_its_buttons() {
    let h = Harness::start("http").await;
    let (view, token) = h.create("carol", &["terraform", "apply"], 1).await;
    h.slack.wait_for("chat.postMessage", 1).await;
    h.client.cancel(&view.id, &token).await.unwrap();
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert!(!block_types(&update.body).contains(&"actions".to_string()));
    assert!(all_text(&update.body).contains("*Cancelled* by the requester"));
    let reply = h.slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert!(reply.body["text"].as_str().unwrap().contains("*Cancelled*"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_says_so_in_place_and_in_its_thread() {
    let h = Harness::start("http").await;
    let mut new = request("carol", &["terraform", "apply"], 1);
    new.timeout_seconds = 1;
    h.client.create(&new).await.unwrap();
    h.slack.wait_for("chat.postMessage", 1).await;
    let update = h.slack.wait_for("chat.update", 1).await.remove(0);
    assert!(all_text(&update.body).contains("*Timed out*: nobody decided in time"));
    assert!(!block_types(&update.body).contains(&"actions".to_string()));
    let reply = h.slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert!(
        reply.body["text"]
            .as_str()
            .unwrap()
            .starts_with("<@U0CAROL>: :hourglass:")
    );
}
