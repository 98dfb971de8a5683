//! `gate mcp proxy -- SERVER…`: gate between an MCP client (on this process's
//! stdio) and an MCP server it starts (on the child's stdio). Every line passes
//! through unchanged, ids included, except:
//!
//! - a client's `tools/call` is decided by the policy's `[[tool]]` rules
//!   (`crate::guard::tool`), each on its own thread so a call waiting for a
//!   person holds nothing else: allowed or approved calls are sent on, refused
//!   ones are answered here with a tool error (`isError: true`) the model can
//!   read, and the server never sees them;
//! - `notifications/cancelled` for a call still waiting for approval withdraws
//!   its broker request; nothing is answered for it, and nothing is sent on;
//! - with `[mcp] hide_denied`, `tools/list` results lose the tools the policy
//!   denies whatever their arguments.
//!
//! When the server exits while the client is connected, every request in
//! flight is answered with a JSON-RPC error and gate exits
//! `MCP_SERVER_EXITED` with one line on stderr. When the client closes stdin,
//! waiting calls are withdrawn, the server's stdin is closed, and gate exits 0
//! once the server has. Only protocol messages are written to stdout.
//!
//! `--url` relays to a Streamable HTTP server instead (`http`): the same relay,
//! other plumbing.

use crate::action::resolve_executable;
use crate::error::{Error, exit};
use crate::guard::LoadedPolicy;
use crate::paths::Home;
use relay::{Proxy, Upstream, rpc_error};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod http;
mod relay;

/// The JSON-RPC error code of a request the server never answered because it
/// exited (in the implementation-defined server error range).
const SERVER_EXITED: i64 = -32000;
const INVALID_PARAMS: i64 = -32602;
/// How long the server may take to exit after the client went away.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Where the MCP server is.
pub(in crate::commands) enum Target {
    /// A program to start, spoken to on its stdio.
    Command(Vec<String>),
    /// A Streamable HTTP endpoint.
    Url(String),
}

pub(in crate::commands) fn proxy(
    policy: Option<PathBuf>,
    name: Option<String>,
    target: Target,
    home: &Home,
) -> Result<u8, Error> {
    let loaded = crate::guard::load(policy.as_deref(), home, false, &[])?;
    match target {
        Target::Command(command) => stdio(loaded, name, command, home),
        Target::Url(url) => http::run(loaded, name, url, home),
    }
}

fn stdio(
    loaded: LoadedPolicy,
    name: Option<String>,
    command: Vec<String>,
    home: &Home,
) -> Result<u8, Error> {
    let program = command.first().cloned().unwrap_or_default();
    let executable =
        resolve_executable(&program, std::env::var_os("PATH").as_deref()).map_err(|_| {
            Error::NotFound {
                program: program.clone(),
            }
        })?;
    // Approvers are shown the program by its absolute path.
    let executable = std::env::current_dir().unwrap_or_default().join(executable);
    let mut child = std::process::Command::new(&executable)
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Refused {
            message: format!("mcp proxy: cannot start the MCP server {program}: {e}"),
            code: exit::NOT_FOUND,
        })?;
    let server = name.unwrap_or_else(|| {
        std::path::Path::new(&program)
            .file_name()
            .map_or(program.clone(), |n| n.to_string_lossy().into_owned())
    });
    let upstream_out = child.stdout.take().expect("piped stdout");
    let upstream = Upstream::Stdio(Mutex::new(child.stdin.take()));
    let proxy = Proxy::new(loaded, server, executable, home, upstream);
    let (ended, end) = mpsc::channel();
    let from_server = {
        let (proxy, ended) = (Arc::clone(&proxy), ended.clone());
        std::thread::spawn(move || {
            let mut trail = None;
            for line in BufReader::new(upstream_out).lines() {
                let Ok(line) = line else { break };
                proxy.relay_from_server(&line, &mut trail);
            }
            let _ = ended.send(End::Server);
        })
    };
    read_client(&proxy, ended);
    match end.recv() {
        Ok(End::Client) | Err(_) => {
            proxy.withdraw_waiting();
            if let Upstream::Stdio(stdin) = &proxy.upstream {
                proxy.lock(stdin).take();
            }
            let deadline = Instant::now() + EXIT_GRACE;
            while Instant::now() < deadline && !from_server.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !from_server.is_finished() {
                let _ = child.kill();
            }
            let _ = child.wait();
            proxy.close_unanswered("the client left before the MCP server answered");
            Ok(exit::OK)
        }
        Ok(End::Server) => {
            let status = child
                .wait()
                .map_or("an unknown status".to_string(), |s| s.to_string());
            let answered = proxy.answer_in_flight(&format!("the MCP server exited ({status})"));
            proxy.withdraw_waiting();
            let calls = match answered {
                0 => "no request was in flight".to_string(),
                1 => "1 request in flight was answered with an error".to_string(),
                n => format!("{n} requests in flight were answered with errors"),
            };
            Err(Error::Refused {
                message: format!(
                    "mcp proxy: the MCP server {program} exited ({status}) while the client \
                     was connected; {calls}"
                ),
                code: exit::MCP_SERVER_EXITED,
            })
        }
    }
}

/// Relay the client's lines (stdin) on a thread of their own; `End::Client`
/// when it closes stdin.
fn read_client(proxy: &Arc<Proxy>, ended: mpsc::Sender<End>) {
    let proxy = Arc::clone(proxy);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() {
                proxy.relay_from_client(line);
            }
        }
        let _ = ended.send(End::Client);
    });
}

enum End {
    Client,
    Server,
}
