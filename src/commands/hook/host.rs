//! What every host adapter provides, and the host-neutral values between the
//! adapters and the shared core (`bash`): a shell call in, a [`Decision`] out, and
//! the [`Reply`] the host reads (stdout, stderr, exit status).
//!
//! An adapter only translates: it never decides, asks or records.

use crate::paths::Home;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A shell command the agent wants to run.
#[derive(Debug, Clone)]
pub struct ShellCall {
    /// The shell line, run by the host as `bash -c LINE`.
    pub line: String,
    /// Where the host runs it.
    pub cwd: PathBuf,
    /// The host's session (conversation, task) id, where it gives one.
    pub session: Option<String>,
    /// The agent's own words on why, sent to approvers as the request's reason.
    pub description: Option<String>,
    /// The tool's input as the host sent it; a rewrite replaces its command.
    pub tool_input: Value,
}

/// One event from the host.
#[derive(Debug)]
pub enum Call {
    Shell(ShellCall),
    /// A tool gate does not judge: the host's own rules apply.
    Other(String),
}

/// What gate tells the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No opinion: the host's own permission rules apply.
    Pass,
    /// Run it; with `rewritten`, run that line instead (`gate --ticket`).
    Allow {
        reason: String,
        rewritten: Option<String>,
    },
    Deny(String),
    /// The host asks the person at the keyboard.
    Ask(String),
}

/// What the hook prints and how it exits. Written once, whole (`super::stop`).
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub code: u8,
}

impl Reply {
    pub fn json(value: Value) -> Reply {
        Reply {
            stdout: Some(value.to_string()),
            ..Reply::default()
        }
    }

    /// `value` on stdout, `reason` on stderr, exit 2: the blocking answer of hosts
    /// that take exit 2 as "block" and any other failure as "run it".
    pub fn blocking(value: Value, reason: &str) -> Reply {
        Reply {
            stdout: Some(value.to_string()),
            stderr: Some(reason.to_string()),
            code: 2,
        }
    }
}

/// One agent host's hook contract.
pub trait Host {
    /// The agent's name in requests and audit records (`agent = codex`).
    const AGENT: &'static str;
    /// How long to wait for a person when `--wait` is not given; `None` takes
    /// `[agents.claude-code] approval_timeout` from the policy.
    const DEFAULT_WAIT: Option<Duration>;
    /// The longest wait the host's hook timeout leaves room for, where that timeout
    /// is fixed; `--wait` is cut to it.
    const MAX_WAIT: Option<Duration> = None;
    /// Whether the host runs a rewritten command in place of the one asked for.
    /// Hosts that cannot are told the `gate --ticket` line to run instead.
    const REWRITES: bool;

    /// The event on stdin; `Err` is the reason of a deny.
    fn parse(text: &str) -> Result<Call, String>;

    /// The answer in the host's terms. `input` is the shell tool's input, when
    /// the event was a shell call.
    fn reply(decision: &Decision, input: Option<&Value>) -> Reply;

    /// The decision on a tool other than the shell.
    fn other_tool(_tool: &str, _policy: Option<&Path>, _home: &Home) -> Result<Decision, String> {
        Ok(Decision::Pass)
    }
}

/// `input` with its `command` replaced by `line`.
pub fn with_command(input: Option<&Value>, line: &str) -> Value {
    let mut input = input
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    input["command"] = Value::String(line.to_string());
    input
}

/// The reason text of a decision, for hosts with one message field.
pub fn reason(decision: &Decision) -> &str {
    match decision {
        Decision::Pass => "",
        Decision::Allow { reason, .. } | Decision::Deny(reason) | Decision::Ask(reason) => reason,
    }
}
