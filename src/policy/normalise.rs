//! Normalisation: turn an argv (or a shell line) into the simple commands that will
//! really run, unwrapping wrappers and parsing `sh -c` strings with a real parser.

use serde::{Deserialize, Serialize};

/// One command found in the request after unwrapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleCommand {
    /// The argv that will run, argv[0] as written (possibly a path).
    pub argv: Vec<String>,
    /// Wrappers peeled off to get here, outermost first (e.g. `["sudo", "env", "sh -c"]`).
    pub via: Vec<String>,
    /// Why this command cannot be analysed statically, if it cannot.
    pub opaque: Option<String>,
}

/// Normalise an argv as given to `gate -- ...`.
pub fn normalise(argv: &[String]) -> Vec<SimpleCommand> {
    todo!("{argv:?}")
}

/// Normalise a shell line (as in `sh -c LINE` or a `[[test]]` command).
pub fn normalise_line(line: &str) -> Vec<SimpleCommand> {
    todo!("{line}")
}
