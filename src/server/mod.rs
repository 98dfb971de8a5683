//! The approval broker, `gate serve`: an axum HTTP server on tokio with its own
//! SQLite store and signing key. Owns request state, the approval rules (who may
//! decide, quorum, self-approval, expiry) and the signed decisions.

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::paths::Home;

/// `gate serve ...`.
pub fn command(args: ServeArgs, home: &Home) -> Result<u8, Error> {
    let _ = (args, home);
    Err(Error::Internal("gate serve: not implemented yet".into()))
}
