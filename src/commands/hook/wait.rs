//! Asking the broker within a hook's time budget: create the request (or take up
//! one a previous call left open) and long-poll until it is final or the budget
//! is spent. Unlike `crate::approval::ask_with`, running out of time leaves the
//! request open, so a retried call can pick up the decision; verifying and
//! using an approval stay with the caller and `gate --ticket`.

use crate::approval::protocol::{Created, NewRequest, RequestView, Status};
use crate::approval::status::created_line;
use crate::approval::{BrokerClient, Channel, ClientError};
use std::time::{Duration, SystemTime};

/// How long one long-poll waits at the broker.
const POLL: Duration = Duration::from_secs(25);
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Slack past `expires_at` for the broker to report the timeout itself.
const EXPIRY_GRACE: Duration = Duration::from_secs(2);

/// Where the request stands when the hook must answer.
#[derive(Debug)]
pub enum Waited {
    Final(Box<RequestView>),
    /// No decision within the budget; the request stays open.
    Open {
        id: String,
    },
}

/// Why the broker could not be asked.
#[derive(Debug)]
pub enum WaitError {
    Broker(ClientError),
    Setup(std::io::Error),
    /// The caller could not keep the request for a retry.
    Keep(String),
}

/// Create `request`, hand it to `keep` (before waiting, so even a killed hook's
/// retry finds it), then wait until `until`.
pub fn create(
    channel: &Channel,
    request: &NewRequest,
    until: SystemTime,
    keep: impl FnOnce(&Created) -> Result<(), String>,
) -> Result<Waited, WaitError> {
    let client = client(channel)?;
    runtime()?.block_on(async {
        let env = crate::approval::id_token::process_environment();
        let request = NewRequest {
            id_token: crate::approval::id_token::acquire(&channel.url, &env).await,
            ..request.clone()
        };
        let created = client.create(&request).await.map_err(WaitError::Broker)?;
        keep(&created).map_err(WaitError::Keep)?;
        eprintln!("{}", created_line(&created.request));
        watch(&client, created.request, &created.requester_token, until).await
    })
}

/// Wait on a request made earlier, with its token.
pub fn resume(
    channel: &Channel,
    id: &str,
    token: &str,
    until: SystemTime,
) -> Result<Waited, WaitError> {
    let client = client(channel)?;
    runtime()?.block_on(async {
        let view = client
            .get(id, token, None, None)
            .await
            .map_err(WaitError::Broker)?;
        if !view.status.is_final() {
            eprintln!(
                "gate: still waiting for a decision on request {}; approve at {}",
                view.id, view.url
            );
        }
        watch(&client, view, token, until).await
    })
}

fn client(channel: &Channel) -> Result<BrokerClient, WaitError> {
    Ok(BrokerClient::of(&channel.url)
        .map_err(WaitError::Broker)?
        .signed_by(channel.installation.clone()))
}

fn runtime() -> Result<tokio::runtime::Runtime, WaitError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(WaitError::Setup)
}

async fn watch(
    client: &BrokerClient,
    mut view: RequestView,
    token: &str,
    until: SystemTime,
) -> Result<Waited, WaitError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if view.status.is_final() {
            return Ok(Waited::Final(Box::new(view)));
        }
        let expires =
            humantime::parse_rfc3339_weak(&view.expires_at).map_or(until, |at| at + EXPIRY_GRACE);
        let now = SystemTime::now();
        let Ok(left) = until.min(expires).duration_since(now) else {
            if expires <= now {
                // The broker has not said so yet, but the request is over.
                view.status = Status::TimedOut;
                return Ok(Waited::Final(Box::new(view)));
            }
            return Ok(Waited::Open { id: view.id });
        };
        let wait = POLL.min(left).max(Duration::from_secs(1));
        match client
            .get(&view.id, token, Some(wait), Some(view.version))
            .await
        {
            Ok(next) => {
                backoff = FIRST_BACKOFF;
                view = next;
            }
            Err(err) if err.is_unreachable() || err.status().is_some_and(|s| s >= 500) => {
                tokio::time::sleep(backoff.min(left)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(err) => return Err(WaitError::Broker(err)),
        }
    }
}
