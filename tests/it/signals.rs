//! Signals with a real process: forwarded TERM/HUP, INT from the terminal's process
//! group does not kill gate first, and the child's fate becomes the exit status.

use crate::common::*;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Start `gate -- sh -c "TRAPS touch READY; BODY"` in its own process group and
/// wait until the ready file exists, so the traps are installed.
fn start(ctx: &TestContext, traps: &str, body: &str) -> Child {
    let ready = ctx.work().join("ready");
    let script = format!("{traps} touch {}; {body}", ready.display());
    let mut command = ctx.gate();
    command
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.process_group(0);
    let child = command.spawn().expect("spawn gate");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "child never became ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn kill(pid: i32, signal: i32) {
    // SAFETY: sending a signal to a process (group) this test spawned.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill failed");
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("wait gate");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("gate itself died: {:?}", out.status));
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn sigterm_to_gate_is_forwarded_and_reported_as_143() {
    let ctx = TestContext::with_policy(ALLOW_ALL);
    let child = start(&ctx, "", "exec sleep 30");
    kill(child.id() as i32, libc::SIGTERM);
    let (code, _) = finish(child);
    assert_eq!(code, 128 + libc::SIGTERM);
}

#[test]
fn sighup_to_gate_is_forwarded() {
    let ctx = TestContext::with_policy(ALLOW_ALL);
    let child = start(
        &ctx,
        "trap 'echo got-hup; exit 7' HUP;",
        "while :; do sleep 0.05; done",
    );
    kill(child.id() as i32, libc::SIGHUP);
    let (code, out) = finish(child);
    assert_eq!(code, 7);
    assert!(out.contains("got-hup"), "{out}");
}

#[test]
fn sigint_to_the_process_group_reaches_the_child_and_gate_survives() {
    // A terminal's Ctrl-C goes to the whole foreground process group.
    let ctx = TestContext::with_policy(ALLOW_ALL);
    let child = start(
        &ctx,
        "trap 'echo got-int; exit 5' INT;",
        "while :; do sleep 0.05; done",
    );
    kill(-(child.id() as i32), libc::SIGINT);
    let (code, out) = finish(child);
    assert_eq!(
        code, 5,
        "gate must wait for the child and pass its status through"
    );
    assert!(out.contains("got-int"), "{out}");
}

#[test]
fn sigquit_to_the_process_group_does_not_kill_gate_first() {
    let ctx = TestContext::with_policy(ALLOW_ALL);
    let child = start(&ctx, "trap 'exit 9' QUIT;", "while :; do sleep 0.05; done");
    kill(-(child.id() as i32), libc::SIGQUIT);
    let (code, _) = finish(child);
    assert_eq!(code, 9);
}

#[test]
fn outcome_record_names_the_signal() {
    let ctx = TestContext::with_policy(ALLOW_ALL);
    let child = start(&ctx, "", "exec sleep 30");
    kill(child.id() as i32, libc::SIGTERM);
    let (code, _) = finish(child);
    assert_eq!(code, 143);
    let records = ctx.records();
    let outcome = records.last().unwrap();
    assert_eq!(outcome["kind"], "outcome");
    assert_eq!(outcome["signal"], 15);
}
