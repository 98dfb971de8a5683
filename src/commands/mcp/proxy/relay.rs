//! The relay between the client and the server: what `gate mcp proxy` does
//! with each message either way, whichever transport reaches the server.

use super::{INVALID_PARAMS, SERVER_EXITED, http};
use crate::action::DigestKey;
use crate::audit::Entry;
use crate::error::Error;
use crate::guard::tool::{ToolEnd, ToolSubject, ToolVerdict, judge, record_end};
use crate::guard::{Decided, LoadedPolicy, Trail};
use crate::identity::Requester;
use crate::paths::Home;
use crate::policy::{Request, ToolCall};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(super) struct Proxy {
    loaded: LoadedPolicy,
    /// The server's name in `[[tool]]` rules.
    server: String,
    executable: PathBuf,
    home: Home,
    requester: Requester,
    /// The request context tool rules' conditions are decided in.
    context: Request,
    to_client: Mutex<std::io::Stdout>,
    pub(super) upstream: Upstream,
    /// `tools/call` requests in flight, by id (as JSON text).
    calls: Mutex<HashMap<String, Call>>,
    /// Other client requests sent to the server and not yet answered.
    others: Mutex<HashMap<String, Value>>,
    /// Ids of `tools/list` requests whose results are filtered.
    listing: Mutex<HashSet<String>>,
    judges: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// How messages reach the server.
pub(super) enum Upstream {
    /// Its stdin; `None` once the client went away (closing it).
    Stdio(Mutex<Option<ChildStdin>>),
    Http(http::HttpUpstream),
}

enum Call {
    /// Being decided, or waiting for approval; setting `cancel` withdraws it.
    Judging { id: Value, cancel: Arc<AtomicBool> },
    /// Sent to the server; its decision record is `seq`.
    Sent {
        id: Value,
        seq: u64,
        entry: Box<Entry>,
        since: Instant,
    },
}

impl Proxy {
    pub(super) fn new(
        loaded: LoadedPolicy,
        server: String,
        executable: PathBuf,
        home: &Home,
        upstream: Upstream,
    ) -> Arc<Proxy> {
        let requester = Requester::current();
        let context = Request {
            actor: requester.policy_actor(),
            agent: requester.agent_name(),
            ci: requester.ci_system(),
            repository: requester.ci_repository(),
            git_ref: requester.ci_ref(),
            cwd: std::env::current_dir().unwrap_or_default(),
            env: std::env::vars().collect(),
            ..Request::default()
        };
        Arc::new(Proxy {
            loaded,
            server,
            executable,
            home: home.clone(),
            requester,
            context,
            to_client: Mutex::new(std::io::stdout()),
            upstream,
            calls: Mutex::new(HashMap::new()),
            others: Mutex::new(HashMap::new()),
            listing: Mutex::new(HashSet::new()),
            judges: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        mutex.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn relay_from_client(self: &Arc<Self>, line: String) {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            self.to_server(&line);
            return;
        };
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id").cloned();
        match (method, id) {
            (Some("tools/call"), Some(id)) => {
                let cancel = Arc::new(AtomicBool::new(false));
                let call = Call::Judging {
                    id: id.clone(),
                    cancel: Arc::clone(&cancel),
                };
                self.lock(&self.calls).insert(id.to_string(), call);
                let proxy = Arc::clone(self);
                let judge = std::thread::spawn(move || proxy.judge(id, &message, &line, cancel));
                let mut judges = self.lock(&self.judges);
                judges.retain(|judge| !judge.is_finished());
                judges.push(judge);
            }
            (Some("notifications/cancelled"), None) => {
                let key = message["params"]["requestId"].to_string();
                if let Some(Call::Judging { cancel, .. }) = self.lock(&self.calls).get(&key) {
                    // The server never saw the call: nothing to tell it.
                    cancel.store(true, Ordering::SeqCst);
                    return;
                }
                self.to_server(&line);
            }
            (Some(method), Some(id)) => {
                let key = id.to_string();
                if method == "tools/list" && self.loaded.policy.mcp.hide_denied {
                    self.lock(&self.listing).insert(key.clone());
                }
                self.lock(&self.others).insert(key, id);
                self.to_server(&line);
            }
            _ => {
                self.to_server(&line);
            }
        }
    }

    pub(super) fn relay_from_server(&self, line: &str, trail: &mut Option<Trail>) {
        let Ok(mut message) = serde_json::from_str::<Value>(line) else {
            self.to_client(line);
            return;
        };
        let response = message.get("method").is_none();
        let Some(key) = message.get("id").filter(|_| response).map(Value::to_string) else {
            self.to_client(line);
            return;
        };
        self.lock(&self.others).remove(&key);
        let sent = match self.lock(&self.calls).remove(&key) {
            Some(Call::Sent {
                seq, entry, since, ..
            }) => Some((seq, entry, since)),
            Some(judging) => {
                // Not ours to answer: put it back.
                self.lock(&self.calls).insert(key.clone(), judging);
                None
            }
            None => None,
        };
        if let Some((seq, entry, since)) = sent {
            let end = ToolEnd::of_response(&message);
            self.record(trail, &entry, seq, end, since.elapsed());
        }
        if self.lock(&self.listing).remove(&key) {
            self.hide_denied(&mut message);
            self.to_client(&message.to_string());
            return;
        }
        self.to_client(line);
    }

    /// Decide one `tools/call` and send it on, refuse it, or drop it.
    fn judge(self: &Arc<Self>, id: Value, message: &Value, line: &str, cancel: Arc<AtomicBool>) {
        let key = id.to_string();
        let params = &message["params"];
        let Some(tool) = params.get("name").and_then(Value::as_str) else {
            if self.lock(&self.calls).remove(&key).is_some() {
                let text = "tools/call needs a tool \"name\"";
                self.to_client(&rpc_error(&id, INVALID_PARAMS, text).to_string());
            }
            return;
        };
        let call = ToolCall {
            server: self.server.clone(),
            tool: tool.to_string(),
            arguments: params.get("arguments").cloned().unwrap_or(json!({})),
        };
        let verdict = self.decide(call).and_then(|decided| {
            let mut trail = Trail::open(&self.home).map_err(audit_error)?;
            let cancel = Arc::clone(&cancel);
            let verdict = judge(&self.loaded, &decided, &mut trail, &self.home, cancel);
            Ok((verdict.map_err(audit_error)?, trail))
        });
        match verdict {
            Ok((ToolVerdict::Forward { seq, entry }, mut trail)) => {
                let mut calls = self.lock(&self.calls);
                let withdrawn = cancel.load(Ordering::SeqCst);
                if withdrawn || !matches!(calls.get(&key), Some(Call::Judging { .. })) {
                    calls.remove(&key);
                    drop(calls);
                    let why = "withdrawn before it was sent to the MCP server".to_string();
                    let _ = record_end(
                        &mut trail,
                        &entry,
                        seq,
                        ToolEnd::NoAnswer(why),
                        Duration::ZERO,
                    );
                    return;
                }
                let since = Instant::now();
                calls.insert(
                    key.clone(),
                    Call::Sent {
                        id: id.clone(),
                        seq,
                        entry,
                        since,
                    },
                );
                drop(calls);
                if !self.to_server(line) && self.lock(&self.calls).remove(&key).is_some() {
                    let why = "the MCP server is gone; the call was not sent".to_string();
                    self.to_client(&rpc_error(&id, SERVER_EXITED, &why).to_string());
                }
            }
            Ok((ToolVerdict::Refuse(error), _)) => {
                if self.lock(&self.calls).remove(&key).is_some() {
                    self.to_client(&refusal(&id, &error.render()).to_string());
                }
            }
            Ok((ToolVerdict::Cancelled, _)) => {
                self.lock(&self.calls).remove(&key);
            }
            Err(error) => {
                if self.lock(&self.calls).remove(&key).is_some() {
                    self.to_client(&refusal(&id, &error.render()).to_string());
                }
            }
        }
    }

    fn decide(&self, call: ToolCall) -> Result<Decided, Error> {
        let key = DigestKey::random()
            .map_err(|e| Error::Internal(format!("no randomness for the action digest: {e}")))?;
        let subject = ToolSubject {
            call,
            cwd: self.context.cwd.clone(),
            env: self.context.env.clone(),
            requester: self.requester.clone(),
            executable: self.executable.clone(),
            key,
        };
        let mut decided = Decided::for_tool(&self.loaded.policy, subject).map_err(|bad| {
            Error::Internal(format!("redact pattern {:?}: {}", bad.pattern, bad.message))
        })?;
        decided.policy_version = self.loaded.version.clone();
        Ok(decided)
    }

    fn record(
        &self,
        trail: &mut Option<Trail>,
        entry: &Entry,
        seq: u64,
        end: ToolEnd,
        took: Duration,
    ) {
        if trail.is_none() {
            *trail = Trail::open(&self.home).ok();
        }
        let recorded = trail
            .as_mut()
            .map(|trail| record_end(trail, entry, seq, end, took));
        if !matches!(recorded, Some(Ok(_))) {
            eprintln!("gate: mcp proxy: could not record the outcome of decision record {seq}");
        }
    }

    /// Drop from a `tools/list` result the tools the policy denies outright.
    fn hide_denied(&self, message: &mut Value) {
        let policy = &self.loaded.policy;
        if let Some(tools) = message
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        {
            tools.retain(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
                !policy.denies_tool_outright(&self.server, name, &self.context)
            });
        }
    }

    /// Withdraw every call still waiting for a decision.
    pub(super) fn withdraw_waiting(&self) {
        for call in self.lock(&self.calls).values() {
            if let Call::Judging { cancel, .. } = call {
                cancel.store(true, Ordering::SeqCst);
            }
        }
        let judges: Vec<_> = self.lock(&self.judges).drain(..).collect();
        for judge in judges {
            let _ = judge.join();
        }
    }

    /// The client is gone: record the calls the server never answered.
    pub(super) fn close_unanswered(&self, why: &str) {
        let calls: Vec<(String, Call)> = self.lock(&self.calls).drain().collect();
        let mut trail = None;
        for (_, call) in calls {
            if let Call::Sent {
                seq, entry, since, ..
            } = call
            {
                let end = ToolEnd::NoAnswer(why.to_string());
                self.record(&mut trail, &entry, seq, end, since.elapsed());
            }
        }
    }

    /// The server is gone: answer every request it will never answer. Returns
    /// how many were answered.
    pub(super) fn answer_in_flight(&self, why: &str) -> usize {
        let calls: Vec<(String, Call)> = self.lock(&self.calls).drain().collect();
        let others: Vec<Value> = self.lock(&self.others).drain().map(|(_, id)| id).collect();
        let mut trail = None;
        let mut answered = 0;
        for (_, call) in calls {
            let id = match call {
                Call::Judging { id, cancel } => {
                    cancel.store(true, Ordering::SeqCst);
                    id
                }
                Call::Sent {
                    id,
                    seq,
                    entry,
                    since,
                } => {
                    let end = ToolEnd::NoAnswer(why.to_string());
                    self.record(&mut trail, &entry, seq, end, since.elapsed());
                    id
                }
            };
            self.to_client(&rpc_error(&id, SERVER_EXITED, why).to_string());
            answered += 1;
        }
        for id in others {
            self.to_client(&rpc_error(&id, SERVER_EXITED, why).to_string());
            answered += 1;
        }
        answered
    }

    fn to_client(&self, line: &str) {
        let mut out = self.lock(&self.to_client);
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }

    /// `false` when the server cannot take it (gone, or the client left). Over
    /// HTTP the message is posted in the background, and its answers relayed.
    fn to_server(self: &Arc<Self>, line: &str) -> bool {
        match &self.upstream {
            Upstream::Stdio(stdin) => {
                let mut server = self.lock(stdin);
                let Some(stdin) = server.as_mut() else {
                    return false;
                };
                writeln!(stdin, "{line}")
                    .and_then(|()| stdin.flush())
                    .is_ok()
            }
            Upstream::Http(http) => {
                http.post(line.to_string());
                true
            }
        }
    }
}

fn audit_error(source: crate::audit::AuditError) -> Error {
    Error::Audit {
        source,
        nothing_ran: true,
    }
}

/// A refused call's answer: a tool error, which the model reads (a JSON-RPC
/// error would tell the client, not the model, that something broke).
fn refusal(id: &Value, text: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "content": [{"type": "text", "text": format!("{text} (the call was not sent to the server)")}],
            "isError": true,
        },
    })
}

pub(super) fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
