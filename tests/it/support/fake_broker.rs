//! A scripted stand-in for `gate serve`, built from the protocol types, on
//! 127.0.0.1:0 in its own runtime: it records what gate sends (creates, polls,
//! cancels, claims), long-polls like the real broker, and lets a test decide the
//! request however it likes — including with decisions the real broker would
//! never sign. It can be stopped and restarted on the same port to play a lost
//! broker.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ed25519_dalek::SigningKey;
use gate::approval::protocol::{
    ApiError, Choice, Created, ErrorBody, ErrorCode, NewRequest, RequestView, Status, Vote,
};
use gate::approval::{DecidedBy, DecisionPayload, SignedDecision};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub const TOKEN: &str = "requester-secret-token";
pub const REQUEST_ID: &str = "req-1";

/// What the fake has seen and the request it holds.
#[derive(Debug, Default)]
pub struct Seen {
    pub created: Vec<NewRequest>,
    pub gets: usize,
    pub cancels: usize,
    pub claims: usize,
    pub view: Option<RequestView>,
}

struct Shared {
    seen: Mutex<Seen>,
    changed: Condvar,
    version: tokio::sync::watch::Sender<u64>,
}

pub struct FakeBroker {
    pub port: u16,
    pub key: SigningKey,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeBroker {
    pub fn start() -> FakeBroker {
        let shared = Arc::new(Shared {
            seen: Mutex::new(Seen::default()),
            changed: Condvar::new(),
            version: tokio::sync::watch::channel(0).0,
        });
        let mut fake = FakeBroker {
            port: 0,
            key: SigningKey::from_bytes(&[42; 32]),
            shared,
            runtime: None,
        };
        fake.serve();
        fake
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pubkey_pem(&self) -> String {
        gate::keys::public_key_pem(&self.key.verifying_key())
    }

    /// Stop answering: every connection, in-flight long-polls included, is dropped.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }

    /// Serve again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.serve();
    }

    fn serve(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let port = self.port;
        let listener = runtime.block_on(async {
            for _ in 0..50 {
                match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(listener) => return listener,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            panic!("cannot bind 127.0.0.1:{port}");
        });
        self.port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .route("/v1/requests", post(create))
            .route("/v1/requests/{id}", get(poll))
            .route("/v1/requests/{id}/cancel", post(cancel))
            .route("/v1/requests/{id}/claim", post(claim))
            .with_state(self.shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        self.runtime = Some(runtime);
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.shared.seen.lock().unwrap()
    }

    /// Block until `ready` holds for what the fake has seen (at most 30 s).
    pub fn wait_until(&self, what: &str, ready: impl Fn(&Seen) -> bool) {
        let seen = self.shared.seen.lock().unwrap();
        let (_seen, timeout) = self
            .shared
            .changed
            .wait_timeout_while(seen, Duration::from_secs(30), |s| !ready(s))
            .unwrap();
        assert!(!timeout.timed_out(), "the fake broker never saw: {what}");
    }

    /// Block until gate is long-polling the request.
    pub fn wait_for_poll(&self) {
        self.wait_until("a long-poll", |s| s.gets >= 1);
    }

    /// Change the request (a new version, so long-polls return).
    pub fn change(&self, edit: impl FnOnce(&mut RequestView)) {
        let mut seen = self.seen();
        let view = seen.view.as_mut().expect("no request yet");
        edit(view);
        let version = *self.shared.version.borrow() + 1;
        view.version = version;
        self.shared.version.send_replace(version);
    }

    /// The payload the broker would sign for an approval of the request it holds.
    pub fn approval(&self, by: &str) -> DecisionPayload {
        let seen = self.seen();
        let view = seen.view.as_ref().expect("no request yet");
        DecisionPayload {
            v: gate::approval::DECISION_VERSION,
            request_id: view.id.clone(),
            action_digest: view.action_digest.clone(),
            argv: view.argv.clone(),
            cwd: view.cwd.clone(),
            rules: view.rules.clone(),
            policy_version: "ef".repeat(32),
            verdict: Choice::Approve,
            approvers: vec![DecidedBy {
                name: by.into(),
                channel: "cli".into(),
            }],
            break_glass: false,
            decided_at: now(Duration::ZERO),
            expires_at: now(Duration::from_secs(600)),
            ci_identity: None,
        }
    }

    /// Decide the request with `payload` signed by `key`.
    pub fn decide(&self, payload: &DecisionPayload, key: &SigningKey) {
        let signed = SignedDecision::sign(payload, key);
        let status = match payload.verdict {
            Choice::Approve => Status::Approved,
            Choice::Deny => Status::Denied,
        };
        let vote = Vote {
            person: payload.approvers[0].name.clone(),
            channel: payload.approvers[0].channel.clone(),
            verdict: payload.verdict,
            reason: Some("looks fine".into()),
            at: now(Duration::ZERO),
        };
        self.change(|view| {
            view.status = status;
            view.votes.push(vote);
            view.decision = Some(signed);
        });
    }

    /// Approve as the real broker would: this request, this action, its own key.
    pub fn approve(&self, by: &str) {
        let payload = self.approval(by);
        self.decide(&payload, &self.key.clone());
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn now(plus: Duration) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() + plus).to_string()
}

fn api_error(status: StatusCode, code: ErrorCode) -> Response {
    let body = ApiError {
        error: ErrorBody {
            code,
            message: code.as_str().replace('_', " "),
            field: None,
        },
    };
    (status, Json(body)).into_response()
}

fn record(shared: &Shared, edit: impl FnOnce(&mut Seen)) {
    edit(&mut shared.seen.lock().unwrap());
    shared.changed.notify_all();
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes())
}

async fn create(State(shared): State<Arc<Shared>>, Json(new): Json<NewRequest>) -> Response {
    let version = *shared.version.borrow() + 1;
    let timeout = Duration::from_secs(if new.timeout_seconds == 0 {
        60
    } else {
        new.timeout_seconds
    });
    let view = RequestView {
        id: REQUEST_ID.into(),
        status: Status::Pending,
        version,
        requester: new.requester.clone(),
        argv: new.argv.clone(),
        cwd: new.cwd.clone(),
        action_digest: new.action_digest.clone(),
        rules: new.rules.clone(),
        rule_reason: new.rule_reason.clone(),
        policy_version: String::new(),
        ci_identity: None,
        reason: new.reason.clone(),
        approvers: vec!["alice".into(), "bob".into()],
        quorum: new.quorum.max(1),
        break_glass: false,
        created_at: now(Duration::ZERO),
        expires_at: now(timeout),
        votes: Vec::new(),
        decision: None,
        claimed: false,
        url: format!("http://broker.test/r/{REQUEST_ID}"),
    };
    shared.version.send_replace(version);
    record(&shared, |seen| {
        seen.created.push(new);
        seen.view = Some(view.clone());
    });
    let created = Created {
        requester_token: TOKEN.into(),
        request: view,
    };
    (StatusCode::CREATED, Json(created)).into_response()
}

#[derive(serde::Deserialize)]
struct PollQuery {
    wait: Option<u64>,
    since: Option<u64>,
}

async fn poll(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<PollQuery>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized);
    }
    record(&shared, |seen| seen.gets += 1);
    if let Some(since) = query.since {
        let mut versions = shared.version.subscribe();
        let wait = Duration::from_secs(query.wait.unwrap_or(0));
        let _ = tokio::time::timeout(wait, versions.wait_for(|v| *v > since)).await;
    }
    let view = shared.seen.lock().unwrap().view.clone();
    match view.filter(|v| v.id == id) {
        Some(view) => Json(view).into_response(),
        None => api_error(StatusCode::NOT_FOUND, ErrorCode::NotFound),
    }
}

async fn cancel(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized);
    }
    let mut view = None;
    record(&shared, |seen| {
        seen.cancels += 1;
        if let Some(v) = seen.view.as_mut() {
            v.status = Status::Cancelled;
            view = Some(v.clone());
        }
    });
    Json(view).into_response()
}

async fn claim(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized);
    }
    let mut answer = None;
    record(&shared, |seen| {
        seen.claims += 1;
        if let Some(v) = seen.view.as_mut().filter(|v| !v.claimed) {
            v.claimed = true;
            answer = Some(v.clone());
        }
    });
    match answer {
        Some(view) => Json(view).into_response(),
        None => api_error(StatusCode::CONFLICT, ErrorCode::AlreadyClaimed),
    }
}
