//! Talking to the broker off the UI thread. The feed thread long-polls the pending
//! list and sends every answer (or failure) down a channel, so new requests appear
//! without a key press; each decision runs on its own short-lived thread and reports
//! back the same way. The UI thread never waits on the network.
//!
//! Each thread runs a current-thread tokio runtime. Threads end when the UI has
//! gone (the channel's receiver is dropped) or, for the feed, with the process.

use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, RequestList, RequestView};
use crate::approval::summary;
use crate::approval::{BrokerClient, ClientError};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How long one long-poll of the pending list may wait at the broker.
const LONG_POLL: Duration = Duration::from_secs(25);

/// Pause before polling again after a failure.
const RETRY: Duration = Duration::from_secs(2);

/// What the background threads tell the UI.
#[derive(Debug)]
pub enum Update {
    List(RequestList),
    FeedFailed(String),
    Decided {
        verdict: Choice,
        result: Result<Box<RequestView>, String>,
    },
}

/// The approver's credentials and broker, shared by the threads. The token is never
/// shown (`Debug` hides it).
#[derive(Clone)]
pub struct Broker {
    pub client: BrokerClient,
    pub token: String,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("server", &self.client.base())
            .field("token", &"****")
            .finish()
    }
}

/// Start the feed thread.
pub fn spawn_feed(broker: Broker, updates: Sender<Update>) {
    std::thread::spawn(move || {
        let runtime = runtime();
        let mut since = None;
        loop {
            let answer =
                runtime.block_on(broker.client.pending(&broker.token, Some(LONG_POLL), since));
            let update = match answer {
                Ok(list) => {
                    // A first answer comes at once; later ones when something changed.
                    since = Some(list.version);
                    Update::List(list)
                }
                Err(err) => Update::FeedFailed(describe(&err)),
            };
            let failed = matches!(update, Update::FeedFailed(_));
            if updates.send(update).is_err() {
                return;
            }
            if failed {
                // The next success must bring the whole list, whatever changed meanwhile.
                since = None;
                std::thread::sleep(RETRY);
            }
        }
    });
}

/// Send one decision on its own thread; the answer arrives as [`Update::Decided`].
pub fn spawn_decision(
    broker: Broker,
    id: String,
    verdict: Choice,
    reason: Option<String>,
    updates: Sender<Update>,
) {
    std::thread::spawn(move || {
        let answer =
            runtime().block_on(
                broker
                    .client
                    .decide(&id, &broker.token, verdict, reason, "inbox"),
            );
        let result = answer.map(Box::new).map_err(|err| match err {
            ClientError::Api { .. } => summary::refusal(&err, &id),
            _ => err.to_string(),
        });
        let _ = updates.send(Update::Decided { verdict, result });
    });
}

fn describe(err: &ClientError) -> String {
    match err {
        ClientError::Unreachable { detail, .. } => format!("broker unreachable: {detail}"),
        ClientError::Api { .. } if err.code() == Some(ErrorCode::Unauthorized) => {
            summary::refusal(err, "")
        }
        _ => err.to_string(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds")
}
