//! Requests a hook left open: when the host's time ran out before a person
//! decided, the hook answers "approval pending" and keeps what a retry of the
//! same call needs to pick up the decision, in `$GATE_HOME/hooks/pending/KEY`
//! (mode 0600 in a 0700 directory): the request id, its requester token, the
//! action digest's key and the digest.
//!
//! KEY is a SHA-256 over the agent, its session, the directory and the argv, so
//! only the same call from the same session finds it; the retry then computes
//! the action digest again with the stored key and must arrive at the stored
//! digest (same argv, directory and executable), as `gate --ticket` does.
//! Neither token nor key appears in messages or `Debug` output.

use crate::action::DigestKey;
use crate::approval::RequesterToken;
use crate::guard::Subject;
use crate::paths::Home;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

/// An open request, as the call that made it left it.
#[derive(Debug)]
pub struct Pending {
    pub request_id: String,
    pub token: RequesterToken,
    pub key: DigestKey,
    pub digest: String,
}

/// Where the pending request of one call is kept.
#[derive(Debug, Clone)]
pub struct Slot(PathBuf);

impl Slot {
    pub fn of(home: &Home, agent: &str, session: Option<&str>, subject: &Subject) -> Slot {
        let mut hash = Sha256::new();
        for part in [
            agent,
            session.unwrap_or(""),
            &subject.cwd.display().to_string(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for arg in &subject.argv {
            hash.update((arg.len() as u64).to_be_bytes());
            hash.update(arg.as_bytes());
        }
        let name = hex::encode(hash.finalize());
        Slot(dir(home).join(name))
    }

    /// The request left open by this call, if any. A file others could read or
    /// write is refused: it would let them take or plant an approval.
    pub fn load(&self) -> Result<Option<Pending>, String> {
        let label = self.0.display();
        let metadata = match std::fs::symlink_metadata(&self.0) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("pending request file {label}: {err}")),
        };
        if !metadata.file_type().is_file() || metadata.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "refusing pending request file {label}: it must be a regular file only you can \
                 read (mode 0600)"
            ));
        }
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| format!("pending request file {label}: {e}"))?;
        let mut lines = text.lines();
        let mut next = || lines.next().unwrap_or_default().trim().to_string();
        let (request_id, token, key, digest) = (next(), next(), next(), next());
        let (Some(key), false) = (DigestKey::from_hex(&key), request_id.is_empty()) else {
            // Unreadable leftovers are dropped: the call simply asks again.
            self.remove();
            return Ok(None);
        };
        Ok(Some(Pending {
            request_id,
            token: RequesterToken(token),
            key,
            digest,
        }))
    }

    pub fn save(&self, pending: &Pending) -> Result<(), String> {
        let io = |e: std::io::Error| format!("pending request file {}: {e}", self.0.display());
        if let Some(parent) = self.0.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io)?;
        }
        self.remove();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.0)
            .map_err(io)?;
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            pending.request_id,
            pending.token.0,
            pending.key.to_hex(),
            pending.digest
        );
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn dir(home: &Home) -> PathBuf {
    home.data.join("hooks").join("pending")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(argv: &[&str], cwd: &str) -> Subject {
        Subject {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: PathBuf::from(cwd),
            env: Default::default(),
            requester: crate::identity::Requester {
                user: "carol".into(),
                host: "box".into(),
                ci: None,
                agent: None,
            },
            path: None,
            key: DigestKey::random().unwrap(),
        }
    }

    #[test]
    fn a_pending_request_is_private_and_found_only_by_the_same_call() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home {
            data: tmp.path().to_path_buf(),
            config: tmp.path().to_path_buf(),
            cache: tmp.path().join("cache"),
        };
        let call = subject(&["bash", "-c", "touch x"], "/srv");
        let slot = Slot::of(&home, "codex", Some("s1"), &call);
        let key = DigestKey::random().unwrap();
        let pending = Pending {
            request_id: "r-1".into(),
            token: RequesterToken("secret".into()),
            key: key.clone(),
            digest: "d".into(),
        };
        slot.save(&pending).unwrap();
        assert_eq!(
            std::fs::metadata(&slot.0).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let found = slot.load().unwrap().unwrap();
        assert_eq!((found.request_id.as_str(), &found.key), ("r-1", &key));
        assert!(!format!("{found:?}").contains("secret"));

        let other_session = Slot::of(&home, "codex", Some("s2"), &call);
        let other_dir = Slot::of(
            &home,
            "codex",
            Some("s1"),
            &subject(&["bash", "-c", "touch x"], "/tmp"),
        );
        let other_line = Slot::of(
            &home,
            "codex",
            Some("s1"),
            &subject(&["bash", "-c", "touch y"], "/srv"),
        );
        for slot in [other_session, other_dir, other_line] {
            assert!(slot.load().unwrap().is_none());
        }

        std::fs::set_permissions(&slot.0, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(slot.load().is_err());
    }
}
