//! Parse and validate policy TOML into a [`Policy`], collecting every error.

use super::{Diagnostic, Policy};

pub fn parse(source: &str, path: &str) -> Result<Policy, Vec<Diagnostic>> {
    todo!("{source} {path}")
}
