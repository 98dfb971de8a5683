//! One `run_command` call: its arguments, the `gate --json --` child that runs it,
//! and the tool result built from what came back (bounded output, gate's refusal
//! as a tool error).

use super::OUTPUT_LIMIT;
use crate::error::exit;
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

pub(super) struct Call {
    argv: Vec<String>,
    cwd: Option<String>,
    reason: Option<String>,
}

impl Call {
    pub(super) fn parse(arguments: &Value) -> Result<Call, String> {
        let Some(object) = arguments.as_object() else {
            return Err("run_command arguments must be an object".into());
        };
        if let Some(key) = object
            .keys()
            .find(|k| !["argv", "command", "cwd", "reason"].contains(&k.as_str()))
        {
            return Err(format!(
                "run_command has no argument {key:?} (argv, command, cwd, reason)"
            ));
        }
        let text = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("run_command argument {key:?} must be a string")),
            }
        };
        let argv = match (object.get("argv"), text("command")?) {
            (Some(Value::Array(items)), None) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("run_command \"argv\" must be an array of strings")?,
            (None, Some(line)) => vec!["sh".into(), "-c".into(), line],
            _ => return Err("give run_command exactly one of \"argv\" (a non-empty array) or \"command\" (a shell line)".into()),
        };
        Ok(Call {
            argv,
            cwd: text("cwd")?,
            reason: text("reason")?,
        })
    }

    /// Run through `gate --json --` and describe the result. `started` gets the
    /// child's pid, so the call can be cancelled (SIGTERM) while it runs.
    pub(super) fn run(&self, policy: Option<&Path>, started: impl FnOnce(u32)) -> Value {
        let gate = match std::env::current_exe() {
            Ok(path) => path,
            Err(e) => return tool_error(&format!("gate cannot find its own executable: {e}")),
        };
        let mut command = Command::new(gate);
        command.arg("--json");
        if let Some(policy) = policy {
            command.arg("--policy").arg(policy);
        }
        if let Some(reason) = &self.reason {
            command.arg("--reason").arg(reason);
        }
        command.arg("--").args(&self.argv);
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return tool_error(&format!("gate could not start the command: {e}")),
        };
        started(child.id());
        let stdout = child
            .stdout
            .take()
            .map(|s| std::thread::spawn(move || bounded(s)));
        let stderr = child
            .stderr
            .take()
            .map(|s| std::thread::spawn(move || bounded(s)));
        let status = child.wait();
        let collect = |handle: Option<std::thread::JoinHandle<Bounded>>| {
            handle.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        let (stdout, stderr) = (collect(stdout), collect(stderr));
        let code = match status {
            Ok(status) => exit_code(status),
            Err(e) => return tool_error(&format!("gate lost the command: {e}")),
        };
        if let Some(refusal) = refusal(code, &stdout.text, &stderr.text) {
            return tool_error(&refusal);
        }
        let text = format!(
            "exit status: {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            stdout.shown(),
            stderr.shown()
        );
        json!({
            "content": [{ "type": "text", "text": text }],
            "structuredContent": {
                "exit_code": code,
                "stdout": stdout.shown(),
                "stderr": stderr.shown(),
                "stdout_truncated": stdout.omitted > 0,
                "stderr_truncated": stderr.omitted > 0,
            },
            "isError": false,
        })
    }
}

pub(super) fn tool_error(message: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": message }], "isError": true })
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|n| 128 + n))
        .unwrap_or(-1)
}

/// gate refused (nothing ran): its JSON on stdout says `"ran": false` and its
/// `message` is gate's one-line reason (else gate's own `gate: ...` line on stderr).
fn refusal(code: i32, stdout: &str, stderr: &str) -> Option<String> {
    let gate_code = (i32::from(exit::DENIED)..=i32::from(exit::INTERNAL)).contains(&code);
    let not_found = code == i32::from(exit::NOT_FOUND) || code == i32::from(exit::NOT_EXECUTABLE);
    let json: Option<Value> = serde_json::from_str(stdout.trim()).ok();
    let ran = json
        .as_ref()
        .and_then(|v| v.get("ran"))
        .and_then(Value::as_bool);
    let refused = ((gate_code || not_found) && ran == Some(false))
        || (gate_code && stdout.trim().is_empty())
        || (not_found && stdout.is_empty() && stderr.lines().any(|l| l.starts_with("gate: ")));
    if !refused {
        return None;
    }
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let line = field("message")
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("gate: "))
                .map(str::to_string)
        })
        .or_else(|| field("reason").map(|r| format!("gate: {r}")))
        .unwrap_or_else(|| format!("gate: refused (exit {code})"));
    Some(format!("{line} (gate exit code {code})"))
}

#[derive(Default)]
struct Bounded {
    text: String,
    omitted: u64,
}

impl Bounded {
    fn shown(&self) -> String {
        if self.omitted == 0 {
            self.text.clone()
        } else {
            format!(
                "{}\n[gate: output truncated, {} more bytes not shown]",
                self.text, self.omitted
            )
        }
    }
}

/// Read a stream to its end, keeping the first [`OUTPUT_LIMIT`] bytes.
fn bounded(mut stream: impl Read) -> Bounded {
    let mut kept = Vec::new();
    let mut omitted = 0u64;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                let take = room.min(n);
                kept.extend_from_slice(&buf[..take]);
                omitted += (n - take) as u64;
            }
        }
    }
    Bounded {
        text: String::from_utf8_lossy(&kept).into_owned(),
        omitted,
    }
}
