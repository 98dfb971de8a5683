//! `docker` and `podman`: `run`/`create IMAGE CMD…` and `exec CONTAINER CMD…`
//! start a command in a container, which is analysed like any other (`compose`
//! is read in `compose`). The local invocation is kept too, so rules about
//! `docker run` still apply.

use super::Step;
use super::container_options::{EXEC, GLOBAL, GLOBAL_PROGRAMS, RUN};
use super::options::scan;

/// What running `argv` amounts to, if its program is a container engine.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    matches!(name, "docker" | "podman" | "nerdctl").then(|| engine(argv))
}

fn engine(argv: &[String]) -> Vec<Step> {
    let global = match scan(&GLOBAL, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if let Some((name, _)) = global
        .options
        .iter()
        .find(|(name, _)| GLOBAL_PROGRAMS.contains(&name.as_str()))
    {
        return vec![Step::Opaque(format!(
            "{name} names a program the engine runs on this machine"
        ))];
    }
    let mut at = global.operands;
    if argv.get(at).is_some_and(|word| word == "container") {
        at += 1;
    }
    let label = |sub: &str| format!("{} {sub}", super::basename(&argv[0]));
    match argv.get(at).map(String::as_str) {
        Some(sub @ ("run" | "create")) => run(argv, at + 1, label(sub)),
        Some(sub @ "exec") => exec(argv, at + 1, label(sub)),
        Some(sub @ "compose") => super::compose::compose(argv, at + 1, label(sub)),
        _ => vec![Step::Keep],
    }
}

/// `run [options] IMAGE [CMD…]`: with `--entrypoint E` the command is `E CMD…`;
/// without one the image's own entrypoint (not visible here) gets `CMD…`, which is
/// analysed as the command. `--health-cmd` is a shell line run in the container.
fn run(argv: &[String], from: usize, label: String) -> Vec<Step> {
    let found = match scan(&RUN, argv, from) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let mut steps = vec![Step::Keep];
    for (name, value) in &found.options {
        if matches!(name.as_str(), "--health-cmd" | "--health-startup-cmd")
            && let Some(line) = value
        {
            steps.push(Step::Line {
                label: format!("{label} {name}"),
                line: line.clone(),
            });
        }
    }
    let image_at = found.operands;
    let mut command: Vec<String> = Vec::new();
    match found.value(&["--entrypoint"]) {
        Some(entrypoint) if entrypoint.trim_start().starts_with('[') => {
            return vec![Step::Opaque("a JSON --entrypoint is not analysed".into())];
        }
        Some(entrypoint) if !entrypoint.is_empty() => command.push(entrypoint.to_string()),
        _ => {}
    }
    command.extend(argv.iter().skip(image_at + 1).cloned());
    if image_at < argv.len() && !command.is_empty() {
        steps.push(Step::Run {
            label,
            argv: command,
        });
    }
    steps
}

/// `exec [options] CONTAINER CMD…` (podman's `--latest` names no container).
fn exec(argv: &[String], from: usize, label: String) -> Vec<Step> {
    let found = match scan(&EXEC, argv, from) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let container = usize::from(!found.has(&["-l", "--latest"]));
    let command_at = found.operands + container;
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
