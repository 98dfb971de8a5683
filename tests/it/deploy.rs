//! The deployment files in deploy/: the systemd unit passes `systemd-analyze
//! verify` without a warning, its hardening keeps the exposure `systemd-analyze
//! security` reports low, and its ExecStart is a command line this gate runs as
//! a broker that stops cleanly on the unit's KillSignal. The container image's
//! Dockerfile is in `container`.

mod container;

use crate::support::common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn unit_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/gate-serve.service");
    std::fs::read_to_string(path).unwrap()
}

/// The unit with the installed path swapped for the gate under test.
fn unit_here(dir: &Path) -> std::path::PathBuf {
    let text = unit_text().replace("/usr/local/bin/gate", gate_bin().to_str().unwrap());
    let path = dir.join("gate-serve.service");
    std::fs::write(&path, text).unwrap();
    path
}

fn systemd_analyze() -> Command {
    let found = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        found.is_ok_and(|out| out.status.success()),
        "systemd-analyze is missing: install Debian's systemd package (.ci/run does)"
    );
    Command::new("systemd-analyze")
}

#[test]
fn the_systemd_unit_verifies_without_a_warning_and_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let out = systemd_analyze().arg("verify").arg(&unit).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "", "systemd-analyze verify warned");
    // A misspelt key is what verify catches (and what this test would miss
    // if it only looked at the exit status).
    let broken = dir.path().join("broken.service");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&unit)
            .unwrap()
            .replace("NoNewPrivileges=", "NoNewPrivilege="),
    )
    .unwrap();
    let out = systemd_analyze()
        .arg("verify")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(stderr(&out).contains("Unknown key"), "{}", stderr(&out));

    let out = systemd_analyze()
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let exposure: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for gate-serve.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(exposure <= 2.0, "exposure {exposure}:\n{text}");
}

#[test]
fn the_units_command_line_runs_a_broker_that_stops_on_sigterm() {
    let ctx = TestContext::new();
    let config = ctx.write_private("broker.toml", "version = 1\n[people.alice]\n");
    let text = unit_text();
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let home = text
        .lines()
        .find_map(|l| l.strip_prefix("Environment=GATE_HOME="))
        .expect("GATE_HOME");
    assert_eq!(home, "/var/lib/gate");
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|arg| match arg {
            "/etc/gate/broker.toml" => config.to_str().unwrap().to_string(),
            "127.0.0.1:8787" => "127.0.0.1:0".to_string(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(args[..2], ["serve", "--config"], "{exec}");
    let mut child = ctx
        .gate()
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("listening on"));
    assert!(listening, "the broker never listened");
    assert!(text.contains("KillSignal=SIGTERM"));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM (the unit allows 30 s)"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
