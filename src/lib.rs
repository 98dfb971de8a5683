//! gate: put a verified human decision in front of privileged commands.
//!
//! The binary is a thin shell around [`run`]; everything lives in this library so
//! integration tests and benchmarks exercise the same code paths.

pub mod action;
pub mod audit;
pub mod cli;
mod commands;
pub mod error;
pub mod exec;
pub mod identity;
pub mod paths;
pub mod policy;
pub mod policy_file;
pub mod redact;

use clap::Parser;
use std::process::ExitCode;

/// Entry point of the `gate` binary: parse arguments, do the work, turn the result
/// into an exit status. This is the only place that decides what the process exits with.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
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
            eprintln!("{}", err.render());
            ExitCode::from(err.exit_code())
        }
    }
}
