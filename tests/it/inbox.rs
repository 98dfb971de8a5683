//! `gate inbox` on a real pseudo-terminal (80x24) against a real broker, driven by
//! tests/python/drive_inbox.py, which renders the screen with the pyte emulator.

use crate::support::broker_support::Broker;
use crate::support::common::{TestContext, gate_bin};
use crate::support::fixtures::{
    BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS, create_carol_request, fetch_request,
};
use gate::approval::protocol::{Choice, Status};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Generous: a slow CI machine, never a sleep.
const TIMEOUT: f64 = 20.0;

/// `gate inbox` in a pty, steered through the driver's line protocol.
struct Pty {
    child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Pty {
    fn start(ctx: &TestContext, server: &str, token: &str) -> Pty {
        Pty::spawn(ctx.command("python3"), server, token)
    }

    fn spawn(mut python: Command, server: &str, token: &str) -> Pty {
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/drive_inbox.py");
        let mut child = python
            .arg(driver)
            .arg(gate_bin())
            .arg("inbox")
            .env("GATE_SERVER", server)
            .env("GATE_TOKEN", token)
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the pty driver");
        let commands = child.stdin.take().unwrap();
        let answers = BufReader::new(child.stdout.take().unwrap());
        Pty {
            child,
            commands,
            answers,
        }
    }

    fn call(&mut self, command: Value) -> Value {
        writeln!(self.commands, "{command}").unwrap();
        self.commands.flush().unwrap();
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("driver answered {line:?} to {command}"))
    }

    /// Wait until `text` is on the screen; fail showing the screen otherwise.
    fn wait_for(&mut self, text: &str) -> String {
        let answer = self.call(json!({"op": "wait", "text": text, "timeout": TIMEOUT}));
        let screen = answer["screen"].as_str().unwrap_or_default().to_string();
        assert_eq!(answer["ok"], true, "{text:?} never appeared on:\n{screen}");
        screen
    }

    fn wait_gone(&mut self, text: &str) {
        let answer = self.call(json!({"op": "gone", "text": text, "timeout": TIMEOUT}));
        let screen = answer["screen"].as_str().unwrap_or_default();
        assert_eq!(answer["ok"], true, "{text:?} stayed on:\n{screen}");
    }

    fn send(&mut self, keys: &str) {
        assert_eq!(self.call(json!({"op": "send", "keys": keys}))["ok"], true);
    }

    fn exit(mut self) -> Value {
        let answer = self.call(json!({"op": "exit", "timeout": TIMEOUT}));
        drop(self.commands);
        self.child.wait().unwrap();
        answer
    }
}

#[test]
fn approves_and_denies_live_requests_and_restores_the_terminal() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let first = create_carol_request(&broker, &["kubectl", "delete", "ns", "first"], 1);

    let mut pty = Pty::start(&ctx, &broker.url(), &broker.token("alice"));
    let screen = pty.wait_for("kubectl delete ns first");
    assert!(screen.contains("1 pending"), "{screen}");
    // The detail pane shows the selected request in full.
    assert!(screen.contains("Requester   carol@build-7"), "{screen}");
    assert!(screen.contains("rotate the key"), "{screen}");

    // A new request appears without a key press (the long-poll feed).
    let second = create_carol_request(&broker, &["terraform", "apply", "prod"], 1);
    pty.wait_for("terraform apply prod");
    pty.wait_for("2 pending");

    // `a` asks first; any key but `y`/Enter leaves the request pending.
    pty.send("a");
    pty.wait_for("y or Enter approve");
    pty.send("n");
    pty.wait_for(&format!("not approved: {}", first.request.id));
    assert_eq!(fetch_request(&broker, &first).status, Status::Pending);
    assert!(fetch_request(&broker, &first).votes.is_empty());

    // `a` then `y` approves the selected (oldest) request.
    pty.send("a");
    pty.wait_for("y or Enter approve");
    pty.send("y");
    pty.wait_for(&format!("approved {}", first.request.id));
    pty.wait_gone("kubectl delete ns first");
    let view = fetch_request(&broker, &first);
    assert_eq!(view.status, Status::Approved);
    assert_eq!(view.votes[0].person, "alice");
    assert_eq!(view.votes[0].channel, "inbox");

    // `d` asks for a reason; Enter sends it.
    pty.send("d");
    pty.wait_for("Enter deny");
    pty.send("too risky today");
    pty.wait_for("reason: too risky today_");
    pty.send("\r");
    pty.wait_for(&format!("denied {}", second.request.id));
    pty.wait_for("No pending requests");
    let view = fetch_request(&broker, &second);
    assert_eq!(view.status, Status::Denied);
    assert_eq!(view.votes[0].verdict, Choice::Deny);
    assert_eq!(view.votes[0].reason.as_deref(), Some("too risky today"));
    assert_eq!(view.votes[0].channel, "inbox");

    pty.send("q");
    let exit = pty.exit();
    assert_eq!(exit["ok"], true, "gate inbox did not exit: {exit}");
    assert_eq!(exit["code"], 0, "{exit}");
    assert_eq!(exit["restored"], true, "alternate screen not left: {exit}");
    assert_eq!(exit["cursor_shown"], true, "cursor left hidden: {exit}");
    assert_eq!(exit["colour"], false, "colour despite NO_COLOR: {exit}");
}

