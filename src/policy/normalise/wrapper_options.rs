//! Option tables of the wrappers, as their manuals list them. Kept apart from the
//! unwrapping logic so each table can be checked against its manual at a glance.

use super::options::OptionSpec;

pub(super) const ENV: OptionSpec = OptionSpec {
    flags: "i0v",
    valued: "uCSP",
    long_flags: &[
        "ignore-environment",
        "null",
        "debug",
        "list-signal-handling",
        "help",
        "version",
    ],
    long_valued: &["unset", "chdir", "split-string"],
    long_optional: &["block-signal", "default-signal", "ignore-signal"],
    ..EMPTY
};

pub(super) const SUDO: OptionSpec = OptionSpec {
    flags: "AbBEeHiKklnNPSsVv",
    valued: "CDghprRTtUu",
    long_flags: &[
        "askpass",
        "background",
        "bell",
        "edit",
        "help",
        "login",
        "list",
        "non-interactive",
        "no-update",
        "preserve-groups",
        "remove-timestamp",
        "reset-timestamp",
        "set-home",
        "shell",
        "stdin",
        "validate",
        "version",
    ],
    long_valued: &[
        "chdir",
        "chroot",
        "close-from",
        "command-timeout",
        "group",
        "host",
        "other-user",
        "prompt",
        "role",
        "type",
        "user",
    ],
    long_optional: &["preserve-env"],
    ..EMPTY
};

pub(super) const DOAS: OptionSpec = OptionSpec {
    flags: "nsL",
    valued: "uaC",
    ..EMPTY
};

pub(super) const EMPTY: OptionSpec = OptionSpec {
    flags: "",
    valued: "",
    optional: "",
    long_flags: &[],
    long_valued: &[],
    long_optional: &[],
    numeric: false,
};

pub(super) const NICE: OptionSpec = OptionSpec {
    valued: "n",
    long_valued: &["adjustment"],
    long_flags: &["help", "version"],
    numeric: true,
    ..EMPTY
};

pub(super) const TIMEOUT: OptionSpec = OptionSpec {
    flags: "v",
    valued: "sk",
    long_flags: &[
        "preserve-status",
        "foreground",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["signal", "kill-after"],
    ..EMPTY
};

pub(super) const TIME: OptionSpec = OptionSpec {
    flags: "apvqV",
    valued: "fo",
    long_flags: &[
        "append",
        "portability",
        "verbose",
        "quiet",
        "version",
        "help",
    ],
    long_valued: &["format", "output"],
    ..EMPTY
};

pub(super) const EXEC: OptionSpec = OptionSpec {
    flags: "cl",
    valued: "a",
    ..EMPTY
};

pub(super) const STDBUF: OptionSpec = OptionSpec {
    valued: "ioe",
    long_valued: &["input", "output", "error"],
    long_flags: &["help", "version"],
    ..EMPTY
};

pub(super) const XARGS: OptionSpec = OptionSpec {
    flags: "0oprtx",
    valued: "adEILnPsJRS",
    optional: "eil",
    long_flags: &[
        "null",
        "open-tty",
        "interactive",
        "no-run-if-empty",
        "verbose",
        "exit",
        "show-limits",
        "help",
        "version",
    ],
    long_valued: &[
        "arg-file",
        "delimiter",
        "max-args",
        "max-procs",
        "max-chars",
        "process-slot-var",
    ],
    long_optional: &["eof", "replace", "max-lines"],
    ..EMPTY
};

pub(super) const WATCH: OptionSpec = OptionSpec {
    flags: "bcCeghprtwx",
    valued: "nq",
    optional: "d",
    long_flags: &[
        "beep", "color", "no-color", "errexit", "chgexit", "precise", "no-title", "no-wrap",
        "exec", "no-rerun", "help", "version",
    ],
    long_valued: &["interval", "equexit"],
    long_optional: &["differences"],
    ..EMPTY
};

pub(super) const SETSID: OptionSpec = OptionSpec {
    flags: "cfw",
    long_flags: &["ctty", "fork", "wait", "help", "version"],
    ..EMPTY
};

pub(super) const IONICE: OptionSpec = OptionSpec {
    flags: "t",
    valued: "cnpPu",
    long_flags: &["ignore", "help", "version"],
    long_valued: &["class", "classdata", "pid", "pgid", "uid"],
    ..EMPTY
};

pub(super) const CHRT: OptionSpec = OptionSpec {
    flags: "abdefimoprRv",
    valued: "TPD",
    long_flags: &[
        "all-tasks",
        "batch",
        "deadline",
        "fifo",
        "idle",
        "max",
        "other",
        "pid",
        "rr",
        "reset-on-fork",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["sched-runtime", "sched-period", "sched-deadline"],
    ..EMPTY
};

pub(super) const TASKSET: OptionSpec = OptionSpec {
    flags: "acp",
    long_flags: &["all-tasks", "cpu-list", "pid", "help", "version"],
    ..EMPTY
};

pub(super) const FLOCK: OptionSpec = OptionSpec {
    flags: "sexnoFuhV",
    valued: "wE",
    long_flags: &[
        "shared",
        "exclusive",
        "nonblock",
        "nb",
        "close",
        "no-fork",
        "unlock",
        "verbose",
        "help",
        "version",
    ],
    long_valued: &["timeout", "wait", "conflict-exit-code"],
    ..EMPTY
};

pub(super) const UNBUFFER: OptionSpec = OptionSpec {
    flags: "p",
    ..EMPTY
};

pub(super) const CHRONIC: OptionSpec = OptionSpec {
    flags: "ev",
    ..EMPTY
};

pub(super) const CAFFEINATE: OptionSpec = OptionSpec {
    flags: "dimsu",
    valued: "tw",
    ..EMPTY
};

pub(super) const COMMAND: OptionSpec = OptionSpec {
    flags: "pvV",
    ..EMPTY
};

pub(super) const SU: OptionSpec = OptionSpec {
    flags: "flmpPhV",
    valued: "cgGsw",
    long_flags: &[
        "login",
        "preserve-environment",
        "pty",
        "fast",
        "help",
        "version",
    ],
    long_valued: &[
        "command",
        "session-command",
        "group",
        "supp-group",
        "shell",
        "whitelist-environment",
    ],
    ..EMPTY
};

pub(super) const PKEXEC: OptionSpec = OptionSpec {
    long_flags: &["disable-internal-agent", "keep-cwd", "help", "version"],
    long_valued: &["user"],
    ..EMPTY
};
