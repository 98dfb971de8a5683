//! A test context: its own GATE_HOME and working directory, a clean environment,
//! and helpers to run the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct TestContext {
    pub dir: tempfile::TempDir,
}

impl TestContext {
    pub fn new() -> TestContext {
        let ctx = TestContext {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir_all(ctx.home()).unwrap();
        std::fs::create_dir_all(ctx.work()).unwrap();
        ctx
    }

    /// A context whose policy file (GATE_POLICY) has the given text.
    pub fn with_policy(policy: &str) -> TestContext {
        let ctx = TestContext::new();
        ctx.write_policy(policy);
        ctx
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn policy_path(&self) -> PathBuf {
        self.dir.path().join("policy.toml")
    }

    pub fn write_policy(&self, text: &str) {
        self.write_private("policy.toml", text);
    }

    /// Write `text` to `name` beside the home and work directories, mode 0600; its path.
    pub fn write_private(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// `gate` with a clean environment: only PATH, HOME, this GATE_HOME and the policy.
    pub fn gate(&self) -> Command {
        self.command(gate_bin())
    }

    /// Any program with the same clean environment as [`TestContext::gate`].
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GATE_HOME", self.home())
            .env("NO_COLOR", "1")
            .current_dir(self.work());
        if self.policy_path().exists() {
            command.env("GATE_POLICY", self.policy_path());
        }
        command
    }

    /// A PATH with stand-ins for `names` first: each records that it ran as
    /// `ran/NAME` beside the home (see [`TestContext::stand_ins_ran`]).
    pub fn stand_ins(&self, names: &[&str]) -> String {
        let bin = self.dir.path().join("bin");
        let ran = self.dir.path().join("ran");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&ran).unwrap();
        for name in names {
            let path = bin.join(name);
            let script = format!("#!/bin/sh\ntouch '{}/{name}'\n", ran.display());
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `gate -- ARGV` with `path` (from [`TestContext::stand_ins`]) as PATH.
    pub fn run_with_path(&self, path: &str, argv: &[&str]) -> Output {
        self.gate()
            .env("PATH", path)
            .arg("--")
            .args(argv)
            .output()
            .unwrap()
    }

    /// The names of the stand-ins that ran.
    pub fn stand_ins_ran(&self) -> Vec<String> {
        let mut ran: Vec<String> = std::fs::read_dir(self.dir.path().join("ran"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        ran.sort();
        ran
    }

    /// The `"decision"` of `gate check --json -- ARGV` (which must succeed).
    pub fn decision(&self, argv: &[&str]) -> String {
        let out = self
            .gate()
            .args(["check", "--json", "--"])
            .args(argv)
            .output()
            .expect("run gate check");
        assert_eq!(code(&out), 0, "{argv:?}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|err| panic!("{argv:?}: {err}: {}", stderr(&out)));
        json["decision"].as_str().unwrap_or_default().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.gate().args(args).output().expect("run gate")
    }

    /// The audit log exported as JSON values, oldest first.
    pub fn records(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["audit", "export", "--format", "jsonl"]);
        assert!(out.status.success(), "export failed: {}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|line| serde_json::from_str(line).expect("jsonl line"))
            .collect()
    }
}

pub fn gate_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_gate"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Each argv must get `expected` from `gate check --json`; all wrong ones are listed.
pub fn expect_decisions(ctx: &TestContext, expected: &str, shapes: &[&[&str]]) {
    let wrong: Vec<String> = shapes
        .iter()
        .map(|argv| (argv, ctx.decision(argv)))
        .filter(|(_, got)| got != expected)
        .map(|(argv, got)| format!("{argv:?} -> {got}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "expected {expected}:\n{}",
        wrong.join("\n")
    );
}
