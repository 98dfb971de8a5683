//! Creating gate's private files and directories (the audit log, key files, the
//! broker's store). Never loosens permissions and never replaces an existing file.

use crate::paths::{InsecureFile, ensure_private_write};
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a private file or directory could not be made or used.
#[derive(Debug)]
pub enum FileError {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Others could change it.
    Insecure(InsecureFile),
}

impl FileError {
    fn io(path: &Path, source: std::io::Error) -> FileError {
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<InsecureFile> for FileError {
    fn from(insecure: InsecureFile) -> FileError {
        FileError::Insecure(insecure)
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            FileError::Insecure(insecure) => write!(f, "{insecure}"),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(source),
            FileError::Insecure(_) => None,
        }
    }
}

/// Create `dir` (and missing parents) with mode 0700; refuse an existing directory
/// that others can write, since they could swap the key or the log.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| FileError::io(dir, err))?;
    let meta = fs::metadata(dir).map_err(|err| FileError::io(dir, err))?;
    // A sticky world-writable directory (/tmp) still lets others create names, but
    // not replace ours; only a plain group/world-writable directory is refused.
    if meta.mode() & 0o1000 == 0 {
        ensure_private_write(dir, &meta)?;
    }
    Ok(())
}

/// Create `path` empty with mode 0600 unless it exists, then refuse it if others
/// can write it. True when this call created it.
pub fn create_private_file(path: &Path) -> Result<bool, FileError> {
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let created = match created {
        Ok(_) => true,
        Err(err) if err.kind() == ErrorKind::AlreadyExists => false,
        Err(err) => return Err(FileError::io(path, err)),
    };
    let meta = fs::metadata(path).map_err(|err| FileError::io(path, err))?;
    ensure_private_write(path, &meta)?;
    Ok(created)
}

/// Create a new file with mode 0600, write `bytes` and flush them to disk.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Make the new directory entry durable; best effort (some file systems refuse).
pub fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// The text of a file that decides what runs (a policy, a broker config), read
/// from the file it checked: refused when someone other than its owner could have
/// written it (`crate::paths::ensure_private_write`).
pub fn read_trusted(path: &Path) -> Result<String, FileError> {
    let mut file = fs::File::open(path).map_err(|err| FileError::io(path, err))?;
    let meta = file.metadata().map_err(|err| FileError::io(path, err))?;
    // Checked before the permissions: a directory's (/tmp is world-writable) would
    // send the user to chmod something that was never a policy.
    if meta.is_dir() {
        let err = std::io::Error::new(
            ErrorKind::IsADirectory,
            "is a directory; name the file inside it (a policy or config must be a file)",
        );
        return Err(FileError::io(path, err));
    }
    ensure_private_write(path, &meta)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(|err| FileError::io(path, err))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_not_read_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_trusted(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(!err.to_string().contains("chmod"), "{err}");
    }
}
