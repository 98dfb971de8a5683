//! Programs that run programs: wrappers, remote and container execution,
//! configuration that runs commands and inline interpreter code are judged by the
//! command they really run, through `gate check --json`; for a sample, `gate --`
//! with stand-in programs proves a denied shape runs nothing. Everyday commands
//! stay allowed under the embedded default and a permissive policy.

use crate::support::common::*;
use crate::support::fixtures::POLICY_SHAPES_GUARDED;

const PERMISSIVE: &str = "version = 1\ndefault = \"allow\"\nopaque = \"approve\"\n";

#[test]
fn wrappers_are_judged_by_the_command_they_run() {
    let ctx = TestContext::with_policy(POLICY_SHAPES_GUARDED);
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["chroot", "/mnt", "rm", "-rf", "/"],
            &["unshare", "-rm", "--fork", "rm", "-rf", "/"],
            &["nsenter", "--target=1", "-m", "-n", "rm", "-rf", "/"],
            &["strace", "-f", "-o", "/tmp/t", "rm", "-rf", "/"],
            &["strace", "-o", "|rm -rf /", "true"],
            &["ltrace", "-f", "rm", "-rf", "/"],
            &["setpriv", "--reuid=0", "rm", "-rf", "/"],
            &["prlimit", "--nofile=64", "rm", "-rf", "/"],
            &["setarch", "x86_64", "-R", "rm", "-rf", "/"],
            &["linux64", "rm", "-rf", "/"],
            &["sg", "wheel", "-c", "rm -rf /"],
            &["script", "-qc", "rm -rf /", "/dev/null"],
            &["dbus-run-session", "--", "rm", "-rf", "/"],
            &["systemd-run", "--user", "--wait", "rm", "-rf", "/"],
            &["ip", "netns", "exec", "blue", "rm", "-rf", "/"],
            &["valgrind", "--tool=none", "rm", "-rf", "/"],
            &["gdb", "-batch", "-ex", "run", "--args", "rm", "-rf", "/"],
            &["gdb", "-batch", "-ex", "shell rm -rf /"],
            &["parallel", "rm", ":::", "-rf", ":::", "/"],
            &["flatpak-spawn", "--host", "rm", "-rf", "/"],
            &["firejail", "--noprofile", "rm", "-rf", "/"],
        ],
    );
    expect_decisions(
        &ctx,
        "approve",
        &[
            &[
                "timeout", "5", "strace", "-f", "kubectl", "delete", "ns", "a",
            ],
            &["chroot", "/mnt"],
            &["gdb", "-ex", "python import os", "-batch"],
            &["strace", "--no-such-option", "true"],
            &["parallel", "::::", "commands.txt"],
        ],
    );
}

