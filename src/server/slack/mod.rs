//! The Slack approval channel: posts each new request to a Slack channel as a
//! Block Kit message with Approve / Deny buttons, turns verified button clicks
//! into votes (`Broker::vote(.., "slack")`), and keeps the message in step with
//! every change (progress, outcome, a thread reply when final).
//!
//! Files: `blocks` (the message), `api` (Slack Web API calls with retries), `verify` (signed HTTP callbacks),
//! `interact` (a click, from HTTP or Socket Mode), `feed` (posting and updating
//! from the broker's change feed), `socket` (Socket Mode); `[channels.slack]`
//! and its secrets are read by `server::config::slack`.
//!
//! Slack being down never blocks a decision: failures are logged once per call
//! and the request stays decidable on every other channel.

pub mod api;
pub mod blocks;
mod feed;
mod interact;
mod socket;
pub mod verify;

use crate::server::config::slack::{Mode, SlackConfig, SlackSecrets};
use crate::server::rules::Request;
use crate::server::state::Broker;
use api::SlackApi;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::watch;
use verify::Verifier;

/// The route Slack posts interactions to (HTTP mode).
pub const INTERACTIONS_PATH: &str = "/slack/interactions";
/// The channel name message addresses are stored under.
const STORE_KEY: &str = "slack";
/// The key under which one replica claims a request's final thread reply.
const REPLY_KEY: &str = "slack-reply";
/// Slack interaction payloads are small; a few KiB of blocks at most.
const BODY_LIMIT: usize = 256 * 1024;

/// The running Slack channel.
#[derive(Debug)]
pub struct Slack {
    channel: String,
    secrets: SlackSecrets,
    api: SlackApi,
    broker: Arc<Broker>,
    verifier: Option<Verifier>,
    /// Messages this replica posted, while their requests are undecided.
    messages: Mutex<Messages>,
}

/// A posted message: its channel id and timestamp (Slack's message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// A message and the request version it last drew.
#[derive(Debug, Clone)]
struct Shown {
    posted: Posted,
    version: u64,
}

/// Request id -> its message, kept from the post until the decision is drawn
/// here. A request decided on another replica is never drawn here, so entries
/// past their request's expiry are swept out as the map grows.
#[derive(Debug, Default)]
struct Messages {
    shown: HashMap<String, (Shown, SystemTime)>,
    /// Sweep when the map reaches this size.
    sweep_at: usize,
}

impl Messages {
    fn insert(&mut self, id: &str, shown: Shown, expires: SystemTime) {
        if self.shown.len() >= self.sweep_at {
            let now = SystemTime::now();
            self.shown.retain(|_, (_, expires)| *expires > now);
            self.sweep_at = (2 * self.shown.len()).max(1024);
        }
        self.shown.insert(id.to_string(), (shown, expires));
    }
}

/// Start the Slack channel for `broker` (its feed, and in socket mode its
/// connection) until `shutdown`; the routes to merge into the broker's router.
pub fn start(
    config: &SlackConfig,
    broker: Arc<Broker>,
    shutdown: watch::Receiver<bool>,
) -> Result<Router, String> {
    let secrets = match &config.secrets {
        Some(secrets) => secrets.clone(),
        None => config.secrets_from(|name| std::env::var(name).ok())?,
    };
    let verifier = match config.mode {
        Mode::Http => secrets.signing_secret.clone().map(Verifier::new),
        Mode::Socket => None,
    };
    let changes = broker.subscribe();
    let slack = Arc::new(Slack {
        channel: config.channel.clone(),
        api: SlackApi::new(&config.api_url)?,
        secrets,
        broker,
        verifier,
        messages: Mutex::new(Messages::default()),
    });
    tokio::spawn(feed::run(slack.clone(), changes, shutdown.clone()));
    if config.mode == Mode::Socket {
        tokio::spawn(socket::run(slack.clone(), shutdown));
        return Ok(Router::new());
    }
    Ok(Router::new()
        .route(INTERACTIONS_PATH, post(interactions))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(slack))
}

/// `POST /slack/interactions`: verify the signature over the raw body before
/// reading it, answer at once, act in a task (Slack wants an answer within 3 s).
async fn interactions(
    State(slack): State<Arc<Slack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let Some(verifier) = &slack.verifier else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let checked = verifier.verify(
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        SystemTime::now(),
    );
    if let Err(rejected) = checked {
        crate::serve_log!(
            "gate serve: slack: refused an interaction callback: {}",
            rejected.as_str()
        );
        return (StatusCode::UNAUTHORIZED, "invalid Slack signature\n").into_response();
    }
    let payload = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(key, _)| key == "payload"))
        .and_then(|(_, payload)| serde_json::from_str(&payload).ok());
    let Some(payload) = payload else {
        return (
            StatusCode::BAD_REQUEST,
            "expected a form field payload= holding JSON\n",
        )
            .into_response();
    };
    tokio::spawn(interact::handle(slack, payload));
    StatusCode::OK.into_response()
}

impl Slack {
    /// Remember where `request` was posted: in memory, and in the broker's
    /// store so a restarted broker or another replica still updates it.
    async fn remember(&self, request: &Request, posted: Posted) {
        let id = &request.view.id;
        let address = format!("{} {}", posted.channel, posted.ts);
        if let Err(err) = self.broker.remember_message(id, STORE_KEY, &address).await {
            crate::serve_log!(
                "gate serve: slack: cannot store where request {id} was posted: {err}"
            );
        }
        let version = request.view.version;
        self.messages.lock().expect("slack messages lock").insert(
            id,
            Shown { posted, version },
            request.expires,
        );
    }

    /// Note that request `id`'s message now shows `version`, if this replica
    /// keeps it.
    fn drawn(&self, id: &str, version: u64) {
        if let Some((shown, _)) = self
            .messages
            .lock()
            .expect("slack messages lock")
            .shown
            .get_mut(id)
        {
            shown.version = version;
        }
    }

    /// Forget request `id`'s message here: it is decided, and nothing a
    /// person sees changes after that.
    fn forget(&self, id: &str) {
        self.messages
            .lock()
            .expect("slack messages lock")
            .shown
            .remove(id);
    }

    /// Where request `id` was posted and the version it shows, from memory or
    /// (version unknown: 0) the broker's store.
    async fn posted(&self, id: &str) -> Option<Shown> {
        let known = self
            .messages
            .lock()
            .expect("slack messages lock")
            .shown
            .get(id)
            .map(|(shown, _)| shown.clone());
        if known.is_some() {
            return known;
        }
        let stored = self.broker.message(id, STORE_KEY).await.ok().flatten()?;
        let (channel, ts) = stored.split_once(' ')?;
        Some(Shown {
            posted: Posted {
                channel: channel.to_string(),
                ts: ts.to_string(),
            },
            version: 0,
        })
    }
}

#[cfg(test)]
mod tests;
