//! `scp` and `sftp`: they start ssh (or a program named by `-S`, or a local
//! sftp server named by `-D`) with options that may run commands on this machine,
//! read by the table in `ssh_options`. The invocation itself is kept.
//!
//! Both stop reading options at the first operand (OpenSSH's own getopt). sftp
//! reads commands from stdin or a batch file, where `!CMD` runs CMD here, so an
//! sftp session is opaque; scp's legacy protocol hands a remote path to the remote
//! shell, so a path with shell syntax in it is analysed as that shell line.

use super::Step;
use super::config_exec::runs_besides;
use super::options::{OptionSpec, Scanned, scan};
use super::ssh_options::{self, local_effect};
use super::wrapper_options::EMPTY;

/// OpenSSH scp.c: "12346ABCTdfOpqRrstvD:F:J:M:P:S:c:i:l:o:X:".
const SCP: OptionSpec = OptionSpec {
    flags: "12346ABCTdfOpqRrstv",
    valued: "DFJMPSciloX",
    ..EMPTY
};

/// OpenSSH sftp.c: "1246AafhNpqrvCc:D:i:l:o:s:S:b:B:F:J:P:R:X:".
const SFTP: OptionSpec = OptionSpec {
    flags: "1246AafhNpqrvC",
    valued: "cDilosSbBFJPRX",
    ..EMPTY
};

/// What running `argv` amounts to, if its program copies files over ssh.
pub(super) fn unwrap(name: &str, argv: &[String]) -> Option<Vec<Step>> {
    let steps = match name {
        "scp" => scp(argv),
        "sftp" => sftp(argv),
        _ => return None,
    };
    Some(steps)
}

/// `scp [options] SOURCE… TARGET`.
fn scp(argv: &[String]) -> Vec<Step> {
    let found = match scan(&SCP, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let mut steps = vec![Step::Keep];
    match client_options("scp", &found) {
        Ok(added) => steps.extend(added),
        Err(reason) => return vec![Step::Opaque(reason)],
    }
    for path in argv[found.operands..].iter().filter_map(|o| remote_path(o)) {
        if path.contains(['$', '`', ';', '|', '&', '<', '>', '(', ')', '\n']) {
            steps.push(Step::Line {
                label: "scp remote path".into(),
                line: format!("scp -f {path}"),
            });
        }
    }
    steps
}

/// `sftp [options] DESTINATION`: without a destination sftp only prints usage.
fn sftp(argv: &[String]) -> Vec<Step> {
    let found = match scan(&SFTP, argv, 1) {
        Ok(found) => found,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    let added = match client_options("sftp", &found) {
        Ok(added) => added,
        Err(reason) => return vec![Step::Opaque(reason)],
    };
    if found.operands >= argv.len() {
        return vec![Step::Keep];
    }
    let session = match found.value(&["-b"]) {
        Some(_) => "sftp -b runs the commands in a batch file, where `!CMD` runs CMD here",
        None => "sftp reads commands from stdin, where `!CMD` runs CMD here",
    };
    let mut steps = vec![Step::Opaque(session.into())];
    steps.extend(added);
    if let Some(server) = found.value(&["-s"]).filter(|s| s.contains('/')) {
        // A path (not a subsystem name) is run by the remote shell.
        steps.push(Step::Line {
            label: "sftp -s".into(),
            line: server.to_string(),
        });
    }
    steps
}

/// What the ssh client options and the program choices (`-S`, `-D`) add.
fn client_options(program: &str, found: &Scanned) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for (name, value) in &found.options {
        let value = value.as_deref();
        steps.extend(local_effect(program, name, value)?);
        match name.as_str() {
            "-S" => steps.push(ssh_program(program, value.unwrap_or(""))),
            "-D" => steps.extend(runs_besides(program, "-D", value)),
            "-o" => {
                let (key, line) = ssh_options::option(value.unwrap_or(""));
                if key == "remotecommand" && !line.eq_ignore_ascii_case("none") {
                    steps.push(Step::Line {
                        label: format!("{program} remotecommand"),
                        line,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(steps)
}

/// `-S PROGRAM` replaces ssh and is given ssh's arguments, the host among them: a
/// program named `ssh` is judged as that program; anything else could treat
/// those words as a command to run, so it is opaque.
fn ssh_program(program: &str, value: &str) -> Step {
    if super::config_exec::is_program_name(value) && super::basename(value) == "ssh" {
        return Step::Run {
            label: format!("{program} -S"),
            argv: vec![value.to_string()],
        };
    }
    Step::Opaque(format!(
        "{program} -S {value} runs a program in place of ssh, with arguments gate does not see"
    ))
}

/// The path of a remote operand, `[user@]host:path` (a colon before any slash),
/// or `scp://[user@]host[:port][/path]`.
fn remote_path(operand: &str) -> Option<&str> {
    if let Some(rest) = operand.strip_prefix("scp://") {
        return Some(rest.find('/').map_or("", |at| &rest[at + 1..]));
    }
    let rest = match operand.strip_prefix('[') {
        // `[v6::addr]:path`
        Some(bracketed) => &bracketed[bracketed.find(']')? + 1..],
        None => operand,
    };
    let colon = rest.find(':')?;
    (!rest[..colon].contains('/')).then(|| &rest[colon + 1..])
}
