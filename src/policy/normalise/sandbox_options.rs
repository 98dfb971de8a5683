//! Option tables of the namespace, sandbox, tracing and session wrappers, as their
//! manuals (util-linux, strace, ltrace, systemd, flatpak, dbus) list them.

use super::options::OptionSpec;
use super::wrapper_options::EMPTY;

pub(super) const CHROOT: OptionSpec = OptionSpec {
    long_flags: &["skip-chdir", "help", "version"],
    long_valued: &["userspec", "groups"],
    ..EMPTY
};

pub(super) const UNSHARE: OptionSpec = OptionSpec {
    flags: "fhVmuinpCTUrc",
    valued: "lRwSG",
    long_flags: &[
        "fork",
        "map-root-user",
        "map-current-user",
        "map-auto",
        "map-subids",
        "keep-caps",
        "help",
        "version",
    ],
    long_valued: &[
        "propagation",
        "setgroups",
        "root",
        "wd",
        "setuid",
        "setgid",
        "load-interp",
        "map-user",
        "map-group",
        "map-users",
        "map-groups",
        "monotonic",
        "boottime",
    ],
    long_optional: &[
        "mount",
        "uts",
        "ipc",
        "net",
        "pid",
        "user",
        "cgroup",
        "time",
        "kill-child",
        "mount-proc",
        "mount-binfmt",
    ],
    ..EMPTY
};

pub(super) const NSENTER: OptionSpec = OptionSpec {
    flags: "ahVFZceN",
    valued: "tSGW",
    optional: "muinpCUTrw",
    long_flags: &[
        "all",
        "no-fork",
        "follow-context",
        "preserve-credentials",
        "join-cgroup",
        "env",
        "user-parent",
        "keep-caps",
        "help",
        "version",
    ],
    long_valued: &["target", "setuid", "setgid", "wdns"],
    long_optional: &[
        "mount", "uts", "ipc", "net", "pid", "cgroup", "user", "time", "root", "wd",
    ],
    ..EMPTY
};

pub(super) const SETPRIV: OptionSpec = OptionSpec {
    flags: "dhV",
    long_flags: &[
        "dump",
        "nnp",
        "no-new-privs",
        "clear-groups",
        "keep-groups",
        "init-groups",
        "reset-env",
        "help",
        "version",
    ],
    long_valued: &[
        "inh-caps",
        "ambient-caps",
        "bounding-set",
        "ruid",
        "euid",
        "rgid",
        "egid",
        "reuid",
        "regid",
        "groups",
        "securebits",
        "pdeathsig",
        "selinux-label",
        "apparmor-profile",
        "landlock-access",
        "landlock-rule",
        "seccomp-filter",
    ],
    ..EMPTY
};

pub(super) const PRLIMIT: OptionSpec = OptionSpec {
    flags: "hV",
    valued: "op",
    optional: "cdefilmnqrstuvxy",
    long_flags: &["noheadings", "raw", "verbose", "help", "version"],
    long_valued: &["output", "pid"],
    long_optional: &[
        "core",
        "data",
        "nice",
        "fsize",
        "sigpending",
        "memlock",
        "rss",
        "nofile",
        "msgqueue",
        "rtprio",
        "stack",
        "cpu",
        "nproc",
        "as",
        "locks",
        "rttime",
    ],
    ..EMPTY
};

pub(super) const SETARCH: OptionSpec = OptionSpec {
    flags: "hVv3BFILRSTXZ4",
    long_flags: &[
        "32bit",
        "fdpic-funcptrs",
        "short-inode",
        "addr-compat-layout",
        "addr-no-randomize",
        "whole-seconds",
        "sticky-timeouts",
        "read-implies-exec",
        "mmap-page-zero",
        "3gb",
        "4gb",
        "uname-2.6",
        "verbose",
        "list",
        "help",
        "version",
    ],
    ..EMPTY
};

