//! `gate hook claude-code`: the Claude Code PreToolUse adapter. Reads one event on
//! stdin, writes one decision on stdout, always exits 0.
//!
//! Fail closed: a malformed event, a bad policy, a broker error or any internal
//! error is a `deny` on stdout, never a crash or an exit code Claude Code would
//! read as "proceed". The hook never reads the terminal; progress while waiting
//! for a person goes to stderr as plain lines.
//!
//! Bash commands go through the same policy as `gate --` (see `bash`). Other
//! tools get what `[agents.claude-code] tools` says, and no decision by default.

mod bash;
mod event;

use super::stderr_color;
use crate::error::exit;
use crate::guard;
use crate::paths::Home;
use crate::policy::ToolDecision;
use event::Decision;
use std::io::Read;

pub(super) fn claude_code(policy: Option<&std::path::Path>, home: &Home) -> u8 {
    let decision = decide(policy, home).unwrap_or_else(Decision::Deny);
    if let Some(json) = decision.to_json() {
        println!("{json}");
    }
    exit::OK
}

/// `Err` is the reason of a deny.
fn decide(policy: Option<&std::path::Path>, home: &Home) -> Result<Decision, String> {
    let mut text = String::new();
    std::io::stdin()
        .take(event::MAX_EVENT_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("gate could not read the hook event on stdin: {e}"))?;
    let event = event::parse(&text).map_err(|e| format!("gate refused the tool call: {e}"))?;
    if event.tool_name != "Bash" {
        // Only the tools table matters here; the command is not evaluated.
        let loaded = guard::load(policy, home, stderr_color(), &[]).map_err(policy_error)?;
        let settings = &loaded.policy.agents.claude_code;
        return Ok(match settings.tools.get(&event.tool_name) {
            None => Decision::Pass,
            Some(ToolDecision::Allow) => Decision::Allow {
                reason: format!("gate: the policy allows the {} tool", event.tool_name),
                updated_input: None,
            },
            Some(ToolDecision::Deny) => Decision::Deny(format!(
                "gate: the policy denies the {} tool ([agents.claude-code] tools); do not retry it, \
                 and tell the user if the task needs it",
                event.tool_name
            )),
            Some(ToolDecision::Ask) => Decision::Ask(format!(
                "gate: the policy asks you to confirm each use of the {} tool",
                event.tool_name
            )),
        });
    }
    let input =
        event::bash_input(&event).map_err(|e| format!("gate refused the tool call: {e}"))?;
    let subject = bash::subject(&event, bash::argv(&input.command)?)?;
    let (loaded, decided) =
        guard::decide(policy, home, stderr_color(), subject).map_err(|err| match err {
            crate::error::Error::Internal(detail) => format!("gate: {detail}"),
            err => policy_error(err),
        })?;
    bash::Bash {
        input: &input,
        loaded: &loaded,
        decided: &decided,
        home,
    }
    .decide()
}

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
