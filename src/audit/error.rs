//! Typed errors of the audit module. Each `Display` is one line that names the file
//! and says what to do. Tampering is not an error here: `verify` reports it as data
//! ([`super::Problem`]), because finding it is verify's success.

use crate::files::FileError;
use crate::keys::KeyError;
use crate::paths::InsecureFile;
use std::path::PathBuf;

#[derive(Debug)]
#[non_exhaustive]
pub enum AuditError {
    /// Creating, reading or writing a file or directory failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key file, log file or log directory that others could change (or read, for a key).
    Insecure(InsecureFile),
    /// The signing key file could not be used.
    Key(KeyError),
    /// No audit log at this path (read-only operations never create one).
    LogMissing { path: PathBuf },
    /// The file is not a gate audit log, or is damaged beyond reading.
    Corrupt { path: PathBuf, detail: String },
    /// The log was written by a newer gate (or is not ours).
    UnsupportedVersion { path: PathBuf, found: i64 },
    /// Another process held the write lock longer than the busy timeout.
    Locked { path: PathBuf },
    /// The disk (or quota) is full.
    DiskFull { path: PathBuf },
    /// The log cannot be written (read-only file, directory or file system).
    ReadOnly { path: PathBuf },
    /// Any other SQLite failure.
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl AuditError {
    /// Classify a SQLite error on `path` into the variant that carries the right fix.
    pub(crate) fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> AuditError {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => AuditError::Locked { path },
            Some(C::DiskFull) => AuditError::DiskFull { path },
            Some(C::ReadOnly | C::PermissionDenied) => AuditError::ReadOnly { path },
            Some(C::NotADatabase | C::DatabaseCorrupt) => AuditError::Corrupt {
                path,
                detail: source.to_string(),
            },
            _ => AuditError::Sqlite { path, source },
        }
    }
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use AuditError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            Insecure(insecure) => write!(f, "{insecure}"),
            Key(err) => write!(f, "{err}"),
            LogMissing { path } => write!(f, "no audit log at {}", path.display()),
            Corrupt { path, detail } => write!(
                f,
                "audit log {} is unreadable ({detail}); restore it from a backup or move it away",
                path.display()
            ),
            UnsupportedVersion { path, found } => write!(
                f,
                "audit log {} has format version {found}, this gate reads version {}; use a newer gate",
                path.display(),
                super::store::FORMAT_VERSION
            ),
            Locked { path } => write!(
                f,
                "audit log {} stayed locked by another process; retry, or look for a stuck process holding it",
                path.display()
            ),
            DiskFull { path } => write!(
                f,
                "no space left to write audit log {}; free disk space and retry",
                path.display()
            ),
            ReadOnly { path } => write!(
                f,
                "audit log {} is not writable; check its permissions and those of its directory",
                path.display()
            ),
            Sqlite { path, source } => write!(f, "audit log {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io { source, .. } => Some(source),
            AuditError::Sqlite { source, .. } => Some(source),
            AuditError::Key(err) => Some(err),
            _ => None,
        }
    }
}

impl From<InsecureFile> for AuditError {
    fn from(insecure: InsecureFile) -> AuditError {
        AuditError::Insecure(insecure)
    }
}

impl From<KeyError> for AuditError {
    fn from(err: KeyError) -> AuditError {
        AuditError::Key(err)
    }
}

impl From<FileError> for AuditError {
    fn from(err: FileError) -> AuditError {
        match err {
            FileError::Io { path, source } => AuditError::Io { path, source },
            FileError::Insecure(insecure) => AuditError::Insecure(insecure),
        }
    }
}
