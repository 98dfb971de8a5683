//! Compose's `run`/`exec` and ssh's file-copy programs (`scp`, `sftp`): the inner
//! command or the local commands their options name are analysed; what cannot
//! be seen is opaque.

use super::*;

#[test]
fn compose_run_and_exec_analyse_the_service_command() {
    let inner = |argv: &[&str]| finds(&run(argv), "rm -rf /");
    for argv in [
        &["docker", "compose", "run", "web", "rm", "-rf", "/"][..],
        &[
            "docker-compose",
            "run",
            "--rm",
            "-T",
            "web",
            "rm",
            "-rf",
            "/",
        ],
        &[
            "docker",
            "compose",
            "-f",
            "a.yml",
            "-f",
            "b.yml",
            "-p",
            "proj",
            "--profile",
            "dev",
            "--env-file",
            ".env",
            "--project-directory",
            ".",
            "--ansi",
            "never",
            "--progress",
            "plain",
            "--parallel",
            "2",
            "--compatibility",
            "--dry-run",
            "run",
            "web",
            "rm",
            "-rf",
            "/",
        ],
        &[
            "docker",
            "compose",
            "run",
            "-d",
            "--rm",
            "-e",
            "K=V",
            "-eX=1",
            "-u",
            "root",
            "-w",
            "/app",
            "-v",
            "/:/h",
            "-p",
            "80:80",
            "--name",
            "n",
            "--no-deps",
            "-i",
            "--service-ports",
            "-l",
            "a=b",
            "--build",
            "--pull",
            "always",
            "--cap-add",
            "ALL",
            "web",
            "rm",
            "-rf",
            "/",
        ],
        &[
            "docker",
            "compose",
            "exec",
            "-d",
            "--privileged",
            "-u",
            "0",
            "-T",
            "--index",
            "2",
            "-e",
            "A=1",
            "-w",
            "/",
            "web",
            "rm",
            "-rf",
            "/",
        ],
        &[
            "docker-compose",
            "--verbose",
            "exec",
            "web",
            "rm",
            "-rf",
            "/",
        ],
        &["podman", "compose", "run", "web", "sh", "-c", "rm -rf /"],
        &["podman-compose", "-p", "x", "exec", "web", "rm", "-rf", "/"],
        &[
            "docker", "-H", "tcp://h", "compose", "exec", "web", "rm", "-rf", "/",
        ],
        &["docker", "compose", "run", "--", "web", "rm", "-rf", "/"],
    ] {
        assert!(inner(argv), "{argv:?}: {:?}", run(argv));
    }
    assert_eq!(
        run(&["docker", "compose", "run", "--rm", "web", "pytest"]),
        [
            plain("docker compose run --rm web pytest", &[]),
            plain("pytest", &["docker compose run"])
        ]
    );
}

#[test]
fn compose_without_a_command_reports_the_invocation() {
    for argv in [
        &["docker", "compose", "run", "web"][..],
        &["docker", "compose", "up", "-d"],
        &["docker", "compose", "logs", "-f", "web"],
        &["docker-compose", "ps"],
        &["podman-compose", "down"],
    ] {
        assert_eq!(run(argv), [plain(&argv.join(" "), &[])], "{argv:?}");
    }
}

#[test]
fn compose_entrypoints_and_unknown_options_are_opaque() {
    for argv in [
        &["docker", "compose", "run", "--entrypoint", "sh", "web"][..],
        &["docker", "compose", "run", "--entrypoint=rm -rf /", "web"],
        &["docker", "compose", "run", "--bogus", "web", "ls"],
        &["docker", "compose", "--bogus", "run", "web", "ls"],
        &["docker", "compose", "exec", "-Z", "web", "ls"],
        &["podman-compose", "--podman-path", "./evil", "up"],
        &[
            "podman-compose",
            "--podman-run-args=--entrypoint=sh",
            "run",
            "web",
        ],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn scp_and_sftp_share_the_ssh_options_that_run_commands() {
    let local = |argv: &[&str]| finds(&run(argv), "rm -rf /");
    for argv in [
        &["scp", "-o", "ProxyCommand=rm -rf /", "f", "h:/tmp"][..],
        &["scp", "-oProxyCommand rm -rf /", "f", "h:/tmp"],
        &["scp", "-o", "LocalCommand=rm -rf /", "f", "h:"],
        &[
            "scp",
            "-r",
            "-P",
            "22",
            "-o",
            "KnownHostsCommand rm -rf /",
            "d",
            "h:",
        ],
        &["scp", "f", "h:x; rm -rf /"],
        &["scp", "h:$(rm -rf /)", "."],
        &["sftp", "-o", "ProxyCommand=rm -rf /", "h"],
        &["sftp", "-D", "rm -rf /", "h"],
        &["sftp", "-s", "/usr/lib/sftp-server; rm -rf /", "h"],
        &["rsync", "-e", "ssh -o ProxyCommand='rm -rf /'", "a", "h:b"],
    ] {
        assert!(local(argv), "{argv:?}: {:?}", run(argv));
    }
    for argv in [
        &["scp", "-F", "cfg", "f", "h:"][..],
        &["scp", "-S", "./evil", "f", "h:"],
        &["scp", "-S", "strace", "f", "h:"],
        &["scp", "-o", "Include=/tmp/x", "f", "h:"],
        &["scp", "-o", "PKCS11Provider=/tmp/x.so", "f", "h:"],
        &["scp", "-Z", "f", "h:"],
        &["sftp", "-F", "cfg", "h"],
        &["sftp", "-S", "./evil", "h"],
        &["sftp", "h"],
        &["sftp", "-b", "batch.txt", "h"],
        &["sftp", "h:/tmp/file"],
        &["ssh", "-I", "/tmp/x.so", "h", "ls"],
        &["ssh", "-o", "SecurityKeyProvider=/tmp/x.so", "h", "ls"],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn everyday_copies_stay_analysable() {
    for argv in [
        &["scp", "f", "host:/tmp/"][..],
        &["scp", "-r", "-P", "2222", "-i", "k", "dir", "user@host:dir"],
        &[
            "scp",
            "-J",
            "jump",
            "-o",
            "ProxyJump=jump",
            "host:a.txt",
            ".",
        ],
        &["scp", "-o", "StrictHostKeyChecking=no", "f", "[::1]:/tmp/"],
        &["scp", "-S", "/usr/bin/ssh", "f", "host:"],
        &["scp", "-F", "/dev/null", "f", "host:"],
        &["scp", "host:*.log", "."],
        &["sftp"],
    ] {
        assert!(!any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
    assert_eq!(
        run(&["scp", "f", "host:/tmp/"]),
        [plain("scp f host:/tmp/", &[])]
    );
}
