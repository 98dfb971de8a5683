//! The host configurations in examples/ work as shipped: each names its host's
//! hook event and `gate hook HOST`, gives the hook more time than gate waits, and
//! its command, run as the host runs it, blocks a denied command on the host's
//! blocking path, even when gate itself is missing.

use crate::hook_hosts::{
    CLAUDE_CODE, CLINE, CODEX, COPILOT, CURSOR, GEMINI, HostCase, Seen, piped, seen,
};
use crate::support::common::*;
use crate::support::fixtures::POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(example(name)).unwrap()).unwrap()
}

/// `--wait N` in a hook command.
fn wait_of(command: &str) -> u64 {
    command
        .split("--wait ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no --wait in {command}"))
}

/// PATH with the gate under test first, as an installed gate would be.
fn path_with_gate() -> std::ffi::OsString {
    let dir = gate_bin().parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

/// Run `command` through `sh -c` as the host would, on a denied command's event.
fn blocks_a_denied_command(host: &HostCase, command: &str, with_gate: bool) -> String {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let command = command.replace(
        "/etc/gate/policy.toml",
        &ctx.policy_path().display().to_string(),
    );
    let path = if with_gate {
        path_with_gate()
    } else {
        "/usr/bin:/bin".into()
    };
    let event = (host.event)(&ctx.work().canonicalize().unwrap(), "rm -rf out").to_string();
    let out = piped(
        ctx.command("sh").env("PATH", path).args(["-c", &command]),
        event.as_bytes(),
    );
    match seen(host, code(&out), &stdout(&out), &stderr(&out)) {
        Seen::Blocked(reason) => reason,
        other => panic!("{}: {other:?}", host.name),
    }
}

fn check(host: &HostCase, command: &str) {
    assert!(
        command.starts_with(&format!("gate hook {} ", host.name)),
        "{command}"
    );
    let reason = blocks_a_denied_command(host, command, true);
    assert!(reason.contains("rule \"no rm\""), "{reason}");
    blocks_a_denied_command(host, command, false);
}

#[test]
fn the_codex_config_blocks_on_exit_2_within_its_timeout() {
    let config: toml::Table = std::fs::read_to_string(example("codex-config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let group = &config["hooks"]["PreToolUse"][0];
    assert_eq!(group["matcher"].as_str(), Some("^Bash$"));
    let hook = &group["hooks"][0];
    assert_eq!(hook["type"].as_str(), Some("command"));
    let command = hook["command"].as_str().unwrap();
    assert!(hook["timeout"].as_integer().unwrap() as u64 > wait_of(command) + 10);
    check(&CODEX, command);
}

#[test]
fn the_gemini_settings_block_within_their_timeout_in_milliseconds() {
    let settings = json("gemini-settings.json");
    let group = &settings["hooks"]["BeforeTool"][0];
    assert_eq!(group["matcher"], "run_shell_command");
    let hook = &group["hooks"][0];
    let command = hook["command"].as_str().unwrap();
    assert!(hook["timeout"].as_u64().unwrap() > (wait_of(command) + 10) * 1000);
    check(&GEMINI, command);
}

#[test]
fn the_cursor_hooks_fail_closed_within_their_timeout() {
    let hooks = json("cursor-hooks.json");
    assert_eq!(hooks["version"], 1);
    let hook = &hooks["hooks"]["beforeShellExecution"][0];
    assert_eq!(hook["failClosed"], true);
    let command = hook["command"].as_str().unwrap();
    assert!(hook["timeout"].as_u64().unwrap() > wait_of(command) + 5);
    check(&CURSOR, command);
}

#[test]
fn the_copilot_hooks_answer_json_within_their_timeout() {
    let hooks = json("copilot-hooks.json");
    assert_eq!(hooks["version"], 1);
    let hook = &hooks["hooks"]["preToolUse"][0];
    assert_eq!(hook["type"], "command");
    let command = hook["bash"].as_str().unwrap();
    assert!(hook["timeoutSec"].as_u64().unwrap() > wait_of(command) + 5);
    check(&COPILOT, command);
}

#[test]
fn the_cline_hook_script_cancels_even_without_gate() {
    let script = example("cline-PreToolUse");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "the hook must be executable");
    let text = std::fs::read_to_string(&script).unwrap();
    let command = text
        .lines()
        .find(|line| line.starts_with("gate hook cline "))
        .unwrap();
    // Cline's own 30-second limit.
    assert!(wait_of(command) + 5 < 30);
    let reason = blocks_a_denied_command(&CLINE, &text, true);
    assert!(reason.contains("rule \"no rm\""), "{reason}");
    let reason = blocks_a_denied_command(&CLINE, &text, false);
    assert!(reason.contains("gate could not run"), "{reason}");
}

#[test]
fn the_claude_code_settings_name_the_hook() {
    let settings = json("claude-code-settings.json");
    let hook = &settings["hooks"]["PreToolUse"][0]["hooks"][0];
    let command = hook["command"].as_str().unwrap();
    assert!(command.starts_with("gate hook claude-code "), "{command}");
    let reason = blocks_a_denied_command(&CLAUDE_CODE, command, true);
    assert!(reason.contains("rule \"no rm\""), "{reason}");
}
