//! One Approve / Deny click, already authenticated (a verified HTTP callback or
//! a Socket Mode envelope): find the person behind the Slack user, vote for them
//! through the broker's rules, and explain a refused click to that user alone.

use super::Slack;
use super::blocks::{APPROVE, DENY};
use crate::approval::protocol::Choice;
use crate::approval::protocol::ErrorCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// Act on an interaction `payload` (Slack's JSON). Only `block_actions` on
/// gate's own buttons count; anything else is ignored.
pub async fn handle(slack: Arc<Slack>, payload: Value) {
    if payload["type"] != "block_actions" {
        return;
    }
    let Some(user) = payload["user"]["id"].as_str() else {
        return;
    };
    let channel = payload["channel"]["id"]
        .as_str()
        .unwrap_or(&slack.channel)
        .to_string();
    let actions = payload["actions"].as_array().cloned().unwrap_or_default();
    for action in actions {
        let verdict = match action["action_id"].as_str() {
            Some(APPROVE) => Choice::Approve,
            Some(DENY) => Choice::Deny,
            _ => continue,
        };
        let Some(id) = action["value"].as_str() else {
            continue;
        };
        if let Some(refused) = click(&slack, user, id, verdict).await {
            let body = json!({ "channel": channel, "user": user, "text": refused });
            slack.send("chat.postEphemeral", &body).await;
        }
    }
}

/// Vote for the person behind `user`; the explanation when the vote is refused.
async fn click(slack: &Arc<Slack>, user: &str, id: &str, verdict: Choice) -> Option<String> {
    let config = slack.broker.policy_in_force().config;
    let people = &config.people;
    let Some(person) = people
        .iter()
        .find(|(_, person)| person.slack.as_deref() == Some(user))
        .map(|(name, _)| name.clone())
    else {
        crate::serve_log!("gate serve: slack: click by unknown Slack user {user} on {id} refused");
        return Some(format!(
            "gate does not know your Slack account ({user}), so your click was not counted. Ask the broker's admin to add slack = \"{user}\" to your [people.NAME] entry."
        ));
    };
    match slack.broker.vote(id, &person, verdict, None, "slack").await {
        Ok(_) => None,
        Err(refusal) => {
            crate::serve_log!(
                "gate serve: slack: {person}'s {} on {id} refused: {}",
                verdict.as_str(),
                refusal.message
            );
            let why = match refusal.code {
                ErrorCode::NotAnApprover => "you are not an approver of this request".to_string(),
                ErrorCode::SelfApproval => "nobody can decide their own request".to_string(),
                ErrorCode::AlreadyDecided => refusal.message,
                ErrorCode::AlreadyVoted => "you have already voted on it".to_string(),
                ErrorCode::NotFound => "gate has no such request".to_string(),
                _ => refusal.message,
            };
            Some(format!(
                "Your click on request {id} was not counted: {why}."
            ))
        }
    }
}
