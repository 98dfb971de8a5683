//! What a change's notification carries between replicas (PostgreSQL store):
//! `ID VERSION`, then, when the row fits PostgreSQL's payload limit, the row
//! itself, so the other replicas need not read it back.
//!
//! Any role that may connect to the database may send and listen to
//! notifications, so the row is sealed: encrypted and authenticated with
//! ChaCha20-Poly1305 under a key derived from the broker's signing key, which
//! every replica shares, with the request's id as associated data. Such a role
//! learns no request's contents, and a replica takes a carried row only when its
//! seal opens and it changes the very version memory holds (`previous`, under
//! the seal), so a seal copied from an earlier change applies to nothing.
//! Anything else, a forged or damaged note included, is only a hint to read the
//! row again.
//!
//! The format: `ID VERSION`, a line break, then base64 of a random 12-byte nonce
//! and the sealed fields: `previous` (0 for a new request), the token hash
//! (hex), the requester's people (JSON), the view (JSON), one per line (JSON is
//! written without line breaks).

use super::postgres::Stored;
use crate::server::rules::Request;
use base64ct::{Base64, Encoding};
use ed25519_dalek::SigningKey;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// PostgreSQL refuses a notification payload of 8000 bytes or more.
const PAYLOAD_LIMIT: usize = 7999;

/// The key notifications are sealed with.
pub struct NoteKey(LessSafeKey);

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
        let bytes: [u8; 32] = hash.finalize().into();
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key");
        NoteKey(LessSafeKey::new(key))
    }

    /// What the note for `request`, changed from version `previous`, carries
    /// after `ID VERSION`: the sealed row, or nothing when it would not fit or
    /// the system's random source fails.
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
        let sealed_len = NONCE_LEN + fields.len() + CHACHA20_POLY1305.tag_len();
        // The header: the id, a space, up to 20 digits, a line break.
        if id.len() + 22 + sealed_len.div_ceil(3) * 4 >= PAYLOAD_LIMIT {
            return String::new();
        }
        let mut nonce = [0u8; NONCE_LEN];
        if getrandom::fill(&mut nonce).is_err() {
            return String::new();
        }
        let mut body = fields.into_bytes();
        let aad = Aad::from(id.as_bytes());
        if self
            .0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aad, &mut body)
            .is_err()
        {
            return String::new();
        }
        let mut sealed = Vec::with_capacity(sealed_len);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&body);
        format!("\n{}", Base64::encode_string(&sealed))
    }

    fn unseal(&self, id: &str, version: u64, sealed: &str, public_url: &str) -> Option<Carried> {
        let mut sealed = Base64::decode_vec(sealed).ok()?;
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let mut body = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
        let fields = self
            .0
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut body)
            .ok()?;
        let fields = std::str::from_utf8(fields).ok()?;
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

/// Read a notification `note`; `None` when it is not one. The row it carries
/// is taken only under `key` (none without one).
pub fn read(note: &str, key: Option<&NoteKey>, public_url: &str) -> Option<Note> {
    let (header, sealed) = note.split_once('\n').unwrap_or((note, ""));
    let (id, version) = header.split_once(' ')?;
    let version = version.parse::<u64>().ok()?;
    let carried = key
        .filter(|_| !sealed.is_empty())
        .and_then(|key| key.unseal(id, version, sealed, public_url));
    Some(Note {
        id: id.to_string(),
        version,
        carried,
    })
}
