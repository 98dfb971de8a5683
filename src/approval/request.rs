//! Asking the broker for a decision and waiting for it: create the request,
//! long-poll until it is final (riding out a lost broker until the request's own
//! expiry), cancel it on SIGINT/SIGTERM/SIGHUP, and check an approval — signature
//! with the pinned key, this request, this exact action, not expired — before
//! claiming it, so it is used once.
//!
//! Runs on a current-thread tokio runtime built here, only on the approval path;
//! an allowed or denied command never starts one. Never runs anything and never
//! writes the audit log: the caller records what [`Answer`] says.

use super::brokers::Brokers;
use super::channel::Channel;
use super::client::{BrokerClient, ClientError};
use super::decision::{DecisionPayload, SignedDecision};
use super::protocol::{Created, NewRequest, RequestView, Status};
use super::status::StatusDisplay;
use crate::approval::protocol::ErrorCode;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long one long-poll waits at the broker.
const POLL: Duration = Duration::from_secs(25);
/// First pause after losing the broker (every replica named); doubled up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long a cancel may take before gate exits anyway.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(3);
/// Slack past `expires_at` for the broker to report the timeout itself.
const EXPIRY_GRACE: Duration = Duration::from_secs(2);

/// How asking ended.
#[derive(Debug)]
pub enum Answer {
    /// Verified and claimed: the command may run, once.
    Approved {
        request_id: String,
        payload: Box<DecisionPayload>,
        signed: SignedDecision,
    },
    Denied(Box<RequestView>),
    TimedOut {
        request_id: String,
    },
    /// The requester interrupted (or the broker reports the request cancelled).
    Cancelled {
        request_id: String,
        signal: Option<&'static str>,
    },
    /// An approval came back that gate will not act on.
    Invalid {
        request_id: String,
        reason: String,
    },
}

/// Why no request could be made.
#[derive(Debug)]
pub enum AskError {
    /// The broker could not be reached, or refused the request.
    Broker(ClientError),
    /// The async runtime or signal handlers could not be set up.
    Setup(std::io::Error),
}

/// Ask the channel's broker about `request` and wait for the answer; an approval
/// is verified and claimed (used up) before this returns.
pub fn ask(
    channel: &Channel,
    request: &NewRequest,
    display: &mut StatusDisplay,
) -> Result<Answer, AskError> {
    let options = AskOptions {
        claim: true,
        give_up_after: None,
    };
    ask_with(channel, request, display, options).map(|(answer, _)| answer)
}

/// How a requester waits, beyond the defaults of [`ask`].
#[derive(Debug, Clone, Copy)]
pub struct AskOptions {
    /// Claim a verified approval here. `false` leaves it for whoever holds the
    /// returned token to claim later (`gate --ticket`), once, when it runs.
    pub claim: bool,
    /// Stop waiting (cancelling the request) after this long, even when the
    /// broker would wait longer.
    pub give_up_after: Option<Duration>,
}

/// The `signal` of [`Answer::Cancelled`] when the cancel flag of
/// [`ask_until_cancelled`] stopped the wait.
pub const CANCELLED_BY_CLIENT: &str = "cancelled by the client";

/// The requester token of a request: proves the right to read, cancel and claim
/// it. Never printed; `Debug` shows `****`.
pub struct RequesterToken(pub String);

impl std::fmt::Debug for RequesterToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequesterToken(****)")
    }
}

/// [`ask`] with options; also returns the request's token once it was created.
pub fn ask_with(
    channel: &Channel,
    request: &NewRequest,
    display: &mut StatusDisplay,
    options: AskOptions,
) -> Result<(Answer, RequesterToken), AskError> {
    ask_stopping_on(channel, request, display, options, None)
}

/// [`ask`], but the wait stops (cancelling the request) when `cancel` is set
/// rather than on SIGINT/SIGTERM/SIGHUP: for a process that waits for several
/// requests at once (`gate mcp proxy`), whose signals are not one request's.
pub fn ask_until_cancelled(
    channel: &Channel,
    request: &NewRequest,
    display: &mut StatusDisplay,
    cancel: Arc<AtomicBool>,
) -> Result<Answer, AskError> {
    let options = AskOptions {
        claim: true,
        give_up_after: None,
    };
    ask_stopping_on(channel, request, display, options, Some(cancel)).map(|(answer, _)| answer)
}