#[test]
fn remote_and_container_commands_are_judged_by_the_inner_command() {
    let ctx = TestContext::with_policy(POLICY_SHAPES_GUARDED);
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["ssh", "host", "rm", "-rf", "/"],
            &["ssh", "-p", "2222", "host", "-t", "rm -rf /tmp/x"],
            &["ssh", "-o", "ProxyCommand=rm -rf /", "host", "true"],
            &[
                "kubectl", "exec", "-it", "pod", "-c", "ctr", "--", "sh", "-c", "rm -rf /",
            ],
            &["docker", "run", "--rm", "alpine", "rm", "-rf", "/"],
            &[
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "rm",
                "alpine",
                "-rf",
                "/",
            ],
            &["docker", "exec", "-it", "ctr", "rm", "-rf", "/"],
            &["docker", "compose", "run", "web", "rm", "-rf", "/"],
            &[
                "docker",
                "compose",
                "-f",
                "ci.yml",
                "-p",
                "ci",
                "run",
                "--rm",
                "-e",
                "A=1",
                "-u",
                "root",
                "--no-deps",
                "web",
                "sh",
                "-c",
                "rm -rf /",
            ],
            &[
                "docker-compose",
                "exec",
                "-T",
                "--index",
                "2",
                "web",
                "rm",
                "-rf",
                "/",
            ],
            &["podman", "compose", "exec", "web", "rm", "-rf", "/"],
            &["podman-compose", "run", "--rm", "web", "rm", "-rf", "/"],
            &["scp", "-o", "ProxyCommand=rm -rf /", "f", "h:/tmp/"],
            &["scp", "-oLocalCommand rm -rf /", "f", "h:"],
            &["scp", "f", "h:x; rm -rf /"],
            &["sftp", "-o", "KnownHostsCommand=rm -rf /", "h"],
            &["sftp", "-D", "rm -rf /", "h"],
            &[
                "podman",
                "container",
                "run",
                "-v",
                "/:/h:Z",
                "alpine",
                "sh",
                "-c",
                "rm -rf /h",
            ],
        ],
    );
    expect_decisions(
        &ctx,
        "approve",
        &[
            &["ssh", "host", "kubectl", "delete", "ns", "payments"],
            &["ssh", "host"],
            &["kubectl", "exec", "pod", "--", "terraform", "apply"],
            &["docker", "run", "--no-such-flag", "alpine", "true"],
            &[
                "docker", "compose", "run", "web", "kubectl", "delete", "ns", "a",
            ],
            &["docker", "compose", "run", "--entrypoint", "sh", "web"],
            &["docker", "compose", "run", "--no-such-flag", "web", "true"],
            &["docker-compose", "--no-such-flag", "up"],
            &["podman-compose", "--podman-path", "./engine", "up"],
            &["scp", "-F", "ssh_config", "f", "h:"],
            &["scp", "-S", "./fake-ssh", "f", "h:"],
            &["scp", "-o", "PKCS11Provider=/tmp/p.so", "f", "h:"],
            &["sftp", "h"],
            &["sftp", "-b", "cmds.txt", "h"],
            &["sftp", "-S", "strace", "h"],
        ],
    );
}

#[test]
fn configuration_that_runs_commands_is_opaque() {
    let ctx = TestContext::with_policy(POLICY_SHAPES_GUARDED);
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["git", "-c", "alias.x=!rm -rf /", "x"],
            &["git", "-c", "core.pager=rm -rf /", "log"],
            &["git", "-c", "core.sshCommand=rm -rf /", "fetch"],
            &["env", "GIT_SSH_COMMAND=rm -rf /", "git", "fetch"],
            &[
                "tar",
                "--checkpoint-action=exec=rm -rf /",
                "-cf",
                "a.tar",
                ".",
            ],
            &["tar", "--to-command=rm -rf /", "-xf", "a.tar"],
            &["zip", "-T", "-TT", "rm -rf /", "a.zip", "f"],
            &["rsync", "-e", "rm -rf /", "a", "h:b"],
            &["env", "LESSOPEN=|rm -rf / %s", "less", "f"],
            &["find", ".", "-okdir", "rm", "-rf", "{}", ";"],
        ],
    );
    expect_decisions(
        &ctx,
        "approve",
        &[
            &["git", "-c", "core.fsmonitor=./hook --all", "status"],
            &["git", "-c", "alias.st=push --force", "st"],
            &["make", "--eval=all:; true", "all"],
            &["env", "GIT_EXTERNAL_DIFF=sh ./x.sh", "git", "diff"],
            &["find", "/", "-name", "rm", "-exec", "{}", "-rf", "/", ";"],
            // rsync runs its remote shell as `PROGRAM HOST rsync --server …`.
            &["rsync", "-e", "strace", "a", "h:b"],
            &["rsync", "--rsh=bash", "a", "h:b"],
            &["rsync", "-e", "bash -c x", "a", "h:b"],
        ],
    );
}