#[test]
fn refusals_show_in_the_status_line_and_esc_cancels_a_deny() {
    let ctx = TestContext::new();
    let broker = Broker::start(&ctx, BROKER_CONFIG_ALICE_BOB_APPROVE_CAROL_ASKS);
    let created = create_carol_request(&broker, &["reboot", "db-1"], 2);
    let id = &created.request.id;

    let mut pty = Pty::start(&ctx, &broker.url(), &broker.token("alice"));
    pty.wait_for("reboot db-1");
    pty.send("a");
    pty.wait_for("y or Enter approve");
    pty.send("\r");
    pty.wait_for(&format!(
        "approved {id} (1 of 2 approvals): waiting for 1 more"
    ));
    // A second vote by the same person: the broker refuses, the inbox says so and carries on.
    pty.send("a");
    pty.wait_for("y or Enter approve");
    pty.send("y");
    pty.wait_for(&format!("you have already voted on request {id}"));
    pty.send("d");
    pty.wait_for("Enter deny");
    pty.send("x\x1b");
    pty.wait_for("deny cancelled");
    pty.wait_for("reboot db-1");
    let view = fetch_request(&broker, &created);
    assert_eq!(view.status, Status::Pending);
    assert_eq!(view.votes.len(), 1);

    pty.send("\x03");
    let exit = pty.exit();
    assert_eq!(exit["code"], 0, "{exit}");
    assert_eq!(exit["restored"], true, "{exit}");
}

#[test]
fn an_unreachable_broker_shows_reconnecting_and_quits_cleanly() {
    let ctx = TestContext::new();
    let token = "not-a-real-token-0123456789";
    // Without NO_COLOR the inbox may use colour (the header, the error line).
    let mut python = ctx.command("python3");
    python.env_remove("NO_COLOR");
    let mut pty = Pty::spawn(python, "http://127.0.0.1:1", token);
    let screen = pty.wait_for("reconnecting…");
    assert!(!screen.contains(token), "{screen}");
    pty.send("q");
    let exit = pty.exit();
    assert_eq!(exit["code"], 0, "{exit}");
    assert_eq!(exit["restored"], true, "{exit}");
    assert_eq!(exit["colour"], true, "{exit}");
}

#[test]
fn without_a_terminal_the_inbox_points_to_the_cli() {
    let ctx = TestContext::new();
    let out = ctx
        .gate()
        .args([
            "inbox",
            "--server",
            "http://127.0.0.1:1",
            "--token",
            "t0ken",
        ])
        .output()
        .unwrap();
    assert_eq!(crate::support::common::code(&out), 110);
    let stderr = crate::support::common::stderr(&out);
    assert_eq!(
        stderr,
        "gate: gate inbox needs a terminal; use `gate pending` and `gate approve`/`deny` in scripts\n"
    );
}
