//! Posting and updating Slack messages from the broker's change feed: a new
//! request is posted, a vote or a final decision updates the message in place,
//! and a final decision also gets a thread reply for the requester.
//!
//! One task, one change at a time, so a message is always posted before it is
//! updated and updates land in order.

use super::blocks::{self, Message};
use super::{Posted, Slack};
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
        let visible = |r: &Request| (r.view.status, r.view.votes.clone());
        if visible(&before) == visible(after) {
            return; // a claim: nothing a person sees changed
        }
        let id = &after.view.id;
        let Some(posted) = self.posted(id).await else {
            crate::serve_log!("gate serve: slack: no message known for request {id}; not updated");
            return;
        };
        let message = blocks::render(&after.view, SystemTime::now());
        let mut body = body(&posted.channel, &message);
        body["ts"] = json!(posted.ts);
        self.send("chat.update", &body).await;
        if !before.view.status.is_final() && after.view.status.is_final() {
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
    }

    async fn post(&self, request: &Request) {
        let message = blocks::render(&request.view, SystemTime::now());
        let Some(answer) = self
            .send("chat.postMessage", &body(&self.channel, &message))
            .await
        else {
            return;
        };
        match (answer["channel"].as_str(), answer["ts"].as_str()) {
            (Some(channel), Some(ts)) => {
                let posted = Posted {
                    channel: channel.to_string(),
                    ts: ts.to_string(),
                };
                self.remember(&request.view.id, posted).await;
            }
            _ => crate::serve_log!(
                "gate serve: slack: chat.postMessage answered without channel and ts; request {} will not be updated",
                request.view.id
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

fn body(channel: &str, message: &Message) -> Value {
    json!({
        "channel": channel,
        "text": message.text,
        "blocks": message.blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}
