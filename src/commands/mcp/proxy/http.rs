//! `gate mcp proxy --url URL`: the server is a Streamable HTTP endpoint. Each
//! message from the client is POSTed to URL, in the order they came (the next
//! is sent once the last one's answer has started, so the session id from
//! `initialize` is known to what follows); each answer, one JSON message or an
//! SSE stream of them, is read in the background, so a long one holds nothing
//! else, and goes through the same relay as a stdio server's lines. The session id
//! the server gives (`Mcp-Session-Id`) and the protocol version it agreed on are
//! sent with every later message, and the session is deleted when the client
//! leaves. A request the server cannot be reached for, or answers with an HTTP
//! error, is answered with a JSON-RPC error. The server's own GET stream (server
//! messages outside any request) is not opened.

use super::{EXIT_GRACE, End, Proxy, SERVER_EXITED, Upstream, read_client, rpc_error};
use crate::error::{Error, exit};
use crate::guard::LoadedPolicy;
use crate::paths::Home;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

pub(super) struct HttpUpstream {
    url: String,
    client: reqwest::Client,
    session: Mutex<Option<String>>,
    version: Mutex<Option<String>>,
    /// Messages to POST, in order.
    queue: tokio::sync::mpsc::UnboundedSender<String>,
    /// Messages posted or queued whose answers are not read yet.
    in_flight: AtomicUsize,
}

pub(super) fn run(
    loaded: LoadedPolicy,
    name: Option<String>,
    url: String,
    home: &Home,
) -> Result<u8, Error> {
    let bad_url = |detail: String| Error::Usage(format!("gate: mcp proxy --url {url}: {detail}"));
    let parsed = reqwest::Url::parse(&url).map_err(|e| bad_url(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad_url(
            "the URL must start with http:// or https://".into(),
        ));
    }
    let server = name.unwrap_or_else(|| parsed.host_str().unwrap_or("mcp").to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("mcp proxy: no async runtime: {e}")))?;
    crate::approval::client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("mcp proxy: no HTTP client: {e}")))?;
    let (queue, queued) = tokio::sync::mpsc::unbounded_channel();
    let upstream = Upstream::Http(HttpUpstream {
        url,
        client,
        session: Mutex::new(None),
        version: Mutex::new(None),
        queue,
        in_flight: AtomicUsize::new(0),
    });
    // The program approvers are shown: gate itself, which makes the calls.
    let executable = std::env::current_exe().unwrap_or_default();
    let proxy = Proxy::new(loaded, server, executable, home, upstream);
    runtime.spawn(deliver(Arc::clone(&proxy), queued));
    let (ended, end) = mpsc::channel();
    read_client(&proxy, ended);
    // Only the client's end is reported: no process to watch.
    let _: Result<End, _> = end.recv();
    proxy.withdraw_waiting();
    if let Upstream::Http(http) = &proxy.upstream {
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline && http.in_flight.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        runtime.block_on(http.end_session());
    }
    proxy.close_unanswered("the client left before the MCP server answered");
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(exit::OK)
}

