//! `gate completions SHELL`: the shell's completion script, generated from the
//! argument definitions in `crate::cli` so it never lags behind them.

use crate::cli::Cli;
use crate::error::{Error, exit};
use clap::CommandFactory;

pub(super) fn print(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "gate", &mut std::io::stdout());
    Ok(exit::OK)
}
