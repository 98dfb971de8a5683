//! The Slack Web API as the broker uses it: `chat.postMessage`, `chat.update`,
//! `chat.postEphemeral` (bot token) and `apps.connections.open` (app token).
//!
//! Transient failures (429 with `Retry-After`, 5xx, timeouts, connection errors,
//! Slack's own transient `ok:false` codes) are retried a bounded number of times
//! with backoff; anything else fails at once. Tokens never appear in errors.

use crate::error::http_cause;
use crate::server::config::slack::Secret;
use serde_json::Value;
use std::time::Duration;

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 4;
/// First backoff; doubles per retry.
const BACKOFF: Duration = Duration::from_millis(200);
/// The longest `Retry-After` honoured; longer waits give up.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(10);
/// `ok:false` codes Slack documents as temporary.
const TRANSIENT: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// A Slack Web API client for one workspace.
#[derive(Debug, Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base: String,
}

/// Why a Slack call failed, after any retries; never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackError {
    pub method: String,
    pub detail: String,
}

impl std::fmt::Display for SlackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "slack {}: {}", self.method, self.detail)
    }
}

enum Failure {
    /// Worth another try, after this long (or the backoff).
    Retry(String, Option<Duration>),
    Fatal(String),
}

impl SlackApi {
    pub fn new(base: &str) -> Result<SlackApi, String> {
        crate::approval::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("slack: cannot build the HTTP client: {e}"))?;
        Ok(SlackApi {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// Call `method` with a JSON `body`; Slack's answer when `ok` is true.
    pub async fn call(
        &self,
        method: &str,
        token: &Secret,
        body: &Value,
    ) -> Result<Value, SlackError> {
        let mut backoff = BACKOFF;
        let mut attempt = 1;
        loop {
            let failure = match self.once(method, token, body).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            let error = |detail: String| SlackError {
                method: method.to_string(),
                detail,
            };
            match failure {
                Failure::Fatal(detail) => return Err(error(detail)),
                Failure::Retry(detail, _) if attempt >= ATTEMPTS => {
                    return Err(error(format!(
                        "{detail} (gave up after {ATTEMPTS} attempts)"
                    )));
                }
                Failure::Retry(detail, Some(wait)) if wait > LONGEST_RETRY_AFTER => {
                    return Err(error(format!(
                        "{detail}; Slack asks to wait {}s",
                        wait.as_secs()
                    )));
                }
                Failure::Retry(_, wait) => {
                    tokio::time::sleep(wait.unwrap_or(backoff)).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }

    async fn once(&self, method: &str, token: &Secret, body: &Value) -> Result<Value, Failure> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| Failure::Retry(http_cause(&e), None))?;
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure::Retry(
                "rate limited (429)".into(),
                wait.or(Some(BACKOFF)),
            ));
        }
        if status.is_server_error() {
            return Err(Failure::Retry(format!("server error {status}"), None));
        }
        if !status.is_success() {
            return Err(Failure::Fatal(format!("HTTP {status}")));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|e| Failure::Retry(format!("unreadable answer: {}", http_cause(&e)), None))?;
        if answer["ok"] == Value::Bool(true) {
            return Ok(answer);
        }
        let code = answer["error"]
            .as_str()
            .unwrap_or("no error code")
            .to_string();
        if TRANSIENT.contains(&code.as_str()) {
            Err(Failure::Retry(format!("ok:false {code}"), None))
        } else {
            Err(Failure::Fatal(format!("ok:false {code}")))
        }
    }
}