fn ask_stopping_on(
    channel: &Channel,
    request: &NewRequest,
    display: &mut StatusDisplay,
    options: AskOptions,
    cancel: Option<Arc<AtomicBool>>,
) -> Result<(Answer, RequesterToken), AskError> {
    let client = BrokerClient::of(&channel.url)
        .map_err(AskError::Broker)?
        .signed_by(channel.installation.clone());
    let runtime = runtime()?;
    runtime.block_on(async {
        // Before the request exists, so a signal during creation is not lost.
        let mut interrupts = Interrupts::install(cancel).map_err(AskError::Setup)?;
        let request = with_id_token(request, &channel.url).await;
        let in_use = client.base().to_string();
        let created = client.create(&request).await.map_err(AskError::Broker)?;
        let token = RequesterToken(created.requester_token.clone());
        let mut ticks = tokio::time::interval(display.tick_every());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut waiting = Waiting {
            client: &client,
            channel,
            display,
            interrupts: &mut interrupts,
            ticks,
            expected_digest: &request.action_digest,
            claim: options.claim,
            give_up: options.give_up_after.map(|after| SystemTime::now() + after),
            in_use,
        };
        Ok((waiting.wait(created).await, token))
    })
}

/// Use an approval granted earlier to a request this process did not wait for
/// (`gate --ticket`): read the request with its token, verify the signed decision
/// against `expected_digest` (this process's own digest of what it is about to
/// run), and claim it. Anything but a fresh, matching approval is not `Approved`.
pub fn redeem(
    channel: &Channel,
    request_id: &str,
    token: &RequesterToken,
    expected_digest: &str,
) -> Result<Answer, AskError> {
    let client = BrokerClient::of(&channel.url)
        .map_err(AskError::Broker)?
        .signed_by(channel.installation.clone());
    runtime()?.block_on(async {
        let view = client
            .get(request_id, &token.0, None, None)
            .await
            .map_err(AskError::Broker)?;
        if view.status == Status::Pending {
            return Ok(Answer::Invalid {
                request_id: view.id,
                reason: "the request has no decision yet".to_string(),
            });
        }
        Ok(conclude(&client, channel, expected_digest, view, &token.0, true).await)
    })
}

/// `request` with the CI job's ID token, when it has one, for the broker to
/// verify. Only requests that go to a broker carry one.
async fn with_id_token(request: &NewRequest, broker: &Brokers) -> NewRequest {
    let env = super::id_token::process_environment();
    NewRequest {
        id_token: super::id_token::acquire(broker, &env).await,
        ..request.clone()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AskError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AskError::Setup)
}

struct Waiting<'a> {
    client: &'a BrokerClient,
    channel: &'a Channel,
    display: &'a mut StatusDisplay,
    interrupts: &'a mut Interrupts,
    /// One clock for the whole wait, so heartbeats keep their rhythm across polls.
    ticks: tokio::time::Interval,
    expected_digest: &'a str,
    claim: bool,
    /// When this requester stops waiting on its own, if earlier than the request's expiry.
    give_up: Option<SystemTime>,
    /// The broker last heard from, to say so when another replica takes over.
    in_use: String,
}

