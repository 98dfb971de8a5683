//! `gate -- CMD` on an approve rule before and around the wait, against the fake
//! broker: what stops gate from asking (no key, insecure key, no reason, break-glass
//! not allowed, unreachable broker), the policy's `[channels.api]`, and the live
//! status line on a terminal.

use crate::support::common::*;
use crate::support::fixtures::{FakeBrokerSetup, POLICY_APPROVE_TIMEOUT_REASON_BREAK_GLASS};
use crate::support::waiting::Waiting;
use std::os::unix::fs::PermissionsExt;

#[test]
fn an_unreachable_broker_fails_closed_naming_it() {
    let setup = FakeBrokerSetup::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let marker = setup.marker();
    let out = setup
        .gate(&["--", "touch", marker.to_str().unwrap()])
        .env("GATE_SERVER", &url)
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&url) && err.contains("cannot reach"), "{err}");
    assert!(!marker.exists());
    assert_eq!(setup.last_record()["decision"], "needs-approval");
}

#[test]
fn a_rule_that_requires_a_reason_asks_for_one_first() {
    let setup = FakeBrokerSetup::new();
    let dir = setup.ctx.work().join("made");
    let out = setup
        .gate(&["--", "mkdir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--reason TEXT") && err.contains("mkdir needs a reason"),
        "{err}"
    );
    assert!(!dir.exists());
    assert!(
        setup.fake.seen().created.is_empty(),
        "no request without a reason"
    );
    let record = setup.last_record();
    assert_eq!(record["decision"], "needs-approval");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("requires a reason")
    );
}

#[test]
fn break_glass_where_the_rule_forbids_it_is_refused() {
    let setup = FakeBrokerSetup::new();
    let marker = setup.marker();
    let out = setup
        .gate(&[
            "--break-glass",
            "--reason",
            "outage",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not allow --break-glass"),
        "{}",
        stderr(&out)
    );
    assert!(setup.fake.seen().created.is_empty());
    assert!(!marker.exists());
}

#[test]
fn a_broker_without_a_pinned_key_is_not_asked() {
    let setup = FakeBrokerSetup::new();
    let marker = setup.marker();
    let out = setup
        .gate(&["--", "touch", marker.to_str().unwrap()])
        .env_remove("GATE_SERVER_KEY")
        .output()
        .unwrap();
    assert_eq!(code(&out), 103, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("gate serve pubkey") && err.contains("GATE_SERVER_KEY"),
        "{err}"
    );
    assert!(setup.fake.seen().created.is_empty());
}

#[test]
fn a_key_file_others_can_write_is_refused() {
    let setup = FakeBrokerSetup::new();
    std::fs::set_permissions(setup.key_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let marker = setup.marker();
    let out = setup
        .gate(&["--", "touch", marker.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 105, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(setup.key_path().to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    assert!(setup.fake.seen().created.is_empty());
}

#[test]
fn the_policy_names_the_broker_and_a_key_beside_it() {
    let setup = FakeBrokerSetup::new();
    let policy = format!(
        "{POLICY_APPROVE_TIMEOUT_REASON_BREAK_GLASS}\n[channels.api]\nurl = \"{}\"\nserver_key = \"broker.pem\"\n",
        setup.fake.url()
    );
    setup.ctx.write_policy(&policy);
    let marker = setup.marker();
    let mut command = setup.ctx.gate();
    command.args(["--", "touch", marker.to_str().unwrap()]);
    let mut w = Waiting::spawn(command);
    w.expect_line("approval requested");
    setup.fake.wait_for_poll();
    setup.fake.approve("alice");
    let done = w.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists());
}

/// Run `gate -- touch MARKER` under a pseudo-terminal (`script`), approve it once
/// it polls, and return everything the terminal showed.
fn on_a_terminal(setup: &FakeBrokerSetup, color: bool, cols: usize) -> String {
    use std::io::Read;
    let gate = gate_bin().to_str().unwrap().to_string();
    let line = format!(
        "stty cols {cols} rows 40; {gate} -- sh -c 'echo command-started; touch {}'",
        setup.marker().display()
    );
    let mut command = setup.ctx.command("script");
    command
        .args(["-qfec", &line, "/dev/null"])
        .env("GATE_SERVER", setup.fake.url())
        .env("GATE_SERVER_KEY", setup.key_path())
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    if color {
        command.env_remove("NO_COLOR");
    }
    let mut child = command.spawn().expect("script(1)");
    setup.fake.wait_for_poll();
    setup.fake.approve("alice");
    let mut shown = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut shown)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{shown:?}");
    shown
}

#[test]
fn a_terminal_gets_one_live_line_redrawn_in_place() {
    let setup = FakeBrokerSetup::new();
    let shown = on_a_terminal(&setup, true, 200);
    assert!(setup.marker().exists());
    let live = "waiting for alice, bob: 0/1 approvals · ";
    assert!(shown.contains(live), "{shown:?}");
    assert!(shown.contains(" left · req-1"), "{shown:?}");
    assert!(shown.contains("\r\x1b[2K"), "redrawn in place: {shown:?}");
    assert!(shown.contains("\x1b[36m"), "coloured spinner: {shown:?}");
    // The id and the link stay on screen above the live line.
    assert!(
        shown.contains("gate: approval requested (rule \"touch needs approval\"): request req-1, needs 1 of alice, bob; approve at http://broker.test/r/req-1\r\n"),
        "{shown:?}"
    );

    let plain = FakeBrokerSetup::new();
    let shown = on_a_terminal(&plain, false, 200);
    assert!(shown.contains(live), "{shown:?}");
    assert!(!shown.contains("\x1b[36m"), "NO_COLOR: {shown:?}");
}

#[test]
fn an_80_column_terminal_keeps_the_id_and_link_and_says_who_approved_first() {
    let setup = FakeBrokerSetup::new();
    let shown = on_a_terminal(&setup, false, 80);
    assert!(setup.marker().exists());
    // The request line is printed whole (the terminal wraps it), never cut.
    assert!(shown.contains("request req-1,"), "{shown:?}");
    assert!(
        shown.contains("approve at http://broker.test/r/req-1\r\n"),
        "{shown:?}"
    );
    // Every redraw of the live line fits the width, id included.
    let redraws: Vec<&str> = shown
        .split("\r\x1b[2K")
        .skip(1)
        .map(|part| part.split(['\r', '\n']).next().unwrap_or(""))
        // A redraw starts with the spinner (Braille); the rest are plain lines.
        .filter(|part| part.starts_with(|c| ('\u{2800}'..='\u{28ff}').contains(&c)))
        .collect();
    assert!(!redraws.is_empty(), "{shown:?}");
    for line in &redraws {
        assert!(line.chars().count() < 80, "wider than 80: {line:?}");
        assert!(line.ends_with("req-1"), "the id is cut: {line:?}");
    }
    // Who approved is on screen before the command's first output.
    let approved = shown
        .find("gate: alice approved via")
        .unwrap_or_else(|| panic!("no vote line: {shown:?}"));
    let started = shown.find("command-started").expect("the command ran");
    assert!(approved < started, "{shown:?}");
}
