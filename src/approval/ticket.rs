//! Tickets: the requester token of an approval that one process waited for and a
//! later `gate --ticket ID -- CMD` uses. The Claude Code hook waits for the person
//! but must not run anything itself; Claude Code then runs the rewritten command,
//! which redeems the ticket.
//!
//! A ticket is a file `$GATE_HOME/tickets/ID`, mode 0600 in a 0700 directory,
//! holding the token on its first line and, on its second, the key of the action
//! digest the approval was asked for (`crate::action::DigestKey`, hex). Taking it
//! deletes it, so a ticket is used at most once on this machine; the broker's
//! claim makes the approval single-use everywhere. Neither the token nor the key
//! appears in messages or `Debug` output.

use super::request::RequesterToken;
use crate::action::DigestKey;
use crate::paths::Home;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

/// Why a ticket could not be stored or used.
#[derive(Debug)]
pub enum TicketError {
    BadId(String),
    Missing {
        id: String,
        dir: String,
    },
    Io {
        path: String,
        source: std::io::Error,
    },
    Insecure(String),
}

impl std::fmt::Display for TicketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketError::BadId(id) => write!(
                f,
                "{id:?} is not a request id (letters, digits, '-' and '_' only)"
            ),
            TicketError::Missing { id, dir } => write!(
                f,
                "no ticket for request {id} in {dir} (already used, or made under another user or GATE_HOME)"
            ),
            TicketError::Io { path, source } => write!(f, "ticket file {path}: {source}"),
            TicketError::Insecure(path) => write!(
                f,
                "refusing ticket file {path}: it must be a regular file only you can read (mode 0600)"
            ),
        }
    }
}

fn dir(home: &Home) -> PathBuf {
    home.data.join("tickets")
}

fn path(home: &Home, id: &str) -> Result<PathBuf, TicketError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(TicketError::BadId(id.to_string()));
    }
    Ok(dir(home).join(id))
}

/// Store the token of request `id`; an existing ticket is never overwritten.
/// What a ticket holds.
#[derive(Debug)]
pub struct Ticket {
    pub token: RequesterToken,
    /// `None` for a ticket written by a gate that did not key its digests.
    pub key: Option<DigestKey>,
}

pub fn save(
    home: &Home,
    id: &str,
    token: &RequesterToken,
    key: &DigestKey,
) -> Result<PathBuf, TicketError> {
    let path = path(home, id)?;
    let io = |source| TicketError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir(home))
        .map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    let text = format!("{}\n{}\n", token.0, key.to_hex());
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(path)
}

/// Read and delete the ticket of request `id`.
pub fn take(home: &Home, id: &str) -> Result<Ticket, TicketError> {
    let path = path(home, id)?;
    let label = path.display().to_string();
    let metadata = match std::fs::symlink_metadata(&path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(TicketError::Missing {
                id: id.to_string(),
                dir: dir(home).display().to_string(),
            });
        }
        Err(source) => {
            return Err(TicketError::Io {
                path: label,
                source,
            });
        }
    };
    if !metadata.file_type().is_file() || metadata.permissions().mode() & 0o077 != 0 {
        return Err(TicketError::Insecure(label));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| TicketError::Io {
        path: label.clone(),
        source,
    })?;
    std::fs::remove_file(&path).map_err(|source| TicketError::Io {
        path: label,
        source,
    })?;
    let mut lines = text.lines();
    let token = RequesterToken(lines.next().unwrap_or_default().trim().to_string());
    let key = lines.next().and_then(DigestKey::from_hex);
    Ok(Ticket { token, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(dir: &std::path::Path) -> Home {
        Home {
            data: dir.to_path_buf(),
            config: dir.to_path_buf(),
            cache: dir.join("cache"),
        }
    }

    #[test]
    fn a_ticket_is_private_and_taken_once() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home(tmp.path());
        let key = DigestKey::random().unwrap();
        let path = save(&home, "r-1", &RequesterToken("secret".into()), &key).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let ticket = take(&home, "r-1").unwrap();
        assert_eq!(ticket.token.0, "secret");
        assert_eq!(ticket.key, Some(key));
        assert!(matches!(
            take(&home, "r-1"),
            Err(TicketError::Missing { .. })
        ));
    }

    #[test]
    fn ids_cannot_leave_the_ticket_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home(tmp.path());
        for id in ["../audit.key", "", "a/b", "a b"] {
            assert!(
                matches!(take(&home, id), Err(TicketError::BadId(_))),
                "{id}"
            );
        }
    }

    #[test]
    fn a_ticket_others_can_read_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home(tmp.path());
        let key = DigestKey::random().unwrap();
        let path = save(&home, "r-2", &RequesterToken("secret".into()), &key).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(take(&home, "r-2"), Err(TicketError::Insecure(_))));
    }

    #[test]
    fn a_ticket_without_a_key_reads_as_such() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home(tmp.path());
        let key = DigestKey::random().unwrap();
        let path = save(&home, "r-3", &RequesterToken("secret".into()), &key).unwrap();
        std::fs::write(&path, "secret\n").unwrap();
        let ticket = take(&home, "r-3").unwrap();
        assert_eq!((ticket.token.0.as_str(), ticket.key), ("secret", None));
    }
}
