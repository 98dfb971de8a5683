//! A fake Slack Web API on 127.0.0.1: records every call (method, bearer
//! token, JSON body), answers like Slack, or with scripted failures.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One call the fake Slack received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub authorization: String,
    pub body: Value,
}

/// A scripted answer: status, headers, JSON body.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct FakeState {
    calls: Mutex<Vec<Call>>,
    called: Notify,
    script: Mutex<HashMap<String, VecDeque<Scripted>>>,
    /// What apps.connections.open hands out.
    pub socket_url: Mutex<String>,
}

/// A fake Slack Web API on 127.0.0.1.
#[derive(Debug, Clone)]
pub struct FakeSlack {
    pub url: String,
    pub state: Arc<FakeState>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/api/{method}", post(answer))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeSlack { url, state }
    }

    /// Answer the next calls of `method` with `answers`, in order.
    pub fn script(&self, method: &str, answers: Vec<Scripted>) {
        let mut script = self.state.script.lock().unwrap();
        script.entry(method.into()).or_default().extend(answers);
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        let calls = self.state.calls.lock().unwrap();
        calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Wait (up to 10 s) until `method` was called `count` times; those calls.
    pub async fn wait_for(&self, method: &str, count: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let called = self.state.called.notified();
            let calls = self.calls(method);
            if calls.len() >= count {
                return calls;
            }
            if tokio::time::timeout_at(deadline, called).await.is_err() {
                panic!(
                    "{method} called {} times, expected {count}: {calls:#?}",
                    calls.len()
                );
            }
        }
    }
}

async fn answer(
    State(state): State<Arc<FakeState>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let scripted = state
        .script
        .lock()
        .unwrap()
        .get_mut(&method)
        .and_then(|queue| queue.pop_front());
    let count = {
        let mut calls = state.calls.lock().unwrap();
        calls.push(Call {
            method: method.clone(),
            authorization,
            body: body.clone(),
        });
        calls.len()
    };
    state.called.notify_waiters();
    if let Some(scripted) = scripted {
        let status = StatusCode::from_u16(scripted.status).unwrap();
        let mut response = (status, Json(scripted.body)).into_response();
        if let Some(seconds) = scripted.retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().unwrap());
        }
        return response;
    }
    let ok = match method.as_str() {
        "chat.postMessage" => json!({
            "ok": true,
            "channel": body["channel"],
            "ts": format!("1700000000.{count:06}"),
        }),
        "apps.connections.open" => json!({ "ok": true, "url": *state.socket_url.lock().unwrap() }),
        _ => json!({ "ok": true }),
    };
    Json(ok).into_response()
}
