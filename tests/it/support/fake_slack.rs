//! A fake Slack Web API on 127.0.0.1: records every call (method and JSON body)
//! and answers each with `ok`, the channel it was given and the message `ts`
//! [`TS`], so the broker can update what it posted. It can be told to take its
//! time answering new messages ([`FakeSlack::hold_posts`]).

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The `ts` of every message the fake posts.
pub const TS: &str = "1700000000.000100";

/// Calls received: (method, JSON body), with a signal per call.
#[derive(Default)]
struct Calls {
    list: Mutex<Vec<(String, Value)>>,
    grew: Condvar,
    /// How long to wait before answering a new message (not a thread reply).
    post_delay: Mutex<Duration>,
}

pub struct FakeSlack {
    url: String,
    calls: Arc<Calls>,
}

impl FakeSlack {
    /// Start the fake on its own thread and runtime.
    pub fn start() -> FakeSlack {
        let calls = Arc::new(Calls::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let state = calls.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = Router::new()
                    .route("/api/{method}", post(answer))
                    .with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        FakeSlack { url, calls }
    }

    /// The Web API base URL, for `api_url` in the broker's config.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Wait (up to 10 s) for the `n`th call of `method`; its body.
    pub fn wait(&self, method: &str, n: usize) -> Value {
        let list = self.calls.list.lock().unwrap();
        let (list, _) = self
            .calls
            .grew
            .wait_timeout_while(list, Duration::from_secs(10), |list| {
                list.iter().filter(|(m, _)| m == method).count() < n
            })
            .unwrap();
        let found: Vec<&Value> = list
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b)
            .collect();
        assert!(
            found.len() >= n,
            "{method} called {} times: {list:#?}",
            found.len()
        );
        found[n - 1].clone()
    }

    /// Answer each new message (`chat.postMessage` outside a thread) only
    /// `delay` after it arrives; it is recorded at once.
    pub fn hold_posts(&self, delay: Duration) {
        *self.calls.post_delay.lock().unwrap() = delay;
    }

    /// Every call so far: (method, body).
    pub fn received(&self) -> Vec<(String, Value)> {
        self.calls.list.lock().unwrap().clone()
    }
}

async fn answer(
    State(calls): State<Arc<Calls>>,
    Path(method): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let channel = body["channel"].clone();
    let new_message = method == "chat.postMessage" && body.get("thread_ts").is_none();
    {
        let mut list = calls.list.lock().unwrap();
        list.push((method, body));
        calls.grew.notify_all();
    }
    let delay = *calls.post_delay.lock().unwrap();
    if new_message && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Json(json!({ "ok": true, "channel": channel, "ts": TS }))
}
