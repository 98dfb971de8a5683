//! Every agent host's hook, end to end with the real binary and (for approvals)
//! the real broker: allow, deny, approve-then-run, pending-and-retry, a malformed
//! event, an oversized event and a hook stopped while it waits. Each host's
//! answer is read the way that host reads it (docs/agents.md), so a deny counts
//! only when it takes the host's blocking path.

use crate::support::broker_support::Broker;
use crate::support::common::*;
use crate::support::fixtures::{
    BROKER_CONFIG_SRE_ALICE_BOB, POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH,
};
use crate::support::waiting::Waiting;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// One host: its subcommand, the event it sends for a shell line, and whether it
/// runs a rewritten command.
#[derive(Clone, Copy)]
pub(crate) struct HostCase {
    pub(crate) name: &'static str,
    agent: &'static str,
    pub(crate) event: fn(&Path, &str) -> Value,
    rewrites: bool,
}

pub(crate) const CLAUDE_CODE: HostCase = HostCase {
    name: "claude-code",
    agent: "claude-code",
    rewrites: true,
    event: |cwd, line| {
        json!({"session_id": "s-1", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
               "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
               "tool_input": {"command": line, "description": "make a file"}, "tool_use_id": "toolu_1"})
    },
};

pub(crate) const CODEX: HostCase = HostCase {
    name: "codex",
    agent: "codex",
    rewrites: true,
    event: |cwd, line| {
        json!({"session_id": "s-1", "turn_id": "t-1", "transcript_path": null, "cwd": cwd,
               "hook_event_name": "PreToolUse", "model": "gpt-5", "permission_mode": "default",
               "tool_name": "Bash", "tool_input": {"command": line}, "tool_use_id": "call-1"})
    },
};

pub(crate) const GEMINI: HostCase = HostCase {
    name: "gemini",
    agent: "gemini",
    rewrites: true,
    event: |cwd, line| {
        json!({"session_id": "s-1", "transcript_path": "/tmp/t.json", "cwd": cwd,
               "hook_event_name": "BeforeTool", "timestamp": "2026-11-30T05:00:00Z",
               "tool_name": "run_shell_command",
               "tool_input": {"command": line, "description": "make a file"}})
    },
};

pub(crate) const CURSOR: HostCase = HostCase {
    name: "cursor",
    agent: "cursor",
    rewrites: false,
    event: |cwd, line| {
        json!({"conversation_id": "c-1", "generation_id": "g-1", "model": "m",
               "hook_event_name": "beforeShellExecution", "cursor_version": "2.0",
               "workspace_roots": [cwd], "user_email": null, "command": line, "cwd": cwd})
    },
};

pub(crate) const COPILOT: HostCase = HostCase {
    name: "copilot",
    agent: "copilot",
    rewrites: false,
    event: |cwd, line| {
        let args = json!({"command": line, "description": "make a file"}).to_string();
        json!({"sessionId": "s-1", "timestamp": 1_764_478_800_000u64, "cwd": cwd,
               "toolName": "bash", "toolArgs": args})
    },
};

pub(crate) const CLINE: HostCase = HostCase {
    name: "cline",
    agent: "cline",
    rewrites: false,
    event: |cwd, line| {
        json!({"clineVersion": "3.40.0", "hookName": "PreToolUse", "timestamp": "1764478800000",
               "taskId": "task-1", "workspaceRoots": [cwd], "userId": "u-1",
               "preToolUse": {"toolName": "execute_command",
                              "parameters": {"command": line, "requires_approval": "false"}}})
    },
};

/// What the host does with the hook's answer.
#[derive(Debug, PartialEq)]
pub(crate) enum Seen {
    /// The command runs (`rewritten` in its place, where given).
    Runs { rewritten: Option<String> },
    /// The host blocks it, with this reason for the model.
    Blocked(String),
}