impl Waiting<'_> {
    async fn wait(&mut self, created: Created) -> Answer {
        let token = created.requester_token;
        let mut view = created.request;
        let id = view.id.clone();
        let deadline = humantime::parse_rfc3339_weak(&view.expires_at)
            .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(900))
            + EXPIRY_GRACE;
        let deadline = self
            .give_up
            .map_or(deadline, |give_up| give_up.min(deadline));
        self.display.update(&view);
        self.follow(&view);
        let mut backoff = FIRST_BACKOFF;
        let mut lost = false;
        loop {
            if view.status.is_final() {
                self.display.clear();
                return conclude(
                    self.client,
                    self.channel,
                    self.expected_digest,
                    view,
                    &token,
                    self.claim,
                )
                .await;
            }
            let Ok(left) = deadline.duration_since(SystemTime::now()) else {
                self.display.clear();
                if self.give_up.is_some() {
                    // Best effort: nobody should approve what no one waits for.
                    let cancel = self.client.cancel(&id, &token);
                    let _ = tokio::time::timeout(CANCEL_TIMEOUT, cancel).await;
                }
                return Answer::TimedOut { request_id: id };
            };
            // Right after an outage, ask for the current state at once rather than
            // long-polling: the broker is back, and the requester should see so.
            let (wait, since) = if lost {
                (None, None)
            } else {
                let wait = POLL.min(left).max(Duration::from_secs(1));
                (Some(wait), Some(view.version))
            };
            let poll = self.client.get(&id, &token, wait, since);
            let result = match self.watch(poll, &view).await {
                Ok(result) => result,
                Err(signal) => return self.cancel(&id, &token, signal).await,
            };
            match result {
                Ok(next) => {
                    backoff = FIRST_BACKOFF;
                    lost = false;
                    self.display.reconnected();
                    self.display.update(&next);
                    self.follow(&next);
                    view = next;
                }
                Err(err) if transient(&err) => {
                    lost = true;
                    self.display.lost(&view, &err.to_string());
                    let pause = backoff.min(left);
                    if let Err(signal) = self.watch(tokio::time::sleep(pause), &view).await {
                        return self.cancel(&id, &token, signal).await;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => {
                    self.display.clear();
                    return Answer::Invalid {
                        request_id: id,
                        reason: format!("the broker stopped serving the request: {err}"),
                    };
                }
            }
        }
    }

    /// Say so when the last answer came from another broker than the one before:
    /// a replica took over the same request (same id, same token).
    fn follow(&mut self, view: &RequestView) {
        let answered = self.client.base();
        if answered != self.in_use {
            self.display.moved(view, &self.in_use, answered);
            self.in_use = answered.to_string();
        }
    }

    /// Drive `work` while keeping the display alive; `Err` when a signal came first.
    async fn watch<F: Future>(
        &mut self,
        work: F,
        view: &RequestView,
    ) -> Result<F::Output, &'static str> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return Ok(output),
                signal = self.interrupts.recv() => return Err(signal),
                _ = self.ticks.tick() => self.display.tick(view),
            }
        }
    }

    async fn cancel(&mut self, id: &str, token: &str, signal: &'static str) -> Answer {
        self.display.clear();
        // Best effort: the request expires on its own if this does not get through.
        let _ = tokio::time::timeout(CANCEL_TIMEOUT, self.client.cancel(id, token)).await;
        Answer::Cancelled {
            request_id: id.to_string(),
            signal: Some(signal),
        }
    }
}

/// A final view: verify an approval (pinned key, this request, this action, not
/// expired) and, when `claim`, claim it so it is used once.
async fn conclude(
    client: &BrokerClient,
    channel: &Channel,
    expected_digest: &str,
    view: RequestView,
    token: &str,
    claim: bool,
) -> Answer {
    let request_id = view.id.clone();
    match view.status {
        Status::Approved => {}
        Status::Denied => return Answer::Denied(Box::new(view)),
        Status::TimedOut => return Answer::TimedOut { request_id },
        Status::Cancelled | Status::Pending => {
            return Answer::Cancelled {
                request_id,
                signal: None,
            };
        }
    }
    let invalid = |reason: String| Answer::Invalid {
        request_id: view.id.clone(),
        reason,
    };
    let Some(signed) = view.decision.clone() else {
        return invalid("the broker says approved but sent no signed decision".into());
    };
    let checked =
        signed.verify_approval(&channel.key, &view.id, expected_digest, SystemTime::now());
    let payload = match checked {
        Ok(payload) => Box::new(payload),
        Err(err) => return invalid(err.to_string()),
    };
    if !claim {
        return Answer::Approved {
            request_id,
            payload,
            signed,
        };
    }
    if let Err(err) = client.claim(&view.id, token).await {
        let reason = match err.code() {
            Some(ErrorCode::AlreadyClaimed) => "the approval was already used once".to_string(),
            _ => format!("could not claim the approval: {err}"),
        };
        return invalid(reason);
    }
    Answer::Approved {
        request_id,
        payload,
        signed,
    }
}

/// A lost connection or a broker (or proxy) failing on its side, at every
/// broker named: worth retrying until the request expires.
fn transient(err: &ClientError) -> bool {
    err.fails_over()
}

/// What stops a wait: SIGINT, SIGTERM and SIGHUP, or a cancel flag.
enum Interrupts {
    Signals {
        int: Signal,
        term: Signal,
        hup: Signal,
    },
    Flag(Arc<AtomicBool>),
}

/// How often a cancel flag is looked at.
const CANCEL_POLL: Duration = Duration::from_millis(50);

impl Interrupts {
    fn install(cancel: Option<Arc<AtomicBool>>) -> std::io::Result<Interrupts> {
        if let Some(flag) = cancel {
            return Ok(Interrupts::Flag(flag));
        }
        Ok(Interrupts::Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        match self {
            Interrupts::Signals { int, term, hup } => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            },
            Interrupts::Flag(flag) => {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(CANCEL_POLL).await;
                }
                CANCELLED_BY_CLIENT
            }
        }
    }
}