#[test]
fn inline_interpreter_code_is_screened() {
    let ctx = TestContext::with_policy(POLICY_SHAPES_GUARDED);
    expect_decisions(
        &ctx,
        "deny",
        &[
            &["python3", "-c", "import os; os.system('rm -rf /')"],
            &[
                "python3",
                "-c",
                "import subprocess; subprocess.run(['rm', '-rf', '/'])",
            ],
            &["perl", "-e", "system('rm -rf /')"],
            &["ruby", "-e", "puts `rm -rf /`"],
            &[
                "node",
                "-e",
                "require('child_process').execSync('rm -rf /')",
            ],
            &["php", "-r", "system('rm -rf /');"],
            &["lua", "-e", "os.execute('rm -rf /')"],
            &["awk", "BEGIN { system(\"rm -rf /\") }"],
            &["sed", "1e rm -rf /", "f"],
            &[
                "deno",
                "eval",
                "new Deno.Command('rm', { args: ['-rf', '/'] }).outputSync()",
            ],
            &[
                "deno",
                "eval",
                "-p",
                "Deno.run({ cmd: ['rm', '-rf', '/'] })",
            ],
            &[
                "deno",
                "repl",
                "--eval",
                "new Deno.Command('rm -rf /').spawn()",
            ],
            &["bun", "-e", "Bun.spawnSync(['rm', '-rf', '/'])"],
            &["bun", "--print", "await Bun.$`rm -rf /`"],
            &["bun", "exec", "rm -rf /"],
            &["deno", "task", "--eval", "rm -rf /"],
        ],
    );
    expect_decisions(
        &ctx,
        "approve",
        &[
            &["python3", "-c", "import os; os.system(cmd)"],
            &["python3", "-c", "__import__('os').system('x')"],
            &["node", "-e", "require('child_' + 'process')"],
            &["perl", "-pe", "s/x/y/e", "f"],
            &["tclsh"],
            &["sed", "s/.*/&/e", "f"],
            &["deno", "eval", "new Deno.Command(cmd).outputSync()"],
            &["deno", "eval", "const { Command } = Deno"],
            &["bun", "-e", "const sh = Bun.$; await sh`ls`"],
            &["bun", "-e", "await Bun.$`rm ${dir}`"],
            &["bun", "--preload", "./p.ts", "-e", "1"],
            &["deno", "run", "-"],
            &["deno", "repl"],
        ],
    );
}

#[test]
fn inline_code_setting_opaque_makes_other_inline_code_opaque() {
    let ctx = TestContext::with_policy(&format!(
        "inline_code = \"opaque\"\n{POLICY_SHAPES_GUARDED}"
    ));
    assert_eq!(ctx.decision(&["python3", "-c", "print(1+1)"]), "approve");
    assert_eq!(ctx.decision(&["python3", "script.py"]), "allow");
    let lint = ctx
        .gate()
        .args(["policy", "lint"])
        .arg(ctx.policy_path())
        .output()
        .unwrap();
    assert_eq!(code(&lint), 0, "{}", stderr(&lint));
    ctx.write_policy(&format!(
        "inline_code = \"strict\"\n{POLICY_SHAPES_GUARDED}"
    ));
    let out = ctx.gate().args(["check", "--", "true"]).output().unwrap();
    assert!(stderr(&out).contains("inline_code"), "{}", stderr(&out));
}

