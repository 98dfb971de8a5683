//! The SQLite store: opening (schema on first use only), and appending a signed
//! record under the write lock so concurrent gate processes never fork the chain.
//!
//! Append-only: nothing here updates or deletes a record, and triggers make SQLite
//! refuse it too (a guard against accidents, not attackers; the chain is the proof).

use super::record::{GENESIS_PREV_HASH, record_hash, signed_bytes};
use super::{AuditError, Entry};
use crate::files;
use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `PRAGMA user_version` of a log in this format.
pub const FORMAT_VERSION: i64 = 1;

/// How long an append waits for another process's write before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// No secondary index: every index is one more page written (and fsync'd) per
/// record and one more WAL frame every later gate process reads back at open;
/// reading the log (`gate audit show`) scans it instead.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('format', 'gate-audit-v1'), ('version', '1');
CREATE TABLE IF NOT EXISTS records (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    user      TEXT NOT NULL,
    decision  TEXT NOT NULL,
    body      BLOB NOT NULL,
    signature TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'the gate audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'the gate audit log is append-only'); END;
PRAGMA user_version = 1;
";

const LAST_RECORD: &str = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1";
const INSERT_RECORD: &str =
    "INSERT INTO records (seq, time, kind, user, decision, body, signature, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// An open audit log. Each gate process (or thread) holds its own.
#[derive(Debug)]
pub struct AuditLog {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// The `synchronous` setting last applied, to skip redundant pragmas.
    durable: Option<bool>,
    /// The directory entry of the log or its WAL file may be new (it did not exist
    /// when this log was opened), so the directory is fsynced after the next
    /// durable commit. SQLite is built without its own directory fsync
    /// (`SQLITE_DISABLE_DIRSYNC`, see .cargo/config.toml), which it would otherwise
    /// repeat for the long-lived WAL file in every process.
    new_entries: bool,
}

impl AuditLog {
    /// Open (creating on first use, mode 0600 in a 0700 directory) the log at `path`.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        files::create_private_dir(path.parent().unwrap_or(Path::new(".")))?;
        let created = files::create_private_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut log = AuditLog::connect(path, flags)?;
        log.new_entries = created || !wal_path(path).exists();
        match log.user_version()? {
            FORMAT_VERSION => {}
            0 => log.create_schema()?,
            found => return Err(unsupported(path, found)),
        }
        Ok(log)
    }

    /// Open an existing log for reading only (`show`, `export`); never creates a file.
    pub fn open_read_only(path: &Path) -> Result<AuditLog, AuditError> {
        if !path.exists() {
            return Err(AuditError::LogMissing {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let log = AuditLog::connect(path, flags)?;
        match log.user_version()? {
            FORMAT_VERSION => Ok(log),
            0 => Err(AuditError::Corrupt {
                path: path.to_path_buf(),
                detail: "not a gate audit log (no schema)".into(),
            }),
            found => Err(unsupported(path, found)),
        }
    }

    /// The file this log lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sign `entry` as the next record and store it. With `durable`, the record is
    /// fsynced before this returns (use it for decision records, before the command
    /// runs); without, it is crash-consistent but may be lost on power failure.
    pub fn append(
        &mut self,
        entry: &Entry,
        key: &SigningKey,
        durable: bool,
    ) -> Result<u64, AuditError> {
        self.set_durable(durable)?;
        let path = &self.path;
        let fail = |err| AuditError::sqlite(path, err);
        // The write lock is taken before reading the head, so no other writer can
        // link to the same previous record: the chain cannot fork.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let (seq, prev_hash) = next_link(&tx, path)?;
        let time = now_rfc3339();
        let signed = signed_bytes(seq, &time, &prev_hash, entry);
        let signature = key.sign(&signed).to_bytes();
        let hash = record_hash(&signed, &signature);
        let row = params![
            i64::try_from(seq).unwrap_or(i64::MAX),
            time,
            entry.kind.as_str(),
            entry.requester.user,
            entry.decision.as_str(),
            signed,
            hex::encode(signature),
            hash,
        ];
        tx.prepare_cached(INSERT_RECORD)
            .and_then(|mut stmt| stmt.execute(row))
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        if durable && self.new_entries {
            files::sync_dir(path.parent().unwrap_or(Path::new(".")));
            self.new_entries = false;
        }
        Ok(seq)
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<AuditLog, AuditError> {
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|conn| conn.busy_timeout(BUSY_TIMEOUT).map(|()| conn))
            .and_then(|conn| tune_for_one_command(&conn).map(|()| conn))
            .map_err(|err| AuditError::sqlite(path, err))?;
        Ok(AuditLog {
            conn,
            path: path.to_path_buf(),
            durable: None,
            new_entries: false,
        })
    }

    fn user_version(&self) -> Result<i64, AuditError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|err| AuditError::sqlite(&self.path, err))
    }

    /// First open: switch to WAL, then create the schema under the write lock so
    /// two processes opening a fresh log at once do it exactly once.
    fn create_schema(&mut self) -> Result<(), AuditError> {
        let path = &self.path;
        let fail = |err| AuditError::sqlite(path, err);
        // Switching the journal mode needs the database to itself, and SQLite
        // answers "busy" at once (without its busy handler) while another first
        // open holds it: retry within the usual busy timeout.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            let switched = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()));
            match switched {
                Ok(()) => break,
                Err(err)
                    if matches!(
                        err.sqlite_error_code(),
                        Some(
                            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                        )
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(err) => return Err(fail(err)),
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.execute_batch(SCHEMA).map_err(fail)?;
        tx.commit().map_err(fail)
    }

    fn set_durable(&mut self, durable: bool) -> Result<(), AuditError> {
        if self.durable != Some(durable) {
            let level = if durable { "FULL" } else { "NORMAL" };
            self.conn
                .pragma_update(None, "synchronous", level)
                .map_err(|err| AuditError::sqlite(&self.path, err))?;
            self.durable = Some(durable);
        }
        Ok(())
    }
}

/// SQLite's write-ahead log beside the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The sequence number and previous hash for the record about to be written.
fn next_link(tx: &rusqlite::Transaction<'_>, path: &Path) -> Result<(u64, String), AuditError> {
    let last = tx
        .prepare_cached(LAST_RECORD)
        .and_then(|mut stmt| {
            stmt.query_row([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()
        })
        .map_err(|err| AuditError::sqlite(path, err))?;
    let Some((last_seq, last_hash)) = last else {
        return Ok((1, GENESIS_PREV_HASH.to_owned()));
    };
    match u64::try_from(last_seq) {
        Ok(seq) if seq < i64::MAX as u64 => Ok((seq + 1, last_hash)),
        _ => Err(AuditError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("last sequence number is {last_seq}"),
        }),
    }
}

/// Now as RFC 3339 UTC with milliseconds (fixed width, so text order is time order).
pub(super) fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

pub(super) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time.max(SystemTime::UNIX_EPOCH)).to_string()
}

fn unsupported(path: &Path, found: i64) -> AuditError {
    AuditError::UnsupportedVersion {
        path: path.to_path_buf(),
        found,
    }
}

/// Bytes of the SQLite heap a one-command process reserves (address space only:
/// pages are touched as SQLite uses them, a few hundred KB for one command).
const ONE_COMMAND_HEAP: usize = 8 << 20;

/// Give SQLite a private heap (its buddy allocator, memsys5) for the rest of this
/// process. Call it first thing in a process that opens the log for one command.
///
/// musl's malloc hands memory back to the kernel as soon as a block of its size is
/// free, and SQLite allocates and frees the same few-KB buffers dozens of times
/// while it opens a connection: with musl (the static build) that was 30 mmap and
/// munmap pairs per `gate --` call. Long-lived processes (`gate serve`) keep the
/// C library's allocator. If SQLite is already initialised this does nothing.
pub fn use_one_command_heap() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Mapped, not allocated: untouched pages cost nothing whatever the allocator.
        // SAFETY: an anonymous private mapping at an address the kernel picks; no
        // existing memory is affected. The result is checked before use.
        let heap = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ONE_COMMAND_HEAP,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if heap == libc::MAP_FAILED {
            return; // SQLite keeps the C library's allocator
        }
        let len = std::ffi::c_int::try_from(ONE_COMMAND_HEAP).unwrap_or(std::ffi::c_int::MAX);
        // SAFETY: SQLITE_CONFIG_HEAP takes (void*, int, int); the mapping is never
        // unmapped, so it lives as long as the process, and nothing else uses it.
        // Called after SQLite is initialised it returns SQLITE_MISUSE and changes
        // nothing: SQLite keeps the C library's allocator, which works as well.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_HEAP,
                heap,
                len,
                std::ffi::c_int::from(64u8),
            );
        }
    });
}

/// Every process that opens the log first reads the whole WAL to rebuild its
/// index, so the WAL is kept small: a commit that takes it past this many pages
/// also checkpoints it (SQLite's default is 1000 pages, about 4 MB).
const WAL_CHECKPOINT_PAGES: i64 = 64;

/// Settings for a connection that lives for one gate command.
///
/// By default the last connection to close checkpoints the WAL into the database
/// and deletes it, and the next process creates it again: four extra fsyncs per
/// command. Keeping the WAL file and leaving checkpoints to the automatic ones
/// leaves one fsync per durable record. Durability is unchanged: a committed
/// record is in the fsync'd WAL, which SQLite replays on open.
fn tune_for_one_command(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
    let mut persist: std::ffi::c_int = 1;
    // SAFETY: the handle is valid for the life of `conn`, which outlives this call;
    // SQLITE_FCNTL_PERSIST_WAL reads and writes one c_int through the pointer,
    // which points at a live local; "main" is a NUL-terminated database name.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut persist).cast(),
        )
    };
    check(rc)
}

fn check(rc: std::ffi::c_int) -> rusqlite::Result<()> {
    if rc == rusqlite::ffi::SQLITE_OK {
        return Ok(());
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rc),
        None,
    ))
}
