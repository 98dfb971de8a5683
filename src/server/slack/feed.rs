//! Posting and updating Slack messages from the broker's change feed: a new
//! request is posted, a vote or a final decision updates the message in place,
//! and a final decision also gets a thread reply for the requester.
//!
//! One task, one change at a time, so a message is always posted before it is
//! updated and updates land in order.

use super::blocks::{self, Message};
use super::{Posted, REPLY_KEY, Slack};
use crate::approval::protocol::{Status, Vote};
use crate::server::rules::Request;
use crate::server::state::Change;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{broadcast, watch};

pub async fn run(
    slack: Arc<Slack>,
    mut changes: broadcast::Receiver<Change>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let change = tokio::select! {
            change = changes.recv() => change,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match change {
            Ok(change) => slack.on_change(change).await,
            Err(broadcast::error::RecvError::Lagged(missed)) => crate::serve_log!(
                "gate serve: slack: fell {missed} changes behind; some messages may be out of date"
            ),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

impl Slack {
    async fn on_change(&self, change: Change) {
        let after = &change.after;
        let Some(before) = change.before else {
            self.post(after).await;
            return;
        };
        if visible(&before) == visible(after) {
            return; // a claim: nothing a person sees changed
        }
        let id = &after.view.id;
        let Some(shown) = self.posted(id).await else {
            // Its post failed, or another replica is still posting it: that
            // replica draws the request as it stands once the address is stored.
            crate::serve_log!(
                "gate serve: slack: no message stored for request {id}; not updated here"
            );
            return;
        };
        if after.view.version <= shown.version {
            // Already drawn when its post caught up with the store.
            if after.view.status.is_final() {
                self.forget(id);
            }
            return;
        }
        self.update(shown.posted, &before, after).await;
    }

    /// Draw `after` in the posted message; when it is the decision, reply in
    /// the thread too, unless another replica has claimed that reply.
    async fn update(&self, posted: Posted, before: &Request, after: &Request) {
        let id = &after.view.id;
        let message = blocks::render(&after.view, SystemTime::now());
        let mut body = body(&posted.channel, &message);
        body["ts"] = json!(posted.ts);
        self.send("chat.update", &body).await;
        if !after.view.status.is_final() {
            self.drawn(id, after.view.version);
            return;
        }
        self.forget(id);
        if before.view.status.is_final() {
            return;
        }
        match self.broker.claim_message(id, REPLY_KEY, &posted.ts).await {
            Ok(true) => {}
            Ok(false) => return, // another replica replies
            Err(err) => {
                crate::serve_log!(
                    "gate serve: slack: cannot claim the reply to request {id}: {err}; not replying"
                );
                return;
            }
        }
        let config = self.broker.policy_in_force().config;
        let requester = after
            .requester_people
            .iter()
            .filter_map(|name| config.people.get(name))
            .find_map(|person| person.slack.as_deref());
        let reply = json!({
            "channel": posted.channel,
            "thread_ts": posted.ts,
            "text": blocks::thread_reply(&after.view, requester),
        });
        self.send("chat.postMessage", &reply).await;
    }

    /// Post a new request, store where, then catch up with the store: a change
    /// another replica made before the address was stored found no message to
    /// update, so it is drawn here.
    async fn post(&self, request: &Request) {
        let id = &request.view.id;
        let message = blocks::render(&request.view, SystemTime::now());
        let Some(answer) = self
            .send("chat.postMessage", &body(&self.channel, &message))
            .await
        else {
            return;
        };
        let (Some(channel), Some(ts)) = (answer["channel"].as_str(), answer["ts"].as_str()) else {
            crate::serve_log!(
                "gate serve: slack: chat.postMessage answered without channel and ts; request {id} will not be updated"
            );
            return;
        };
        let posted = Posted {
            channel: channel.to_string(),
            ts: ts.to_string(),
        };
        self.remember(request, posted.clone()).await;
        match self.broker.stored(id).await {
            Ok(Some(now)) if visible(&now) != visible(request) => {
                self.update(posted, request, &now).await
            }
            Ok(_) => {}
            Err(refusal) => crate::serve_log!(
                "gate serve: slack: cannot read request {id} back after posting it: {}",
                refusal.message
            ),
        }
    }

    /// Call `method` with the bot token; on failure log one line and go on.
    pub(super) async fn send(&self, method: &str, body: &Value) -> Option<Value> {
        match self.api.call(method, &self.secrets.bot_token, body).await {
            Ok(answer) => Some(answer),
            Err(err) => {
                self.broker.metrics.channel_error("slack");
                crate::serve_log!(
                    "gate serve: {err}; requests stay decidable with gate approve/deny and the other channels"
                );
                None
            }
        }
    }
}

/// What a person sees of a request in its message.
fn visible(request: &Request) -> (Status, &[Vote]) {
    (request.view.status, &request.view.votes)
}

fn body(channel: &str, message: &Message) -> Value {
    json!({
        "channel": channel,
        "text": message.text,
        "blocks": message.blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}
