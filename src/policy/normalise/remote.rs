//! Commands run on another machine or in a cluster: `ssh HOST CMD…` (the remote
//! line is a shell line) and `kubectl exec|debug|run … -- CMD…`. The local
//! invocation is kept too, so rules about `ssh` or `kubectl exec` still apply.

use super::Step;
use super::options::{OptionSpec, Scanned, scan};
use super::ssh_options::{self, local_effect};
use super::wrapper_options::EMPTY;

const SSH: OptionSpec = OptionSpec {
    flags: "46AaCfGgKkMNnqsTtVvXxYy",
    valued: "BbcDEeFIiJLlmOoPpQRSWw",
    ..EMPTY
};

/// What running `argv` amounts to, if its program runs commands elsewhere.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "ssh" => ssh(argv),
        "kubectl" | "oc" => kubectl(argv),
        _ => return None,
    };
    Some(steps)
}

/// `ssh [options] HOST [options] [COMMAND…]`: ssh reads options again after the
/// host, then joins the rest into one line for the remote shell. Without a
/// command (and without `-N`) the remote shell reads commands from stdin.
fn ssh(argv: &[String]) -> Vec<Step> {
    let before = match scan(&SSH, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let host_at = before.operands;
    let after = if host_at < argv.len() {
        match scan(&SSH, argv, host_at + 1) {
            Ok(found) => found,
            Err(reason) => return vec![Step::Opaque(reason)],
        }
    } else {
        Scanned {
            options: Vec::new(),
            operands: argv.len(),
        }
    };
    let options: Vec<&(String, Option<String>)> =
        before.options.iter().chain(&after.options).collect();
    let mut steps = vec![Step::Keep];
    let mut remote = None;
    for (name, value) in &options {
        match local_effect("ssh", name, value.as_deref()) {
            Err(reason) => return vec![Step::Opaque(reason)],
            Ok(Some(step)) => steps.push(step),
            Ok(None) => {}
        }
        if name == "-o" {
            let (key, command) = ssh_options::option(value.as_deref().unwrap_or(""));
            if key == "remotecommand" {
                remote = Some(command);
            }
        }
    }
    let words = &argv[after.operands..];
    if !words.is_empty() {
        remote = Some(words.join(" "));
    }
    let quiet = options
        .iter()
        .any(|(name, _)| matches!(name.as_str(), "-N" | "-G" | "-V" | "-Q" | "-O" | "-s"));
    match remote {
        Some(line) if !options.iter().any(|(name, _)| name == "-s") => steps.push(Step::Line {
            label: "ssh".into(),
            line,
        }),
        Some(_) => {}
        None if quiet || host_at >= argv.len() => {}
        None => {
            return vec![Step::Opaque(
                "ssh without a command starts a remote shell that reads commands from stdin".into(),
            )];
        }
    }
    steps
}

/// Subcommands that start a process in a container.
const KUBECTL_RUNS: &[&str] = &["exec", "debug", "run"];

/// `kubectl [flags] exec POD [flags] -- CMD…` (also `debug … -- CMD`, `run NAME
/// --image=I -- CMD`). kubectl's flags may stand anywhere, so any of these words
/// before `--` counts: an extra command only makes the decision stricter.
fn kubectl(argv: &[String]) -> Vec<Step> {
    let split = argv.iter().position(|arg| arg == "--");
    let head = &argv[..split.unwrap_or(argv.len())];
    let Some(subcommand) = head[1..]
        .iter()
        .find(|arg| KUBECTL_RUNS.contains(&arg.as_str()))
    else {
        return vec![Step::Keep];
    };
    match split {
        Some(at) if at + 1 < argv.len() => vec![
            Step::Keep,
            Step::Run {
                label: format!("{} {subcommand}", super::basename(&argv[0])),
                argv: argv[at + 1..].to_vec(),
            },
        ],
        // `kubectl exec POD CMD…` without `--` is a deprecated form whose command
        // cannot be told from kubectl's own flags.
        None if subcommand == "exec" && positionals_after(head, "exec") > 1 => {
            vec![Step::Opaque(
                "kubectl exec without `--`: the command cannot be told from kubectl's flags".into(),
            )]
        }
        _ => vec![Step::Keep],
    }
}

fn positionals_after(head: &[String], word: &str) -> usize {
    head.iter()
        .skip_while(|arg| *arg != word)
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .count()
}