/// Read an answer as `host` reads it; anything a host would take as "the hook
/// failed" (and so run the tool) fails the test.
pub(crate) fn seen(host: &HostCase, code: i32, stdout: &str, stderr: &str) -> Seen {
    let json = || -> Value {
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not one JSON object ({e}): {stdout:?}",
                host.name
            )
        })
    };
    let blocked = |reason: &str| Seen::Blocked(reason.to_string());
    match host.name {
        "claude-code" => {
            assert_eq!(code, 0, "{stderr}");
            if stdout.trim().is_empty() {
                return Seen::Runs { rewritten: None };
            }
            let out = json()["hookSpecificOutput"].clone();
            match out["permissionDecision"].as_str() {
                Some("allow") => Seen::Runs {
                    rewritten: out["updatedInput"]["command"].as_str().map(String::from),
                },
                Some("deny") => blocked(out["permissionDecisionReason"].as_str().unwrap()),
                other => panic!("claude-code: {other:?}"),
            }
        }
        "codex" => match code {
            // Exit 2 blocks with stderr as the reason; stdout carries the same deny.
            2 => {
                assert!(
                    !stderr.trim().is_empty(),
                    "codex ignores exit 2 without a reason"
                );
                if !stdout.trim().is_empty() {
                    let out = json()["hookSpecificOutput"].clone();
                    assert_eq!(out["permissionDecision"], "deny");
                }
                blocked(stderr.trim())
            }
            0 if stdout.trim().is_empty() => Seen::Runs { rewritten: None },
            0 => {
                let out = json()["hookSpecificOutput"].clone();
                assert_eq!(out["permissionDecision"], "allow", "{out}");
                let rewritten = out["updatedInput"]["command"].as_str().map(String::from);
                assert!(
                    rewritten.is_some(),
                    "codex rejects allow without updatedInput"
                );
                Seen::Runs { rewritten }
            }
            other => panic!("codex runs the tool on exit {other}: {stderr}"),
        },
        "gemini" => {
            // Exit 2 with nothing on stdout: stderr is the reason.
            if code == 2 && stdout.trim().is_empty() {
                return blocked(stderr.trim());
            }
            let out = json();
            match code {
                2 => {
                    assert_eq!(out["decision"], "deny", "{out}");
                    blocked(out["reason"].as_str().unwrap())
                }
                0 => {
                    assert_eq!(out["decision"], "allow", "{out}");
                    let rewritten = out["hookSpecificOutput"]["tool_input"]["command"]
                        .as_str()
                        .map(String::from);
                    Seen::Runs { rewritten }
                }
                other => panic!("gemini runs the tool on exit {other}: {stderr}"),
            }
        }
        "cursor" => {
            if code == 2 && stdout.trim().is_empty() {
                return blocked(stderr.trim());
            }
            let out = json();
            match (code, out["permission"].as_str()) {
                (2, Some("deny")) => blocked(out["agent_message"].as_str().unwrap()),
                (0, Some("allow")) => Seen::Runs { rewritten: None },
                other => panic!("cursor: {other:?} {out}"),
            }
        }
        "copilot" => {
            assert_eq!(code, 0, "{stderr}");
            let out = json();
            match out["permissionDecision"].as_str() {
                Some("allow") => Seen::Runs { rewritten: None },
                Some("deny") => blocked(out["permissionDecisionReason"].as_str().unwrap()),
                other => panic!("copilot: {other:?}"),
            }
        }
        "cline" => {
            assert_eq!(code, 0, "{stderr}");
            let out = json();
            match out["cancel"].as_bool() {
                Some(false) => Seen::Runs { rewritten: None },
                Some(true) => blocked(out["errorMessage"].as_str().unwrap()),
                other => panic!("cline: {other:?}"),
            }
        }
        other => panic!("unknown host {other}"),
    }
}

fn hook_args(host: &HostCase, wait: Option<u64>) -> Vec<String> {
    let mut args = vec!["hook".to_string(), host.name.to_string()];
    if let Some(wait) = wait {
        args.extend(["--wait".to_string(), wait.to_string()]);
    }
    args
}

/// Run the hook with `stdin`; what the host sees.
fn call(mut command: Command, host: &HostCase, stdin: &[u8], wait: Option<u64>) -> Seen {
    let out = piped(command.args(hook_args(host, wait)), stdin);
    seen(host, code(&out), &stdout(&out), &stderr(&out))
}

