//! Creating the audit module's files and directories with private permissions.
//! Never loosens permissions and never replaces an existing file.

use super::AuditError;
use crate::paths::ensure_private_write;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Create `dir` (and missing parents) with mode 0700; refuse an existing directory
/// that others can write, since they could swap the key or the log.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), AuditError> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| AuditError::io(dir, err))?;
    let meta = fs::metadata(dir).map_err(|err| AuditError::io(dir, err))?;
    // A sticky world-writable directory (/tmp) still lets others create names, but
    // not replace ours; only a plain group/world-writable directory is refused.
    if meta.mode() & 0o1000 == 0 {
        ensure_private_write(dir, &meta)?;
    }
    Ok(())
}

/// Create `path` empty with mode 0600 unless it exists, then refuse it if others
/// can write it. True when this call created it.
pub(crate) fn create_private_file(path: &Path) -> Result<bool, AuditError> {
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let created = match created {
        Ok(_) => true,
        Err(err) if err.kind() == ErrorKind::AlreadyExists => false,
        Err(err) => return Err(AuditError::io(path, err)),
    };
    let meta = fs::metadata(path).map_err(|err| AuditError::io(path, err))?;
    ensure_private_write(path, &meta)?;
    Ok(created)
}

/// Create a new file with mode 0600, write `bytes` and flush them to disk.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Make the new directory entry durable; best effort (some file systems refuse).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}
