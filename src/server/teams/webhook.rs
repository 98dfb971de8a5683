//! Posting one message to the Teams Workflows webhook, with bounded retries.
//!
//! Teams answers 202 when the workflow has *accepted* a message, before (and
//! whether or not) it reaches the channel, so that is logged as accepted, never
//! as delivered. 429, 5xx, timeouts and connection errors are retried with
//! doubling waits (Retry-After honoured, capped); anything else, or running out
//! of attempts, is one log line: the request stays decidable on the web page,
//! the CLI and the API. The URL is logged by host only.

use crate::server::config::teams::WebhookUrl;
use std::time::Duration;

/// Attempts per message, the first included.
const ATTEMPTS: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_millis(500);
const LONGEST_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Webhook {
    http: reqwest::Client,
    url: WebhookUrl,
}

/// How one attempt went.
enum Attempt {
    Accepted,
    Posted,
    /// Worth another try, after at least this long.
    Retry(String, Option<Duration>),
    Refused(String),
}

impl Webhook {
    pub fn new(url: WebhookUrl, timeout: Duration) -> Result<Webhook, String> {
        crate::approval::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("[channels.teams]: cannot build the HTTP client: {e}"))?;
        Ok(Webhook { http, url })
    }

    pub fn host(&self) -> &str {
        self.url.host()
    }

    /// Post `body` (what: e.g. "the card for request ID"), retrying as above.
    /// Logs the outcome; `fallback` says where the request can still be decided.
    /// Whether Teams took it.
    pub async fn post(&self, body: &serde_json::Value, what: &str, fallback: &str) -> bool {
        let host = self.host();
        let mut wait = FIRST_WAIT;
        for attempt in 1..=ATTEMPTS {
            let problem = match self.attempt(body).await {
                Attempt::Accepted => {
                    crate::serve_log!("gate serve: teams: {what} accepted by Teams ({host}, 202)");
                    return true;
                }
                Attempt::Posted => {
                    crate::serve_log!("gate serve: teams: {what} posted to Teams ({host})");
                    return true;
                }
                Attempt::Refused(problem) => {
                    crate::serve_log!(
                        "gate serve: teams: giving up on {what}: {problem} ({host}); {fallback}"
                    );
                    return false;
                }
                Attempt::Retry(problem, after) => {
                    if attempt == ATTEMPTS {
                        crate::serve_log!(
                            "gate serve: teams: giving up on {what} after {ATTEMPTS} attempts, last: {problem} ({host}); {fallback}"
                        );
                        return false;
                    }
                    let pause = after.unwrap_or(wait).min(LONGEST_WAIT);
                    wait = (wait * 2).min(LONGEST_WAIT);
                    (problem, pause)
                }
            };
            crate::serve_log!(
                "gate serve: teams: {what}: {} ({host}); retrying in {}ms",
                problem.0,
                problem.1.as_millis()
            );
            tokio::time::sleep(problem.1).await;
        }
        false
    }

    async fn attempt(&self, body: &serde_json::Value) -> Attempt {
        let sent = self.http.post(self.url.as_str()).json(body).send().await;
        let response = match sent {
            Ok(response) => response,
            // Never format the reqwest error itself: it carries the URL.
            Err(e) if e.is_timeout() => return Attempt::Retry("timed out".into(), None),
            Err(_) => return Attempt::Retry("cannot connect".into(), None),
        };
        let status = response.status();
        match status.as_u16() {
            202 => Attempt::Accepted,
            200..=299 => Attempt::Posted,
            429 => Attempt::Retry("rate limited (429)".into(), retry_after(response.headers())),
            500..=599 => Attempt::Retry(format!("Teams answered {}", status.as_u16()), None),
            code => Attempt::Refused(format!(
                "Teams answered {code}; check that the workflow still exists and {} holds its URL",
                "the configured environment variable"
            )),
        }
    }
}

/// `Retry-After: SECONDS`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
