//! `gate man`: the manual pages, generated from the argument definitions in
//! `crate::cli`. gate.1 lists the subcommands as gate-SUBCOMMAND(1), git's
//! convention; `--dir` writes those pages too, one per subcommand at every level.

use crate::cli::Cli;
use crate::error::{Error, exit};
use clap::CommandFactory;
use std::path::Path;

pub(super) fn man(dir: Option<&Path>) -> Result<u8, Error> {
    // `gate help` is clap's, not a page of its own.
    let command = Cli::command().disable_help_subcommand(true);
    match dir {
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .map_err(|source| Error::Io {
                path: "<stdout>".into(),
                action: "write the man page to",
                source,
            })?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command, dir))
                .map_err(|source| Error::Io {
                    path: dir.to_path_buf(),
                    action: "write man pages into",
                    source,
                })?;
        }
    }
    Ok(exit::OK)
}
