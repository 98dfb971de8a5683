//! Compose: `docker compose`, `podman compose`, `docker-compose` and
//! `podman-compose`. `run [options] SERVICE [CMD…]` and `exec [options] SERVICE
//! CMD…` start a command in a service's container, analysed like `docker exec`'s;
//! the compose invocation is kept too, so rules about it still apply.
//!
//! Without a command `run` starts the service's own command, written in a compose
//! file gate does not read: only the invocation is reported, as for `docker run
//! IMAGE`. `--entrypoint`, an option gate does not know, and the podman-compose
//! options that name a program or pass options to podman are opaque.

use super::Step;
use super::options::{OptionSpec, scan};
use super::wrapper_options::EMPTY;

/// What running `argv` amounts to, if its program is a compose tool.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    matches!(name, "docker-compose" | "podman-compose")
        .then(|| compose(argv, 1, super::basename(&argv[0]).to_string()))
}

/// `[global options] SUBCOMMAND …` from `argv[from]`; `tool` names the compose
/// tool in labels (`docker compose`, `podman-compose`).
pub(super) fn compose(argv: &[String], from: usize, tool: String) -> Vec<Step> {
    let global = match scan(&GLOBAL, argv, from) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if let Some((name, _)) = global
        .options
        .iter()
        .find(|(name, _)| name.starts_with("--podman-") || name == "--pod-args")
    {
        return vec![Step::Opaque(format!(
            "{tool} {name} names the program compose runs, or options it passes to it"
        ))];
    }
    let at = global.operands;
    let label = |sub: &str| format!("{tool} {sub}");
    match argv.get(at).map(String::as_str) {
        Some(sub @ "run") => service_command(argv, at + 1, &RUN, label(sub)),
        Some(sub @ "exec") => service_command(argv, at + 1, &EXEC, label(sub)),
        _ => vec![Step::Keep],
    }
}

/// `[options] SERVICE [CMD…]`: options stop at the service (compose does not
/// take its own options among the command's words).
fn service_command(argv: &[String], from: usize, spec: &OptionSpec, label: String) -> Vec<Step> {
    let found = match scan(spec, argv, from) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if found.has(&["--entrypoint"]) {
        return vec![Step::Opaque(format!(
            "{label} --entrypoint replaces the service's entrypoint with a string compose splits"
        ))];
    }
    let command_at = found.operands + 1;
    if command_at < argv.len() {
        vec![
            Step::Keep,
            Step::Run {
                label,
                argv: argv[command_at..].to_vec(),
            },
        ]
    } else {
        vec![Step::Keep]
    }
}

/// Global options of compose v2 (`docker compose`), docker-compose v1 and
/// podman-compose. v2's are also accepted after the subcommand.
const GLOBAL: OptionSpec = OptionSpec {
    flags: "hv",
    valued: "fpcH",
    long_flags: &[
        "all-resources",
        "compatibility",
        "dry-run",
        "help",
        "version",
        "verbose",
        "no-ansi",
        "no-interpolate",
        "tls",
        "tlsverify",
        "skip-hostname-check",
        "no-cleanup",
        "no-normalize",
    ],
    long_valued: &[
        "file",
        "project-name",
        "profile",
        "env-file",
        "project-directory",
        "ansi",
        "progress",
        "parallel",
        "log-level",
        "host",
        "context",
        "tlscacert",
        "tlscert",
        "tlskey",
        "in-pod",
        "pod-args",
        "podman-path",
        "podman-args",
        "podman-pull-args",
        "podman-push-args",
        "podman-build-args",
        "podman-inspect-args",
        "podman-run-args",
        "podman-start-args",
        "podman-stop-args",
        "podman-rm-args",
        "podman-volume-args",
    ],
    ..EMPTY
};

// Each subcommand's table ends with v2's global options, which it also takes
// after the subcommand.

const RUN: OptionSpec = OptionSpec {
    flags: "dTitPqh",
    valued: "elpuvwf",
    long_flags: &[
        "detach",
        "rm",
        "no-deps",
        "no-TTY",
        "interactive",
        "tty",
        "service-ports",
        "use-aliases",
        "build",
        "no-build",
        "remove-orphans",
        "quiet",
        "quiet-build",
        "quiet-pull",
        "privileged",
        "help",
        "all-resources",
        "compatibility",
        "dry-run",
    ],
    long_valued: &[
        "name",
        "entrypoint",
        "env",
        "env-from-file",
        "label",
        "publish",
        "pull",
        "cap-add",
        "cap-drop",
        "user",
        "volume",
        "workdir",
        "file",
        "project-name",
        "profile",
        "env-file",
        "project-directory",
        "ansi",
        "progress",
        "parallel",
    ],
    ..EMPTY
};

const EXEC: OptionSpec = OptionSpec {
    flags: "dTith",
    valued: "euwfp",
    long_flags: &[
        "detach",
        "privileged",
        "no-TTY",
        "interactive",
        "tty",
        "help",
        "all-resources",
        "compatibility",
        "dry-run",
    ],
    long_valued: &[
        "env",
        "index",
        "user",
        "workdir",
        "file",
        "project-name",
        "profile",
        "env-file",
        "project-directory",
        "ansi",
        "progress",
        "parallel",
    ],
    ..EMPTY
};
