//! A fake Teams Workflows webhook on 127.0.0.1: records every body posted to it
//! and answers with scripted statuses (202 once the script runs out). Status
//! [`HANG`] in a script answers only after 5 s, longer than the broker waits.

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The secret part of the webhook URL: must never reach the broker's log.
pub const SIGNATURE: &str = "sig=s3cr3t-signature";

/// A scripted "status" that makes the fake stall instead of answering in time.
pub const HANG: u16 = 0;

#[derive(Default)]
struct Shared {
    bodies: Mutex<Vec<Value>>,
    grew: Condvar,
    script: Mutex<VecDeque<(u16, Option<&'static str>)>>,
}

pub struct FakeTeams {
    port: u16,
    shared: Arc<Shared>,
}

impl FakeTeams {
    /// Start the fake; it answers `script` in order (status, Retry-After), then 202.
    pub fn start(script: &[(u16, Option<&'static str>)]) -> FakeTeams {
        let shared = Arc::new(Shared::default());
        shared.script.lock().unwrap().extend(script.iter().copied());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |body: String| {
                    let state = state.clone();
                    async move {
                        let (status, headers) = answer(&state, &body);
                        if status == HANG {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            return (StatusCode::ACCEPTED, headers);
                        }
                        (StatusCode::from_u16(status).unwrap(), headers)
                    }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        FakeTeams { port, shared }
    }

    /// The webhook URL to put in the broker's environment.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/workflows/abc/triggers/manual/paths/invoke?{SIGNATURE}",
            self.port
        )
    }

    /// Wait (up to 20 s) until `count` bodies have arrived; all bodies so far.
    pub fn wait_for(&self, count: usize) -> Vec<Value> {
        let bodies = self.shared.bodies.lock().unwrap();
        let (bodies, _) = self
            .shared
            .grew
            .wait_timeout_while(bodies, Duration::from_secs(20), |b| b.len() < count)
            .unwrap();
        assert!(
            bodies.len() >= count,
            "expected {count} posts, got {}: {bodies:?}",
            bodies.len()
        );
        bodies.clone()
    }

    pub fn received(&self) -> Vec<Value> {
        self.shared.bodies.lock().unwrap().clone()
    }
}

/// Record `body`; the scripted status and headers for it.
fn answer(shared: &Shared, body: &str) -> (u16, HeaderMap) {
    let value = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    let (status, retry_after) = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((202, None));
    let mut headers = HeaderMap::new();
    if let Some(seconds) = retry_after {
        headers.insert("retry-after", seconds.parse().unwrap());
    }
    let mut bodies = shared.bodies.lock().unwrap();
    bodies.push(value);
    shared.grew.notify_all();
    (status, headers)
}