#[test]
fn denied_shapes_run_nothing() {
    let ctx = TestContext::with_policy(POLICY_SHAPES_GUARDED);
    let names = [
        "ssh", "docker", "kubectl", "strace", "git", "tar", "python3", "parallel",
    ];
    let path = ctx.stand_ins(&names);
    let shapes: &[&[&str]] = &[
        &["ssh", "host", "rm", "-rf", "/"],
        &["docker", "run", "--rm", "alpine", "rm", "-rf", "/"],
        &["kubectl", "exec", "pod", "--", "rm", "-rf", "/"],
        &["strace", "-f", "rm", "-rf", "/"],
        &["git", "-c", "core.pager=rm -rf /", "log"],
        &["tar", "--to-command=rm -rf /", "-xf", "a.tar"],
        &["python3", "-c", "import os; os.system('rm -rf /')"],
        &["parallel", "rm", ":::", "-rf", ":::", "/"],
        &["docker", "compose", "run", "--rm", "web", "rm", "-rf", "/"],
    ];
    for argv in shapes {
        let out = ctx.run_with_path(&path, argv);
        assert_eq!(code(&out), 100, "{argv:?}: {}", stderr(&out));
    }
    let ran = ctx.stand_ins_ran();
    assert!(ran.is_empty(), "stand-ins ran: {ran:?}");
    // The stand-ins do run when the shape is allowed.
    let out = ctx.run_with_path(&path, &["ssh", "host", "uptime"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(ctx.stand_ins_ran(), ["ssh"]);
}

const EVERYDAY: &[&[&str]] = &[
    &["git", "status"],
    &["git", "diff", "--stat"],
    &["git", "log", "--oneline", "-5"],
    &["git", "-c", "color.ui=never", "log"],
    &["cargo", "test"],
    &["npm", "test"],
    &["pytest", "-q"],
    &["python3", "-m", "pytest"],
    &["ls", "-la"],
    &["cat", "README.md"],
    &["grep", "-rn", "TODO", "src"],
    &["rg", "fn main"],
    &["find", ".", "-name", "*.rs"],
    &["kubectl", "get", "pods"],
    &["terraform", "plan"],
    &["python3", "-c", "print(1+1)"],
    &[
        "python3",
        "-c",
        "import json,sys; print(json.load(sys.stdin))",
    ],
    &["python3", "-c", "import sys; print(sys.version)"],
    &["node", "-e", "console.log(1)"],
    &["ssh", "host", "uptime"],
    &["docker", "run", "--rm", "alpine", "echo", "hi"],
    &["docker", "exec", "web", "ls", "/app"],
    &["awk", "{print $1}", "f"],
    &["sed", "-n", "s/a/b/p", "f"],
    &["perl", "-lne", "print if /x/", "f"],
    &["tar", "-czf", "out.tgz", "dir"],
    &["rsync", "-avz", "-e", "ssh", "a", "h:b"],
    &["rsync", "-az", "-e", "ssh -p 2222", "a", "h:b"],
    &["env", "PAGER=cat", "git", "log"],
    &["timeout", "60", "cargo", "test"],
    &["git", "-C", "repo", "status"],
    &["git", "push", "-u", "origin", "feature"],
    &["kubectl", "-n", "dev", "get", "pods", "-o", "wide"],
    &["terraform", "-chdir=infra", "plan"],
    &["helm", "list", "-A"],
    &["rm", "-f", "out.log"],
    &["curl", "-sSL", "https://example.com/install.txt"],
    &["docker", "ps", "-a"],
    &["docker", "compose", "up", "-d"],
    &["docker", "compose", "ps"],
    &["docker", "compose", "logs", "-f", "web"],
    &["docker", "compose", "run", "--rm", "web", "pytest"],
    &["docker", "compose", "exec", "web", "ls", "/app"],
    &["docker-compose", "-f", "dev.yml", "up", "--build"],
    &["scp", "file", "host:/tmp/"],
    &["scp", "-r", "-P", "2222", "host:logs/", "."],
    &["deno", "eval", "console.log(1)"],
    &["deno", "run", "main.ts"],
    &["deno", "run", "--allow-net", "--allow-read=.", "server.ts"],
    &["deno", "test"],
    &["bun", "-e", "console.log(1)"],
    &["bun", "run", "build"],
    &["bun", "test"],
];

#[test]
fn everyday_commands_stay_allowed_under_the_embedded_default() {
    expect_decisions(&TestContext::new(), "allow", EVERYDAY);
}

#[test]
fn everyday_commands_stay_allowed_under_a_permissive_policy() {
    expect_decisions(&TestContext::with_policy(PERMISSIVE), "allow", EVERYDAY);
}
