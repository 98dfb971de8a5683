//! Socket Mode: the broker opens one WebSocket to Slack (URL from
//! `apps.connections.open`, app-level token) and receives clicks over it, so it
//! needs no public URL. Every envelope is acknowledged; `interactive` ones are
//! handled exactly like a verified HTTP callback (the socket itself is
//! authenticated by the app token). Reconnects when Slack asks (`disconnect`)
//! and, with backoff, when the connection drops.

use super::{Slack, interact};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const LONGEST_BACKOFF: Duration = Duration::from_secs(60);

/// How a connection ended.
enum Ended {
    /// Slack asked for a reconnect (`disconnect`): reconnect at once.
    Asked,
    /// It failed or dropped: reconnect after the backoff.
    Failed(String),
}

/// Hold one Socket Mode connection until `shutdown`.
pub async fn run(slack: Arc<Slack>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let ended = tokio::select! {
            ended = session(&slack) => ended,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match ended {
            Ended::Asked => backoff = FIRST_BACKOFF,
            Ended::Failed(why) => {
                crate::serve_log!(
                    "gate serve: slack: socket mode connection lost ({why}); retrying in {}ms",
                    backoff.as_millis()
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
            }
        }
    }
}

async fn session(slack: &Arc<Slack>) -> Ended {
    let Some(app_token) = &slack.secrets.app_token else {
        return Ended::Failed("no app-level token".into());
    };
    let opened = slack
        .api
        .call("apps.connections.open", app_token, &json!({}))
        .await;
    let url = match opened {
        Ok(answer) => match answer["url"].as_str() {
            Some(url) => url.to_string(),
            None => return Ended::Failed("apps.connections.open gave no url".into()),
        },
        Err(err) => return Ended::Failed(err.to_string()),
    };
    let mut socket = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((socket, _)) => socket,
        Err(err) => return Ended::Failed(format!("cannot connect: {err}")),
    };
    crate::serve_log!("gate serve: slack: socket mode connected");
    while let Some(message) = socket.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) => return Ended::Failed("closed by Slack".into()),
            Ok(_) => continue,
            Err(err) => return Ended::Failed(err.to_string()),
        };
        let Ok(envelope) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if let Some(id) = envelope["envelope_id"].as_str() {
            let ack = json!({ "envelope_id": id }).to_string();
            if let Err(err) = socket.send(Message::text(ack)).await {
                return Ended::Failed(format!("cannot acknowledge: {err}"));
            }
        }
        match envelope["type"].as_str() {
            Some("disconnect") => {
                let _ = socket.close(None).await;
                return Ended::Asked;
            }
            Some("interactive") => {
                tokio::spawn(interact::handle(slack.clone(), envelope["payload"].clone()));
            }
            _ => {}
        }
    }
    Ended::Failed("connection dropped".into())
}
