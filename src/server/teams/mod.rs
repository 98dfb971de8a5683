//! Microsoft Teams: the broker announces requests in a channel through a Teams
//! Workflows webhook ("Post to a channel when a webhook request is received").
//! A new request gets a card with its context and a link to the approval page;
//! its outcome gets a follow-up card; break-glass gets an announcement.
//!
//! Teams is a notice board here, never an authority: nobody decides in Teams, the
//! card links to the web page where an approver signs in. A Teams outage never
//! blocks a request. Files: `card` (the Adaptive Cards, pure), `webhook` (posting
//! with retries); `[channels.teams]` is read by `server::config::teams`.

mod card;
mod webhook;

pub use card::{break_glass_card, message, outcome_card, request_card};

use super::state::{Broker, Change};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::broadcast::error::RecvError;
use webhook::Webhook;

/// Start posting the broker's changes to Teams, when `[channels.teams]` is set.
/// Fails (before the broker serves) when the webhook URL variable is missing.
pub fn start(broker: &Arc<Broker>) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(config) = broker.config.channels.teams.clone() else {
        return Ok(None);
    };
    let url = config.webhook(|name| std::env::var(name).ok())?;
    let webhook = Webhook::new(url, config.timeout)?;
    crate::serve_log!(
        "gate serve: teams: posting requests to {} (from {})",
        webhook.host(),
        config.webhook_url_env
    );
    let changes = broker.subscribe();
    Ok(Some(tokio::spawn(run(webhook, changes, broker.clone()))))
}

/// Post each change in order; one message at a time keeps a request's cards in order.
async fn run(
    webhook: Webhook,
    mut changes: tokio::sync::broadcast::Receiver<Change>,
    broker: Arc<Broker>,
) {
    loop {
        match changes.recv().await {
            Ok(change) => {
                if let Some((body, what, fallback)) = post_for(&change)
                    && !webhook.post(&body, &what, &fallback).await
                {
                    broker.metrics.channel_error("teams");
                }
            }
            Err(RecvError::Lagged(missed)) => {
                crate::serve_log!("gate serve: teams: fell behind and skipped {missed} changes");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The message a change calls for, what to call it in the log, and where the
/// request can be decided if Teams fails; `None` for changes Teams does not show.
fn post_for(change: &Change) -> Option<(serde_json::Value, String, String)> {
    let view = &change.after.view;
    let fallback = format!("the request can still be decided at {}", view.url);
    match &change.before {
        None if view.break_glass => Some((
            message(break_glass_card(view)),
            format!("the break-glass announcement for request {}", view.id),
            "see the broker log".to_string(),
        )),
        None => Some((
            message(request_card(view, SystemTime::now())),
            format!("the card for request {}", view.id),
            fallback,
        )),
        Some(before) if !before.view.status.is_final() && view.status.is_final() => Some((
            message(outcome_card(view)),
            format!("the outcome of request {}", view.id),
            "the outcome is on the approval page".to_string(),
        )),
        Some(_) => None,
    }
}
