//! AI agent detection from the markers agents put in the environment of the
//! commands they run.
//!
//! What is known about each marker (checked against public sources when written):
//! - Claude Code sets `CLAUDECODE=1` in the shells it spawns, and
//!   `CLAUDE_CODE_ENTRYPOINT` (`cli`, `sdk-ts`, …). `CLAUDE_CODE_SESSION_ID` is
//!   seen in practice but not documented: used for the session when present.
//! - OpenAI Codex CLI sets `CODEX_SANDBOX` (e.g. `seatbelt` on macOS) and
//!   `CODEX_SANDBOX_NETWORK_DISABLED=1` in its sandbox; recent versions export
//!   `CODEX_THREAD_ID`, used as the session. `CODEX_CI` is a best-known heuristic.
//! - Gemini CLI sets `GEMINI_CLI=1` in its shell tool.
//! - Cursor's CLI agent sets `CURSOR_AGENT=1` (heuristic, as used by other agent
//!   detectors). Cursor's editor terminal sets `CURSOR_TRACE_ID` for humans too,
//!   so that is deliberately *not* treated as an agent.
//! - Aider sets no marker in the commands it runs (its `AIDER_*` variables are
//!   user configuration, present in a person's own shell too), so it is detected
//!   only through `GATE_AGENT=aider`.
//! - `GATE_AGENT=name` (+ optional `GATE_AGENT_SESSION`) names any agent
//!   explicitly; `AI_AGENT=name` is a cross-tool convention some agents set.

use super::{Agent, is_on, owned, value};
use std::collections::BTreeMap;

type Env = BTreeMap<String, String>;

/// Explicit names first, then built-in markers in a fixed order.
const DETECTORS: &[fn(&Env) -> Option<Agent>] =
    &[gate_agent, ai_agent, claude_code, codex, gemini, cursor];

pub(super) fn detect(env: &Env) -> Option<Agent> {
    DETECTORS.iter().find_map(|detector| detector(env))
}

fn agent(name: &str, session: Option<String>) -> Agent {
    Agent {
        name: name.to_owned(),
        session,
    }
}

/// Policy conditions compare names, so explicit names are lower-cased.
fn named(env: &Env, variable: &str) -> Option<String> {
    value(env, variable).map(str::to_ascii_lowercase)
}

fn gate_agent(env: &Env) -> Option<Agent> {
    let name = named(env, "GATE_AGENT")?;
    Some(agent(&name, owned(env, "GATE_AGENT_SESSION")))
}

fn ai_agent(env: &Env) -> Option<Agent> {
    named(env, "AI_AGENT").map(|name| agent(&name, None))
}

fn claude_code(env: &Env) -> Option<Agent> {
    let present = is_on(env, "CLAUDECODE") || value(env, "CLAUDE_CODE_ENTRYPOINT").is_some();
    present.then(|| agent("claude-code", owned(env, "CLAUDE_CODE_SESSION_ID")))
}

fn codex(env: &Env) -> Option<Agent> {
    let present = [
        "CODEX_SANDBOX",
        "CODEX_SANDBOX_NETWORK_DISABLED",
        "CODEX_THREAD_ID",
        "CODEX_CI",
    ]
    .iter()
    .any(|marker| value(env, marker).is_some());
    present.then(|| agent("codex", owned(env, "CODEX_THREAD_ID")))
}

fn gemini(env: &Env) -> Option<Agent> {
    is_on(env, "GEMINI_CLI").then(|| agent("gemini", None))
}

fn cursor(env: &Env) -> Option<Agent> {
    is_on(env, "CURSOR_AGENT").then(|| agent("cursor", None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::env_of;

    fn detected(pairs: &[(&str, &str)]) -> Option<Agent> {
        detect(&env_of(pairs))
    }

    fn with_session(name: &str, session: &str) -> Option<Agent> {
        Some(agent(name, Some(session.to_owned())))
    }

    #[test]
    fn claude_code() {
        assert_eq!(
            detected(&[
                ("CLAUDECODE", "1"),
                ("CLAUDE_CODE_ENTRYPOINT", "cli"),
                ("CLAUDE_CODE_SESSION_ID", "5e1f")
            ]),
            with_session("claude-code", "5e1f")
        );
        assert_eq!(
            detected(&[("CLAUDE_CODE_ENTRYPOINT", "sdk-ts")]),
            Some(agent("claude-code", None))
        );
        assert_eq!(detected(&[("CLAUDECODE", "0")]), None);
    }

    #[test]
    fn codex() {
        assert_eq!(
            detected(&[
                ("CODEX_SANDBOX", "seatbelt"),
                ("CODEX_THREAD_ID", "019a-77")
            ]),
            with_session("codex", "019a-77")
        );
        assert_eq!(
            detected(&[("CODEX_SANDBOX_NETWORK_DISABLED", "1")]),
            Some(agent("codex", None))
        );
        assert_eq!(
            detected(&[("CODEX_HOME", "/home/me/.codex")]),
            None,
            "config, not a marker"
        );
    }

    #[test]
    fn gemini_and_cursor() {
        assert_eq!(
            detected(&[("GEMINI_CLI", "1")]),
            Some(agent("gemini", None))
        );
        assert_eq!(
            detected(&[("CURSOR_AGENT", "1")]),
            Some(agent("cursor", None))
        );
        assert_eq!(
            detected(&[("CURSOR_TRACE_ID", "abc")]),
            None,
            "a human in Cursor's terminal"
        );
    }

    #[test]
    fn aider_only_by_explicit_name() {
        assert_eq!(
            detected(&[("AIDER_MODEL", "sonnet"), ("AIDER_DARK_MODE", "true")]),
            None
        );
        assert_eq!(
            detected(&[("GATE_AGENT", "aider")]),
            Some(agent("aider", None))
        );
    }

    #[test]
    fn explicit_names_are_lower_cased_and_carry_a_session() {
        assert_eq!(
            detected(&[("GATE_AGENT", " My-Bot "), ("GATE_AGENT_SESSION", "run-7")]),
            with_session("my-bot", "run-7")
        );
        assert_eq!(
            detected(&[("AI_AGENT", "Devin")]),
            Some(agent("devin", None))
        );
        assert_eq!(detected(&[("GATE_AGENT", "")]), None);
    }

    #[test]
    fn precedence_when_several_agents_are_present() {
        let mut env = env_of(&[
            ("GATE_AGENT", "aider"),
            ("AI_AGENT", "custom"),
            ("CLAUDECODE", "1"),
            ("CODEX_SANDBOX", "seatbelt"),
            ("GEMINI_CLI", "1"),
            ("CURSOR_AGENT", "1"),
        ]);
        let order = [
            ("aider", "GATE_AGENT"),
            ("custom", "AI_AGENT"),
            ("claude-code", "CLAUDECODE"),
            ("codex", "CODEX_SANDBOX"),
            ("gemini", "GEMINI_CLI"),
            ("cursor", "CURSOR_AGENT"),
        ];
        for (expected, marker) in order {
            assert_eq!(detect(&env).map(|a| a.name).as_deref(), Some(expected));
            env.remove(marker);
        }
        assert_eq!(detect(&env), None);
    }
}
