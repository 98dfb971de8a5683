//! `gate hook HOST`: the pre-tool hooks of coding agents (Claude Code, Codex CLI,
//! Gemini CLI, Cursor, GitHub Copilot CLI, Cline). Each reads one event on stdin
//! and writes one answer in its host's documented shape (docs/agents.md).
//!
//! Every adapter is a translation layer over one core (`bash`), which puts the
//! shell line through the requester pipeline (`crate::guard`) exactly as
//! `gate -- bash -c LINE`: no adapter decides, asks or records on its own.
//!
//! Fail closed, in each host's terms: a malformed or oversized event, a bad
//! policy, a broker error, a panic or a stop signal is a deny on the host's
//! blocking path (exit 2 where only exit 2 blocks, the JSON deny where the host
//! reads one), never a crash, a timeout or partial output that a host would
//! read as "proceed". The hook never reads the terminal; progress while waiting
//! for a person goes to stderr as plain lines.

mod bash;
mod claude_code;
mod cline;
mod codex;
mod copilot;
mod cursor;
mod event;
mod gemini;
mod host;
mod pending;
mod stop;
mod ticket_line;
mod wait;

use crate::cli::{HookArgs, HookCommand};
use crate::paths::Home;
use host::{Call, Decision, Host};
use std::io::Read;
use std::time::Duration;

/// Largest event gate reads; a bigger one is refused rather than buffered.
const MAX_EVENT_BYTES: u64 = 4 * 1024 * 1024;

pub(super) fn run(command: HookCommand, home: &Home) -> u8 {
    match command {
        HookCommand::ClaudeCode { hook } => serve::<claude_code::ClaudeCode>(&hook, home),
        HookCommand::Codex { hook } => serve::<codex::Codex>(&hook, home),
        HookCommand::Gemini { hook } => serve::<gemini::Gemini>(&hook, home),
        HookCommand::Cursor { hook } => serve::<cursor::Cursor>(&hook, home),
        HookCommand::Copilot { hook } => serve::<copilot::Copilot>(&hook, home),
        HookCommand::Cline { hook } => serve::<cline::Cline>(&hook, home),
    }
}

fn serve<H: Host>(args: &HookArgs, home: &Home) -> u8 {
    stop::install(H::reply);
    let decided = std::panic::catch_unwind(|| decide::<H>(args, home)).unwrap_or_else(|_| {
        (
            Err("gate hit an internal error and refuses the command; nothing ran".into()),
            None,
        )
    });
    let (decision, input) = decided;
    let decision = decision.unwrap_or_else(Decision::Deny);
    stop::answer(&H::reply(&decision, input.as_ref()))
}

/// The decision, and the shell tool's input when the event was a shell call.
fn decide<H: Host>(
    args: &HookArgs,
    home: &Home,
) -> (Result<Decision, String>, Option<serde_json::Value>) {
    let call = match read_event().and_then(|text| H::parse(&text)) {
        Ok(call) => call,
        Err(reason) => return (Err(reason), None),
    };
    let policy = args.policy.policy.as_deref();
    let call = match call {
        Call::Other(tool) => return (H::other_tool(&tool, policy, home), None),
        Call::Shell(call) => call,
    };
    let requester = bash::Requester {
        agent: H::AGENT,
        rewrites: H::REWRITES,
        default_wait: H::DEFAULT_WAIT,
    };
    let wait = args
        .wait
        .map(Duration::from_secs)
        .map(|wait| H::MAX_WAIT.map_or(wait, |most| wait.min(most)));
    (
        bash::decide(requester, &call, policy, wait, home),
        Some(call.tool_input),
    )
}

fn read_event() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_EVENT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("gate could not read the hook event on stdin: {e}"))?;
    if text.len() as u64 > MAX_EVENT_BYTES {
        return Err(format!(
            "gate refused the tool call: the hook event is larger than {} MiB",
            MAX_EVENT_BYTES / 1024 / 1024
        ));
    }
    Ok(text)
}

/// The deny reason when the policy does not load.
fn policy_error(err: crate::error::Error) -> String {
    let text = err.render();
    let first = text
        .lines()
        .next()
        .unwrap_or("the policy could not be loaded");
    format!(
        "gate could not load its policy, so it refuses every command until that is fixed \
         (tell the user; `gate policy lint` shows the problem): {first}"
    )
}

/// The event as JSON, or the deny reason naming the host's event.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str, event: &str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("gate refused the tool call: invalid {event} event: {e}"))
}