pub(super) const STRACE: OptionSpec = OptionSpec {
    flags: "AcCdDfFhiknNqrtTvVwxyYzZ",
    valued: "abeEIoOpPsSuXU",
    long_flags: &[
        "count",
        "debug",
        "failed-only",
        "follow-forks",
        "instruction-pointer",
        "no-abbrev",
        "output-append-mode",
        "output-separately",
        "seccomp-bpf",
        "stack-traces",
        "successful-only",
        "summary",
        "summary-only",
        "summary-wall-clock",
        "syscall-number",
        "help",
        "version",
    ],
    long_valued: &[
        "abbrev",
        "argv0",
        "attach",
        "columns",
        "const-print-style",
        "decode-pids",
        "detach-on",
        "env",
        "fault",
        "inject",
        "kvm",
        "output",
        "raw",
        "read",
        "signal",
        "status",
        "string-limit",
        "summary-columns",
        "summary-sort-by",
        "summary-syscall-overhead",
        "syscall-limit",
        "trace",
        "trace-fds",
        "trace-path",
        "user",
        "verbose",
        "write",
    ],
    long_optional: &[
        "absolute-timestamps",
        "daemonize",
        "decode-fds",
        "quiet",
        "relative-timestamps",
        "secontext",
        "syscall-times",
        "timestamps",
        "tips",
    ],
    ..EMPTY
};

pub(super) const LTRACE: OptionSpec = OptionSpec {
    flags: "bcCfhiLrStTV",
    valued: "aADeFlnopsuwx",
    long_flags: &["demangle", "no-signals", "help", "version"],
    long_valued: &["align", "indent", "library", "output", "where", "config"],
    ..EMPTY
};

pub(super) const SCRIPT: OptionSpec = OptionSpec {
    flags: "aefqhV",
    valued: "cEBIOTmo",
    optional: "t",
    long_flags: &[
        "append", "return", "flush", "force", "quiet", "help", "version",
    ],
    long_valued: &[
        "command",
        "echo",
        "log-io",
        "log-in",
        "log-out",
        "log-timing",
        "logging-format",
        "output-limit",
    ],
    long_optional: &["timing"],
    ..EMPTY
};

pub(super) const DBUS_RUN_SESSION: OptionSpec = OptionSpec {
    long_flags: &["help", "version"],
    long_valued: &["config-file", "dbus-daemon"],
    ..EMPTY
};

pub(super) const SYSTEMD_RUN: OptionSpec = OptionSpec {
    flags: "hrtPqGdS",
    valued: "HMEpuC",
    long_flags: &[
        "user",
        "system",
        "scope",
        "remain-after-exit",
        "send-sighup",
        "pty",
        "pipe",
        "quiet",
        "collect",
        "wait",
        "same-dir",
        "shell",
        "no-block",
        "no-ask-password",
        "on-clock-change",
        "on-timezone-change",
        "slice-inherit",
        "help",
        "version",
    ],
    long_valued: &[
        "host",
        "machine",
        "unit",
        "property",
        "description",
        "slice",
        "setenv",
        "uid",
        "gid",
        "nice",
        "working-directory",
        "service-type",
        "on-active",
        "on-boot",
        "on-startup",
        "on-unit-active",
        "on-unit-inactive",
        "on-calendar",
        "timer-property",
        "path-property",
        "socket-property",
        "expand-environment",
        "capsule",
        "background",
        "json",
        "job-mode",
    ],
    ..EMPTY
};

pub(super) const FLATPAK_SPAWN: OptionSpec = OptionSpec {
    flags: "v",
    long_flags: &[
        "host",
        "clear-env",
        "latest-version",
        "no-network",
        "sandbox",
        "watch-bus",
        "expose-pids",
        "share-pids",
        "verbose",
        "help",
    ],
    long_valued: &[
        "env",
        "unset-env",
        "forward-fd",
        "sandbox-expose",
        "sandbox-expose-ro",
        "sandbox-expose-path",
        "sandbox-expose-path-ro",
        "sandbox-flag",
        "app-path",
        "usr-path",
        "directory",
    ],
    ..EMPTY
};
