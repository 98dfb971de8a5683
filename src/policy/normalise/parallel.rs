//! GNU parallel (and `sem`): the command is a shell line made of the words before
//! the first `:::`/`::::`, and every input value after `:::` is given to it.
//! Without a command each input value is itself a command line.

use super::Step;
use super::options::{OptionSpec, scan};
use super::wrapper_options::EMPTY;

const PARALLEL: OptionSpec = OptionSpec {
    flags: "0kqvXmrtuxgMpV",
    valued: "aCdEIjJLNnPSsW",
    optional: "eil",
    long_flags: &[
        "null",
        "keep-order",
        "keeporder",
        "quote",
        "verbose",
        "xargs",
        "no-run-if-empty",
        "ungroup",
        "group",
        "line-buffer",
        "linebuffer",
        "lb",
        "bar",
        "progress",
        "eta",
        "dry-run",
        "dryrun",
        "will-cite",
        "no-notice",
        "tag",
        "ctag",
        "shuf",
        "plus",
        "pipe",
        "pipepart",
        "files",
        "files0",
        "nonall",
        "onall",
        "fg",
        "bg",
        "wait",
        "tty",
        "resume",
        "resume-failed",
        "retry-failed",
        "version",
        "help",
        "citation",
        "compress",
        "round-robin",
        "gnu",
        "silent",
        "exit",
        "interactive",
        "ctrlmaster",
        "controlmaster",
        "cat",
        "fifo",
        "semaphore",
        "number-of-cpus",
        "number-of-cores",
        "number-of-threads",
        "number-of-sockets",
        "record-env",
        "transfer",
        "cleanup",
        "shebang",
        "shebang-wrap",
        "tmux",
        "tmuxpane",
        "halt-on-error",
        "shellquote",
    ],
    long_valued: &[
        "jobs",
        "max-procs",
        "max-args",
        "max-replace-args",
        "max-chars",
        "arg-file",
        "delimiter",
        "colsep",
        "trim",
        "joblog",
        "results",
        "res",
        "tmpdir",
        "tempdir",
        "timeout",
        "retries",
        "delay",
        "load",
        "memfree",
        "memsuspend",
        "nice",
        "halt",
        "block",
        "block-size",
        "sshlogin",
        "slf",
        "sshloginfile",
        "env",
        "basefile",
        "bf",
        "return",
        "transferfile",
        "tf",
        "trc",
        "wd",
        "workdir",
        "tagstring",
        "ctagstring",
        "id",
        "seqreplace",
        "sshdelay",
        "termseq",
        "header",
        "group-by",
        "arg-sep",
        "arg-file-sep",
        "rpl",
        "filter",
        "ssh",
        "limit",
        "profile",
        "sqlmaster",
        "sqlworker",
        "sqlandworker",
        "template",
        "semaphorename",
        "fifo-name",
    ],
    long_optional: &["replace", "eof", "max-lines"],
    ..EMPTY
};

/// Options whose values are code or commands parallel runs, or that change how
/// its arguments are read: what runs cannot be told from the command line.
const UNSEEN: &[&str] = &[
    "--rpl",
    "--filter",
    "--ssh",
    "--limit",
    "--profile",
    "-J",
    "--shebang",
    "--shebang-wrap",
    "--sqlmaster",
    "--sqlworker",
    "--sqlandworker",
    "--arg-sep",
    "--arg-file-sep",
    "--template",
];

pub(super) fn parallel(argv: &[String]) -> Vec<Step> {
    let found = match scan(&PARALLEL, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if let Some((name, _)) = found
        .options
        .iter()
        .find(|(name, _)| UNSEEN.contains(&name.as_str()))
    {
        return vec![Step::Opaque(format!(
            "parallel {name} runs code or commands given elsewhere"
        ))];
    }
    if argv.iter().any(|arg| arg.contains("{=")) {
        return vec![Step::Opaque(
            "parallel {= … =} replacement strings are Perl code".into(),
        )];
    }
    let rest = &argv[found.operands..];
    let split = rest
        .iter()
        .position(|arg| arg.starts_with(":::"))
        .unwrap_or(rest.len());
    let (command, sources) = rest.split_at(split);
    let values: Vec<&String> = sources
        .iter()
        .filter(|arg| !arg.starts_with(":::"))
        .collect();
    // `::::` and `-a` name files, and with neither values come from stdin.
    let unseen_inputs = sources.iter().any(|arg| arg.starts_with("::::"))
        || found.has(&["-a", "--arg-file"])
        || sources.is_empty();
    let label = "parallel".to_string();
    if command.is_empty() {
        if unseen_inputs {
            return vec![Step::Opaque(
                "parallel without a command runs its input lines, which are not seen".into(),
            )];
        }
        return values
            .iter()
            .map(|value| Step::Line {
                label: label.clone(),
                line: value.to_string(),
            })
            .collect();
    }
    let quoted = found.has(&["-q", "--quote"]);
    let mut steps = vec![as_step(&label, command.to_vec(), quoted)];
    if !values.is_empty() {
        // One job gets some of the values in place of `{}` or appended; the command
        // with every value appended holds each job's words.
        let mut appended = command.to_vec();
        appended.extend(values.iter().map(|value| {
            if quoted {
                value.to_string()
            } else {
                quote(value)
            }
        }));
        steps.push(as_step(&label, appended, quoted));
    }
    steps
}

fn as_step(label: &str, words: Vec<String>, quoted: bool) -> Step {
    if quoted {
        Step::Run {
            label: label.to_string(),
            argv: words,
        }
    } else {
        Step::Line {
            label: label.to_string(),
            line: words.join(" "),
        }
    }
}

/// parallel quotes input values before putting them into the command line.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
