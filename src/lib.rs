//! gate: put a verified human decision in front of privileged commands.
//!
//! The binary is a thin shell around [`run`]; everything lives in this library so
//! integration tests and benchmarks exercise the same code paths.

pub mod action;
pub mod approval;
pub mod audit;
pub mod cli;
mod commands;
pub mod error;
pub mod exec;
pub mod files;
pub mod guard;
pub mod identity;
pub mod inbox;
pub mod keys;
pub mod paths;
pub mod policy;
pub mod redact;
pub mod server;

use clap::Parser;
use std::process::ExitCode;

/// Entry point of the `gate` binary: parse arguments, do the work, turn the result
/// into an exit status. This is the only place that decides what the process exits with.
pub fn run() -> ExitCode {
    let cli = match wrap_fast_path().map_or_else(cli::Cli::try_parse, Ok) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(line) = misplaced_command(&e) {
                eprintln!("{line}");
                return ExitCode::from(error::exit::USAGE);
            }
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::exit::USAGE
            } else {
                error::exit::OK
            });
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if let Some(text) = err.stderr_text() {
                eprintln!("{text}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// A clearer line than clap's "unexpected argument 'ls' found" when the first word
/// is a program to run or a misspelt subcommand.
fn misplaced_command(err: &clap::Error) -> Option<String> {
    use clap::CommandFactory;
    use clap::error::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand
    ) {
        return None;
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let cli = cli::Cli::command();
    let subcommands: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    commands::misplaced_command(&args, &subcommands)
}

/// `gate -- CMD...`, the call agents and scripts make on every command, needs no
/// option parsing; skipping the construction of the full parser keeps gate's own
/// start-up cost down. Anything else goes through clap.
fn wrap_fast_path() -> Option<cli::Cli> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "--" {
        return None;
    }
    let command = args
        .map(|arg| arg.into_string().ok())
        .collect::<Option<Vec<_>>>()?;
    let run = cli::RunArgs {
        policy: cli::PolicyArg::default(),
        reason: None,
        json: false,
        break_glass: false,
        ticket: None,
        command,
    };
    Some(cli::Cli { command: None, run })
}