pub(crate) fn piped(command: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The hook may refuse before reading it all (an oversized event).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

struct Setup {
    host: HostCase,
    ctx: TestContext,
    broker: Option<Broker>,
}

impl Setup {
    fn new(host: HostCase) -> Setup {
        let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
        Setup {
            host,
            ctx,
            broker: None,
        }
    }

    fn with_broker(host: HostCase) -> Setup {
        let mut setup = Setup::new(host);
        let broker = Broker::start(&setup.ctx, BROKER_CONFIG_SRE_ALICE_BOB);
        broker.pin_key(&setup.ctx);
        setup.broker = Some(broker);
        setup
    }

    fn broker(&self) -> &Broker {
        self.broker.as_ref().unwrap()
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = self.ctx.command(program);
        if let Some(broker) = &self.broker {
            command
                .env("GATE_SERVER", broker.url())
                .env("GATE_SERVER_KEY", self.ctx.dir.path().join("broker.pub"));
        }
        command
    }

    fn event(&self, line: &str) -> String {
        (self.host.event)(&self.ctx.work().canonicalize().unwrap(), line).to_string()
    }

    fn call(&self, line: &str, wait: Option<u64>) -> Seen {
        call(
            self.command(gate_bin()),
            &self.host,
            self.event(line).as_bytes(),
            wait,
        )
    }

    /// The hook reading the event for `line` from a file, as a process to spawn.
    fn hook_command(&self, line: &str, wait: u64) -> Command {
        let file = self.ctx.dir.path().join("event.json");
        std::fs::write(&file, self.event(line)).unwrap();
        let mut command = self.command("sh");
        command
            .args(["-c", "exec \"$0\" \"$@\" < \"$EVENT\""])
            .arg(gate_bin())
            .args(hook_args(&self.host, Some(wait)))
            .env("EVENT", &file);
        command
    }

    /// The hook waiting on the broker for `line`; it and the request id.
    fn ask(&self, line: &str, wait: u64) -> (Waiting, String) {
        let mut waiting = Waiting::spawn(self.hook_command(line, wait));
        let id = waiting.expect_request_id();
        (waiting, id)
    }

    fn approve(&self, id: &str) {
        let alice = self.broker().token("alice");
        assert_eq!(self.broker().decide(id, &alice, "approve").status, 200);
    }

    /// Run a line the way the host's shell tool would.
    fn bash(&self, line: &str) -> Output {
        self.command("bash").args(["-c", line]).output().unwrap()
    }

    /// What the host ends up running once a request is approved: the rewritten
    /// command, or (hosts that cannot rewrite) the `gate --ticket` line the hook
    /// named, which the hook then allows as it is.
    fn line_to_run(&self, seen: Seen, id: &str) -> String {
        let line = match seen {
            Seen::Runs {
                rewritten: Some(line),
            } if self.host.rewrites => line,
            Seen::Blocked(reason) if !self.host.rewrites => {
                assert!(reason.contains("approved by alice"), "{reason}");
                let line = reason
                    .split("in the same directory: ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("no line in {reason}"))
                    .trim()
                    .to_string();
                assert_eq!(
                    self.call(&line, None),
                    Seen::Runs { rewritten: None },
                    "the hook lets its own ticket line run"
                );
                line
            }
            other => panic!("{}: {other:?}", self.host.name),
        };
        assert!(line.contains(&format!("'--ticket' '{id}'")), "{line}");
        line
    }

    /// `line` runs once under gate: the file appears, the audit log has the
    /// approval and the outcome, and a second run is refused (109).
    fn runs_once(&self, line: &str) {
        let made = self.ctx.work().join("made");
        assert!(!made.exists(), "the hook itself runs nothing");
        let ran = self.bash(line);
        assert_eq!(code(&ran), 0, "{}", stderr(&ran));
        assert!(made.exists());
        let records = self.ctx.records();
        let decision = records.iter().find(|r| r["kind"] == "decision").unwrap();
        assert_eq!(decision["decision"], "approved");
        let outcome = records.iter().find(|r| r["kind"] == "outcome").unwrap();
        assert_eq!(outcome["exit_code"], 0);
        std::fs::remove_file(&made).unwrap();
        let again = self.bash(line);
        assert_eq!(code(&again), 109, "{}", stderr(&again));
        assert!(!made.exists());
    }
}

fn allow(host: HostCase) {
    let setup = Setup::new(host);
    assert_eq!(setup.call("ls -la", None), Seen::Runs { rewritten: None });
}

fn deny(host: HostCase) {
    let setup = Setup::new(host);
    let Seen::Blocked(reason) = setup.call("cd build && rm -rf out", None) else {
        panic!("{}: not blocked", host.name)
    };
    assert!(reason.contains("rule \"no rm\""), "{reason}");
    let records = setup.ctx.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["decision"], "deny");
    assert_eq!(records[0]["requester"]["agent"]["name"], host.agent);
}

fn approve_then_run(host: HostCase) {
    let setup = Setup::with_broker(host);
    let (waiting, id) = setup.ask("touch made", 30);
    setup.approve(&id);
    let done = waiting.finish();
    let seen = seen(&host, done.code, &done.stdout, &done.stderr);
    let line = setup.line_to_run(seen, &id);
    setup.runs_once(&line);
}

fn pending_and_retry(host: HostCase) {
    let setup = Setup::with_broker(host);
    let first = setup.call("touch made", Some(1));
    let Seen::Blocked(reason) = first else {
        panic!("{}: {first:?}", host.name)
    };
    let id = reason
        .split("approval pending: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("{reason}"))
        .to_string();
    assert!(reason.contains(&format!("approval pending: {id}, retry the same command")));
    // Still undecided: the retry finds the same request and says so again.
    let again = setup.call("touch made", Some(1));
    assert!(
        matches!(&again, Seen::Blocked(r) if r.contains(&format!("approval pending: {id},"))),
        "{again:?}"
    );
    setup.approve(&id);
    let retried = setup.call("touch made", Some(1));
    let line = setup.line_to_run(retried, &id);
    setup.runs_once(&line);
}

fn malformed(host: HostCase) {
    let setup = Setup::new(host);
    for stdin in ["{not json", "", "[]"] {
        let seen = call(setup.command(gate_bin()), &host, stdin.as_bytes(), None);
        let Seen::Blocked(reason) = seen else {
            panic!("{}: {stdin:?} -> {seen:?}", host.name)
        };
        assert!(reason.contains("invalid"), "{reason}");
    }
}

fn oversized(host: HostCase) {
    let setup = Setup::new(host);
    let mut event = setup.event("ls").into_bytes();
    event.resize(5 * 1024 * 1024, b' ');
    let seen = call(setup.command(gate_bin()), &host, &event, None);
    let Seen::Blocked(reason) = seen else {
        panic!("{}: {seen:?}", host.name)
    };
    assert!(reason.contains("larger than 4 MiB"), "{reason}");
}

/// The host stops a slow hook with SIGTERM: the hook answers at once, on the
/// blocking path, naming the open request, and nothing was allowed; the same
/// call later finds that request rather than asking again. Killed with SIGKILL
/// it answers nothing at all, so it never allowed anything either.
fn killed_mid_wait(host: HostCase) {
    let setup = Setup::with_broker(host);
    let (waiting, id) = setup.ask("touch made", 60);
    waiting.signal(libc::SIGTERM);
    let started = std::time::Instant::now();
    let done = waiting.finish();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let Seen::Blocked(reason) = seen(&host, done.code, &done.stdout, &done.stderr) else {
        panic!("{}: not blocked: {}", host.name, done.stdout)
    };
    assert!(
        reason.contains(&format!("approval pending: {id}")),
        "{reason}"
    );
    assert!(!setup.ctx.home().join("tickets").join(&id).exists());
    let again = setup.call("touch made", Some(1));
    assert!(
        matches!(&again, Seen::Blocked(r) if r.contains(&format!("approval pending: {id}"))),
        "{again:?}"
    );
    // SIGKILL cannot be answered: the hook printed nothing, so it allowed nothing.
    let mut waiting = Waiting::spawn(setup.hook_command("touch made", 60));
    waiting.expect_line(&format!("still waiting for a decision on request {id}"));
    waiting.signal(libc::SIGKILL);
    let done = waiting.finish();
    assert_eq!((done.code, done.stdout.as_str()), (-1, ""));
    assert!(!setup.ctx.home().join("tickets").join(&id).exists());
    assert!(!setup.ctx.work().join("made").exists());
}

macro_rules! host_tests {
    ($($module:ident => $host:expr),* $(,)?) => {$(
        mod $module {
            #[test] fn allow() { super::allow($host) }
            #[test] fn deny() { super::deny($host) }
            #[test] fn approve_then_run() { super::approve_then_run($host) }
            #[test] fn pending_and_retry() { super::pending_and_retry($host) }
            #[test] fn malformed_event() { super::malformed($host) }
            #[test] fn oversized_event() { super::oversized($host) }
            #[test] fn killed_mid_wait() { super::killed_mid_wait($host) }
        }
    )*};
}

host_tests! {
    claude_code => super::CLAUDE_CODE,
    codex => super::CODEX,
    gemini => super::GEMINI,
    cursor => super::CURSOR,
    copilot => super::COPILOT,
    cline => super::CLINE,
}

/// Tools other than the shell get no opinion from gate: the host's own rules apply.
#[test]
fn other_tools_are_left_to_the_host() {
    let ctx = TestContext::with_policy(POLICY_CLAUDE_CODE_DENY_RM_APPROVE_TOUCH);
    let cwd = ctx.work().canonicalize().unwrap();
    let cases = [
        (
            "codex",
            {
                let mut e = (CODEX.event)(&cwd, "x");
                e["tool_name"] = json!("apply_patch");
                e
            },
            "",
        ),
        (
            "gemini",
            {
                let mut e = (GEMINI.event)(&cwd, "x");
                e["tool_name"] = json!("read_file");
                e["tool_input"] = json!({"file_path": "a"});
                e
            },
            "",
        ),
        (
            "copilot",
            {
                let mut e = (COPILOT.event)(&cwd, "x");
                e["toolName"] = json!("view");
                e
            },
            "",
        ),
        (
            "cline",
            {
                let mut e = (CLINE.event)(&cwd, "x");
                e["preToolUse"]["toolName"] = json!("read_file");
                e
            },
            r#"{"cancel":false}"#,
        ),
    ];
    for (host, event, expected) in cases {
        let out = piped(
            ctx.gate().args(["hook", host]),
            event.to_string().as_bytes(),
        );
        assert_eq!((code(&out), stdout(&out).trim()), (0, expected), "{host}");
    }
}

#[test]
fn copilot_registered_under_the_vs_code_event_name_is_told_the_fix() {
    let setup = Setup::new(COPILOT);
    let event = json!({"hook_event_name": "PreToolUse", "tool_name": "bash",
                       "tool_input": {"command": "ls"}, "cwd": "/tmp", "session_id": "s"});
    let seen = call(
        setup.command(gate_bin()),
        &COPILOT,
        event.to_string().as_bytes(),
        None,
    );
    assert!(
        matches!(&seen, Seen::Blocked(r) if r.contains("under \"preToolUse\"")),
        "{seen:?}"
    );
}

/// Gemini runs the command in `dir_path` under the project: it is decided there.
#[test]
fn gemini_decides_the_command_in_its_dir_path() {
    let setup = Setup::new(GEMINI);
    std::fs::create_dir(setup.ctx.work().join("sub")).unwrap();
    let mut event = (GEMINI.event)(&setup.ctx.work().canonicalize().unwrap(), "rm -rf out");
    event["tool_input"]["dir_path"] = json!("sub");
    let seen = call(
        setup.command(gate_bin()),
        &GEMINI,
        event.to_string().as_bytes(),
        None,
    );
    assert!(matches!(seen, Seen::Blocked(_)), "{seen:?}");
    let records = setup.ctx.records();
    let cwd = records[0]["cwd"].as_str().unwrap();
    assert!(cwd.ends_with("/work/sub"), "{cwd}");
}