/// POST each queued message in turn; read each answer on a task of its own.
async fn deliver(proxy: Arc<Proxy>, mut queued: tokio::sync::mpsc::UnboundedReceiver<String>) {
    while let Some(line) = queued.recv().await {
        let Upstream::Http(http) = &proxy.upstream else {
            return;
        };
        let (request_id, sent) = http.send(line).await;
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            if let Upstream::Http(http) = &proxy.upstream {
                http.read_answer(&proxy, request_id, sent).await;
                http.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }
}

impl HttpUpstream {
    /// Queue `line` to be POSTed; what comes back is relayed.
    pub(super) fn post(&self, line: String) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(line).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// POST `line`; the id of the request it is (when it is one), and the
    /// response once its headers are in, or why there is none.
    async fn send(&self, line: String) -> (Option<Value>, Result<reqwest::Response, String>) {
        let message: Option<Value> = serde_json::from_str(&line).ok();
        // A request (not a notification or a response) needs an answer.
        let request_id = message
            .as_ref()
            .filter(|m| m.get("method").is_some())
            .and_then(|m| m.get("id"))
            .cloned();
        let mut post = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .body(line);
        for (header, value) in [
            (SESSION_HEADER, &self.session),
            (VERSION_HEADER, &self.version),
        ] {
            if let Some(value) = lock(value).clone() {
                post = post.header(header, value);
            }
        }
        let sent = match post.send().await {
            Err(e) => Err(format!("cannot reach the MCP server at {}: {e}", self.url)),
            Ok(response) if !response.status().is_success() => Err(format!(
                "the MCP server at {} answered HTTP {}",
                self.url,
                response.status()
            )),
            Ok(response) => {
                if let Some(id) = response.headers().get(SESSION_HEADER) {
                    *lock(&self.session) = id.to_str().ok().map(str::to_string);
                }
                Ok(response)
            }
        };
        (request_id, sent)
    }

    /// Relay the messages of one answer; a request left unanswered gets a
    /// JSON-RPC error.
    async fn read_answer(
        &self,
        proxy: &Arc<Proxy>,
        request_id: Option<Value>,
        sent: Result<reqwest::Response, String>,
    ) {
        let mut trail = None;
        let mut answered = false;
        let mut relay = |text: &str| {
            let Ok(message) = serde_json::from_str::<Value>(text) else {
                return;
            };
            if let Some(version) = message
                .pointer("/result/protocolVersion")
                .and_then(Value::as_str)
            {
                lock(&self.version).get_or_insert_with(|| version.to_string());
            }
            answered |= message.get("method").is_none() && message.get("id") == request_id.as_ref();
            proxy.relay_from_server(text, &mut trail);
        };
        let failure = match sent {
            Err(why) => Some(why),
            Ok(mut response) => {
                let events = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/event-stream"));
                if events {
                    let mut buffer = Vec::new();
                    while let Ok(Some(chunk)) = response.chunk().await {
                        buffer.extend(chunk.iter().filter(|&&byte| byte != b'\r'));
                        while let Some(data) = next_event(&mut buffer) {
                            relay(&data);
                        }
                    }
                } else if let Ok(body) = response.text().await
                    && !body.trim().is_empty()
                {
                    relay(body.trim());
                }
                None
            }
        };
        let failure = failure.or_else(|| {
            (request_id.is_some() && !answered).then(|| {
                format!(
                    "the MCP server at {} ended its answer without one",
                    self.url
                )
            })
        });
        if let (Some(id), Some(why)) = (&request_id, failure) {
            eprintln!("gate: mcp proxy: {why}");
            proxy.relay_from_server(&rpc_error(id, SERVER_EXITED, &why).to_string(), &mut trail);
        }
    }

    /// Delete the session, as a client that is done should.
    async fn end_session(&self) {
        let Some(session) = lock(&self.session).clone() else {
            return;
        };
        let delete = self
            .client
            .delete(&self.url)
            .header(SESSION_HEADER, session);
        let _ = tokio::time::timeout(Duration::from_secs(2), delete.send()).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The data of the next complete server-sent event in `buffer` (taken out of
/// it), skipping events without data; `None` until one is complete. `buffer`
/// holds the stream with its carriage returns dropped (JSON text has none).
fn next_event(buffer: &mut Vec<u8>) -> Option<String> {
    loop {
        let end = buffer.windows(2).position(|pair| pair == b"\n\n")?;
        let event = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end + 2);
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        if !data.is_empty() {
            return Some(data.join("\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::next_event;

    #[test]
    fn server_sent_events_are_read_whole_and_only_their_data() {
        let mut buffer =
            b"event: message\ndata: {\"a\":\ndata: 1}\n\n: ping\n\nid: 4\ndata: {\"b\"".to_vec();
        assert_eq!(next_event(&mut buffer).as_deref(), Some("{\"a\":\n1}"));
        assert_eq!(next_event(&mut buffer), None);
        buffer.extend_from_slice(b":2}\n\n");
        assert_eq!(next_event(&mut buffer).as_deref(), Some("{\"b\":2}"));
        assert!(buffer.is_empty());
    }
}
