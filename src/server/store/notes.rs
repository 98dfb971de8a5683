//! What a change's notification carries between replicas (PostgreSQL store):
//! `ID VERSION`, then, when the row fits PostgreSQL's payload limit, the row
//! itself, so the other replicas need not read it back.
//!
//! Any role that may connect to the database may send a notification, so the
//! row is sealed: HMAC-SHA256 under a key derived from the broker's signing key,
//! which every replica shares. A replica takes a carried row only when its seal
//! opens and it changes the very version memory holds (`previous`, under the
//! seal), so a seal copied from an earlier change applies to nothing. Anything
//! else, a forged or damaged note included, is only a hint to read the row again.
//!
//! The format, one field per line: `ID VERSION`, the seal (hex), `previous` (0
//! for a new request), the token hash (hex), the requester's people (JSON), the
//! view (JSON). JSON is written without line breaks.

use super::postgres::Stored;
use crate::server::rules::Request;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL refuses a notification payload of 8000 bytes or more.
const PAYLOAD_LIMIT: usize = 7999;

/// The key notifications are sealed with.
#[derive(Clone)]
pub struct NoteKey([u8; 32]);

impl std::fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteKey(..)")
    }
}

/// A notification, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub version: u64,
    /// The row, when the note carries it under a seal that opens.
    pub carried: Option<Carried>,
}

/// A row a note carries: the request as stored, and the version it changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Carried {
    /// The version the change was made from; 0 for a new request.
    pub previous: u64,
    pub request: Request,
}

impl NoteKey {
    /// The key for the broker whose signing key is `key`.
    pub fn derive(key: &SigningKey) -> NoteKey {
        let mut hash = Sha256::new();
        hash.update(b"gate-replica-notes-v1\0");
        hash.update(key.to_bytes());
        NoteKey(hash.finalize().into())
    }

    fn seal(&self, id: &str, fields: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes a 32-byte key");
        for field in [id, fields] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// What the note for `request`, changed from version `previous`, carries
    /// after `ID VERSION`: the sealed row, or nothing when it would not fit.
    pub fn carry(
        &self,
        request: &Request,
        previous: Option<u64>,
        people: &str,
        view: &str,
    ) -> String {
        let id = &request.view.id;
        let fields = format!(
            "{}\n{}\n{people}\n{view}",
            previous.unwrap_or(0),
            hex::encode(request.token_hash)
        );
        let seal = hex::encode(self.seal(id, &fields).finalize().into_bytes());
        // The header: the id, a space and up to 20 digits.
        if id.len() + 22 + 1 + seal.len() + 1 + fields.len() >= PAYLOAD_LIMIT {
            return String::new();
        }
        format!("\n{seal}\n{fields}")
    }

    /// Read a notification `note`; `None` when it is not one.
    pub fn open(&self, note: &str, public_url: &str) -> Option<Note> {
        let (header, rest) = note.split_once('\n').unwrap_or((note, ""));
        let (id, version) = header.split_once(' ')?;
        let version = version.parse::<u64>().ok()?;
        let carried = rest
            .split_once('\n')
            .and_then(|(seal, fields)| self.unseal(id, version, seal, fields, public_url));
        Some(Note {
            id: id.to_string(),
            version,
            carried,
        })
    }

    fn unseal(
        &self,
        id: &str,
        version: u64,
        seal: &str,
        fields: &str,
        public_url: &str,
    ) -> Option<Carried> {
        let seal = hex::decode(seal).ok()?;
        self.seal(id, fields).verify_slice(&seal).ok()?;
        let mut lines = fields.splitn(4, '\n');
        let previous = lines.next()?.parse::<u64>().ok()?;
        let token_hash = hex::decode(lines.next()?).ok()?;
        let (requester_people, view) = (lines.next()?, lines.next()?);
        if previous >= version {
            return None;
        }
        let stored = Stored {
            id: id.to_string(),
            version,
            token_hash,
            requester_people,
            view,
        };
        let request = stored.request(public_url).ok()?;
        Some(Carried { previous, request })
    }
}
