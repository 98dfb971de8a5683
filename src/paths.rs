//! Where gate keeps its files (GATE_HOME, XDG fallbacks) and the ownership rules
//! for files that decide what runs: a policy or key file writable by group or
//! others is refused.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A security-relevant file that others could have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsecureFile {
    pub path: PathBuf,
    /// The file's permission bits, e.g. 0o664.
    pub mode: u32,
}

impl std::fmt::Display for InsecureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is writable by {} (mode {:o}); run `chmod go-w {}`",
            self.path.display(),
            if self.mode & 0o002 != 0 {
                "others"
            } else {
                "its group"
            },
            self.mode & 0o7777,
            self.path.display()
        )
    }
}

/// Refuse a file that a user other than its owner could modify.
pub fn ensure_private_write(path: &Path, metadata: &std::fs::Metadata) -> Result<(), InsecureFile> {
    let mode = metadata.mode();
    if mode & 0o022 != 0 {
        return Err(InsecureFile {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}
