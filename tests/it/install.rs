//! install.sh, run against stand-in `cargo`, `rustc` and `rustup` programs that
//! record how they were called (a real release build takes minutes).

mod completions;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// A HOME with stand-in tools on a PATH of their own. `musl_target` lists the
    /// musl target as installed; `musl_gcc` provides a musl C compiler.
    fn new(musl_target: bool, musl_gcc: bool) -> Sandbox {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir_all(sandbox.tools()).unwrap();
        std::fs::create_dir_all(sandbox.system()).unwrap();
        std::fs::create_dir_all(sandbox.home()).unwrap();
        // Only the utilities install.sh uses, so a cargo or musl-gcc installed on
        // this machine cannot leak in.
        for utility in [
            "dirname", "sed", "grep", "mkdir", "chmod", "cat", "tr", "mv", "rm", "cp",
        ] {
            let found = ["/usr/bin", "/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(utility))
                .find(|path| path.exists())
                .unwrap_or_else(|| panic!("{utility} not found"));
            std::os::unix::fs::symlink(found, sandbox.system().join(utility)).unwrap();
        }
        sandbox.tool("rustc", "echo 'host: x86_64-unknown-linux-gnu'");
        let installed = if musl_target {
            "x86_64-unknown-linux-gnu\nx86_64-unknown-linux-musl"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        sandbox.tool("rustup", &format!("printf '{installed}\\n'"));
        if musl_gcc {
            sandbox.tool("musl-gcc", "exit 0");
        }
        // cargo install --root PREFIX ... puts a `gate` into PREFIX/bin.
        let log = sandbox.cargo_log();
        sandbox.tool(
            "cargo",
            &format!(
                r#"echo "CWD=$PWD RUSTFLAGS=$RUSTFLAGS CC_MUSL=${{CC_x86_64_unknown_linux_musl:-}} ARGS=$*" >> '{log}'
root=""; prev=""
for arg in "$@"; do [ "$prev" = --root ] && root="$arg"; prev="$arg"; done
mkdir -p "$root/bin"
printf '#!/bin/sh\necho "gate 0.1.0"\n' > "$root/bin/gate"
chmod +x "$root/bin/gate""#,
                log = log.display()
            ),
        );
        sandbox
    }

    fn tools(&self) -> PathBuf {
        self.dir.path().join("tools")
    }

    fn system(&self) -> PathBuf {
        self.dir.path().join("system")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn cargo_log(&self) -> PathBuf {
        self.dir.path().join("cargo.log")
    }

    fn tool(&self, name: &str, body: &str) {
        let path = self.tools().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Run install.sh with PATH = the stand-ins + the shell utilities it needs.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = format!("{}:{}", self.tools().display(), self.system().display());
        let mut command = Command::new("/bin/bash");
        command
            .arg(INSTALL)
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home());
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("run install.sh")
    }

    fn cargo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.cargo_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn installs_into_prefix_bin_with_cargo_install_locked_and_is_idempotent() {
    let sandbox = Sandbox::new(true, true);
    let prefix = sandbox.dir.path().join("prefix");
    let prefix_text = prefix.display().to_string();
    for _ in 0..2 {
        let output = sandbox.run(&[], &[("PREFIX", &prefix_text)]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stdout(&output).contains(&format!("installed {prefix_text}/bin/gate (gate 0.1.0)")),
            "{}",
            stdout(&output)
        );
    }
    let calls = sandbox.cargo_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for call in &calls {
        // From the checkout, so its .cargo/config.toml (SQLite flags) applies.
        assert!(
            call.starts_with(&format!("CWD={} ", env!("CARGO_MANIFEST_DIR"))),
            "{call}"
        );
        assert!(
            call.contains(&format!(
                "ARGS=install --locked --path . --root {prefix_text} --force"
            )),
            "{call}"
        );
        assert!(
            call.contains("--target x86_64-unknown-linux-musl"),
            "{call}"
        );
        // Debian's musl-tools has only `musl-gcc`; the C builds are pointed at it.
        assert!(call.contains("CC_MUSL=musl-gcc "), "{call}");
        assert!(
            call.contains("-C target-feature=+crt-static -C relocation-model=static"),
            "{call}"
        );
    }
    assert!(prefix.join("bin/gate").exists());
}

#[test]
fn default_prefix_is_home_local_and_a_missing_path_entry_is_explained() {
    let sandbox = Sandbox::new(true, true);
    let output = sandbox.run(&[], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let bin = sandbox.home().join(".local/bin");
    assert!(bin.join("gate").exists());
    let text = stdout(&output);
    assert!(
        text.contains(&format!("note: {} is not on your PATH", bin.display())),
        "{text}"
    );
    assert!(text.contains("export PATH="), "{text}");
}

#[test]
fn no_path_note_when_the_bin_dir_is_on_path() {
    let sandbox = Sandbox::new(true, true);
    let bin = sandbox.home().join(".local/bin");
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        sandbox.tools().display(),
        sandbox.system().display()
    );
    let output = sandbox.run(&[], &[("PATH", &path)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stdout(&output).contains("not on your PATH"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn without_the_musl_toolchain_it_builds_static_glibc_and_says_how_to_get_musl() {
    for (target, gcc) in [(false, true), (true, false)] {
        let sandbox = Sandbox::new(target, gcc);
        let output = sandbox.run(&[], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let calls = sandbox.cargo_calls();
        assert!(
            calls[0].contains("--target x86_64-unknown-linux-gnu"),
            "{calls:?}"
        );
        assert!(calls[0].contains("+crt-static"), "{calls:?}");
        assert!(
            stdout(&output).contains("rustup target add x86_64-unknown-linux-musl"),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn gate_pie_and_gate_build_target_change_the_build() {
    let sandbox = Sandbox::new(true, true);
    let flags = sandbox.run(&["--print-rustflags"], &[("GATE_PIE", "1")]);
    assert_eq!(stdout(&flags).trim(), "-C target-feature=+crt-static");
    let target = sandbox.run(
        &["--print-target"],
        &[("GATE_BUILD_TARGET", "x86_64-unknown-linux-gnu")],
    );
    assert_eq!(stdout(&target).trim(), "x86_64-unknown-linux-gnu");
    assert!(sandbox.cargo_calls().is_empty(), "printing must not build");
}

#[test]
fn missing_cargo_is_a_clear_error() {
    let sandbox = Sandbox::new(true, true);
    std::fs::remove_file(sandbox.tools().join("cargo")).unwrap();
    let output = sandbox.run(&[], &[]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("install.sh: cargo not found"), "{text}");
    assert!(text.contains("https://rustup.rs"), "{text}");
    assert!(!Path::new(&sandbox.home().join(".local/bin/gate")).exists());
}
