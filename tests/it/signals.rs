//! Signals with a real process: forwarded TERM/HUP, INT from the terminal's process
//! group does not kill gate first, and the child's fate becomes the exit status.

use crate::support::common::*;
use crate::support::fixtures::POLICY_ALLOW_ALL;
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
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let child = start(&ctx, "", "exec sleep 30");
    kill(child.id() as i32, libc::SIGTERM);
    let (code, _) = finish(child);
    assert_eq!(code, 128 + libc::SIGTERM);
}

#[test]
fn sighup_to_gate_is_forwarded() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
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
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
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
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let child = start(&ctx, "trap 'exit 9' QUIT;", "while :; do sleep 0.05; done");
    kill(-(child.id() as i32), libc::SIGQUIT);
    let (code, _) = finish(child);
    assert_eq!(code, 9);
}

#[test]
fn outcome_record_names_the_signal() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let child = start(&ctx, "", "exec sleep 30");
    kill(child.id() as i32, libc::SIGTERM);
    let (code, _) = finish(child);
    assert_eq!(code, 143);
    let records = ctx.records();
    let outcome = records.last().unwrap();
    assert_eq!(outcome["kind"], "outcome");
    assert_eq!(outcome["signal"], 15);
}

/// Run `gate -- sh -c SCRIPT` on a real terminal (a pty made by `script`), type
/// `key` once the script is ready, and return `script`'s exit code and output.
fn on_a_terminal(ctx: &TestContext, traps: &str, body: &str, key: u8) -> (i32, String) {
    use std::io::Write;
    let ready = ctx.work().join("ready");
    let inner = format!("{traps} touch {}; {body}", ready.display());
    // `exec`: the shell `script` starts must not stay around to catch the key itself.
    let line = format!("exec {} -- sh -c '{inner}'", gate_bin().display());
    let mut script = ctx
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is needed for terminal tests: apt-get install bsdutils");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "child never became ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdin = script.stdin.take().unwrap();
    stdin.write_all(&[key]).unwrap();
    let out = script.wait_with_output().unwrap();
    drop(stdin);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn ctrl_c_on_a_terminal_reaches_the_child_and_gate_waits_for_it() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    // The terminal sends SIGINT to the whole foreground group: gate must not die of
    // it, and must wait for the child to finish handling it.
    // (No single quotes: the script runs inside sh -c '...'.)
    let traps = "n=0; on_int() { n=$((n+1)); }; trap on_int INT;";
    let body = "while [ $n -eq 0 ]; do sleep 0.05; done; sleep 0.5; echo got-int-$n; exit 5";
    let (code, out) = on_a_terminal(&ctx, traps, body, 0x03);
    assert_eq!(
        code, 5,
        "gate must survive Ctrl-C and pass the child's status through: {out}"
    );
    assert!(out.contains("got-int-1"), "{out}");
}

#[test]
fn ctrl_backslash_on_a_terminal_reaches_the_child() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    let (code, out) = on_a_terminal(
        &ctx,
        "trap \"echo got-quit; exit 6\" QUIT;",
        "while :; do sleep 0.05; done",
        0x1c,
    );
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("got-quit"), "{out}");
}
