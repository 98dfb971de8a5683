//! Enrollment's tables in the broker's SQLite store, on a connection of their
//! own: one-time codes (only their SHA-256), installations with their public
//! keys, and the nonces seen within the signature window.
//!
//! Using a code and registering its key happen in one transaction, so a code
//! enrolls at most one key. Never stores a code in the clear.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS enrollment_codes (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    used INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS installations (
    name TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    enrolled_at INTEGER NOT NULL,
    last_seen INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_nonces (
    installation TEXT NOT NULL,
    nonce TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (installation, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_nonces_age ON seen_nonces(timestamp);
";

/// A store failure, naming the database file.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One installation as stored. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRow {
    pub name: String,
    pub public_key: [u8; 32],
    pub enrolled_at: u64,
    pub last_seen: Option<u64>,
    pub revoked_at: Option<u64>,
}

/// Why a code did not enroll anything.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug)]
pub struct EnrollmentStore {
    conn: Connection,
    path: PathBuf,
}

impl EnrollmentStore {
    /// Open the broker store at `path` (already created private by the broker's
    /// own store, or created here the same way) and add enrollment's tables.
    pub fn open(path: &Path) -> Result<EnrollmentStore, StoreError> {
        let fail =
            |e: &dyn std::fmt::Display| StoreError(format!("broker store {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir(dir).map_err(|e| fail(&e))?;
        }
        crate::files::create_private_file(path).map_err(|e| fail(&e))?;
        let conn = Connection::open(path).map_err(|e| fail(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )
        .and_then(|()| conn.execute_batch(SCHEMA))
        .map_err(|e| fail(&e))?;
        Ok(EnrollmentStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn fail(&self, err: rusqlite::Error) -> StoreError {
        StoreError(format!("broker store {}: {err}", self.path.display()))
    }

    /// Remember a new code (its SHA-256, hex) for installation `name`.
    pub fn add_code(
        &self,
        hash: &str,
        name: &str,
        now: u64,
        expires: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO enrollment_codes (hash, name, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![hash, name, now as i64, expires as i64],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Use code `hash` once: register `public_key` under the code's name,
    /// replacing (and un-revoking) an earlier key of that name. The name.
    pub fn enroll(
        &mut self,
        hash: &str,
        public_key: &[u8; 32],
        now: u64,
    ) -> Result<Result<String, CodeRefusal>, StoreError> {
        let path = &self.path;
        let fail = |e: rusqlite::Error| StoreError(format!("broker store {}: {e}", path.display()));
        let tx = self.conn.transaction().map_err(fail)?;
        let found: Option<(String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT name, expires, used FROM enrollment_codes WHERE hash = ?1",
                [hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(fail)?;
        let refusal = match &found {
            None => Some(CodeRefusal::Unknown),
            Some((_, _, Some(_))) => Some(CodeRefusal::Used),
            Some((_, expires, None)) if (*expires as u64) < now => Some(CodeRefusal::Expired),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            return Ok(Err(refusal));
        }
        let name = found.map(|(name, _, _)| name).unwrap_or_default();
        let wrote = tx
            .execute(
                "UPDATE enrollment_codes SET used = ?2 WHERE hash = ?1 AND used IS NULL",
                params![hash, now as i64],
            )
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO installations (name, public_key, enrolled_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET public_key = excluded.public_key,
                        enrolled_at = excluded.enrolled_at, last_seen = NULL, revoked_at = NULL",
                    params![name, &public_key[..], now as i64],
                )
            })
            .and_then(|_| tx.commit());
        wrote.map_err(fail)?;
        Ok(Ok(name))
    }

    /// One installation by name.
    pub fn installation(&self, name: &str) -> Result<Option<InstallationRow>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT name, public_key, enrolled_at, last_seen, revoked_at
                 FROM installations WHERE name = ?1",
            )
            .and_then(|mut s| s.query_row([name], read_row).optional())
            .map_err(|e| self.fail(e))
    }

    /// Every installation, by name.
    pub fn installations(&self) -> Result<Vec<InstallationRow>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT name, public_key, enrolled_at, last_seen, revoked_at
                 FROM installations ORDER BY name",
            )
            .and_then(|mut s| s.query_map([], read_row)?.collect())
            .map_err(|e| self.fail(e))
    }

    /// Revoke installation `name` now; false when there is none by that name.
    pub fn revoke(&self, name: &str, now: u64) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "UPDATE installations SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1",
                params![name, now as i64],
            )
            .map(|changed| changed == 1)
            .map_err(|e| self.fail(e))
    }

    /// Record nonce `nonce` of `installation`, signed at `timestamp`; false when
    /// it was seen before (a replay). Nonces older than `forget_before` are
    /// dropped first: their signatures are outside the window anyway.
    pub fn first_use(
        &self,
        installation: &str,
        nonce: &str,
        timestamp: u64,
        forget_before: u64,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("DELETE FROM seen_nonces WHERE timestamp < ?1")
            .and_then(|mut s| s.execute([forget_before as i64]))
            .map_err(|e| self.fail(e))?;
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO seen_nonces (installation, nonce, timestamp)
                 VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![installation, nonce, timestamp as i64]))
            .map(|inserted| inserted == 1)
            .map_err(|e| self.fail(e))
    }

    /// Note that `name` was seen at `now`.
    pub fn seen(&self, name: &str, now: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE installations SET last_seen = ?2 WHERE name = ?1")
            .and_then(|mut s| s.execute(params![name, now as i64]))
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InstallationRow> {
    let key: Vec<u8> = row.get(1)?;
    let at = |value: Option<i64>| value.map(|v| v as u64);
    Ok(InstallationRow {
        name: row.get(0)?,
        public_key: key.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Blob,
                "damaged installation key".into(),
            )
        })?,
        enrolled_at: row.get::<_, i64>(2)? as u64,
        last_seen: at(row.get(3)?),
        revoked_at: at(row.get(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, EnrollmentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EnrollmentStore::open(&dir.path().join("broker.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_code_enrolls_once_before_it_expires() {
        let (_dir, mut store) = store();
        store.add_code("h1", "laptop", 100, 200).unwrap();
        store.add_code("h2", "laptop", 100, 200).unwrap();
        assert_eq!(
            store.enroll("nope", &[1; 32], 150).unwrap(),
            Err(CodeRefusal::Unknown)
        );
        assert_eq!(
            store.enroll("h1", &[1; 32], 150).unwrap(),
            Ok("laptop".into())
        );
        assert_eq!(
            store.enroll("h1", &[2; 32], 150).unwrap(),
            Err(CodeRefusal::Used)
        );
        assert_eq!(
            store.installation("laptop").unwrap().unwrap().public_key,
            [1; 32]
        );
        assert_eq!(
            store.enroll("h2", &[2; 32], 201).unwrap(),
            Err(CodeRefusal::Expired)
        );
    }

    #[test]
    fn enrolling_again_replaces_the_key_and_lifts_a_revocation() {
        let (_dir, mut store) = store();
        store.add_code("h1", "laptop", 100, 200).unwrap();
        store.enroll("h1", &[1; 32], 110).unwrap().unwrap();
        assert!(store.revoke("laptop", 120).unwrap());
        assert!(!store.revoke("desktop", 120).unwrap());
        assert_eq!(
            store.installation("laptop").unwrap().unwrap().revoked_at,
            Some(120)
        );
        store.add_code("h2", "laptop", 130, 200).unwrap();
        store.enroll("h2", &[2; 32], 140).unwrap().unwrap();
        let row = store.installation("laptop").unwrap().unwrap();
        assert_eq!((row.public_key, row.revoked_at), ([2; 32], None));
        assert_eq!(store.installations().unwrap().len(), 1);
    }

    #[test]
    fn a_nonce_is_accepted_once_and_forgotten_when_old() {
        let (_dir, store) = store();
        assert!(store.first_use("a", "n1", 1000, 0).unwrap());
        assert!(!store.first_use("a", "n1", 1000, 0).unwrap());
        // Another installation's nonce is its own.
        assert!(store.first_use("b", "n1", 1000, 0).unwrap());
        // Once its signature is out of the window it is pruned.
        assert!(store.first_use("a", "n2", 2000, 1001).unwrap());
        assert!(store.first_use("a", "n1", 1000, 0).unwrap());
    }
}
