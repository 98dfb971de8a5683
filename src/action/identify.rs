//! What program a file really is when its name may lie: a copy of a shell (or of
//! another program gate reads specially) that the requester put somewhere under a
//! name of its choosing. `cp /bin/bash ./build; ./build -c '…'` is still bash.
//!
//! Only files the requester could have written are compared (owned by someone
//! other than root, or in a directory that is); a system program is what its
//! name says. A file is a copy when it has the same size and the same bytes as
//! one of the programs below in a system directory.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Programs whose copies are recognised: shells, and the programs that run
/// other programs or code that normalisation reads specially.
const KNOWN: &[&str] = &[
    "bash", "sh", "dash", "zsh", "ksh", "ksh93", "mksh", "yash", "fish", "tcsh", "csh", "busybox",
    "env", "sudo", "doas", "su", "xargs", "nohup", "nice", "timeout", "setsid", "stdbuf", "chroot",
    "unshare", "nsenter", "strace", "script", "python3", "python", "perl", "ruby", "node", "php",
    "lua", "tclsh", "awk", "gawk", "mawk", "sed", "find", "ssh", "docker", "kubectl", "git", "rm",
    "parallel",
];

/// Where the originals are looked for: never the requester's PATH.
const SYSTEM_DIRS: &[&str] = &["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// The system program `path` is a byte-for-byte copy (or a hard link) of, when
/// the requester could have put `path` where it is.
pub fn copy_of(path: &Path) -> Option<PathBuf> {
    let meta = fs::metadata(path).ok()?;
    if !requester_could_write(path, &meta) {
        return None;
    }
    let mut contents: Option<Vec<u8>> = None;
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for dir in SYSTEM_DIRS {
        for name in KNOWN {
            let candidate = Path::new(dir).join(name);
            let Ok(original) = fs::metadata(&candidate) else {
                continue;
            };
            let id = (original.dev(), original.ino());
            if original.len() != meta.len() || seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if id == (meta.dev(), meta.ino()) && path != candidate {
                return Some(candidate);
            }
            let ours = match &contents {
                Some(bytes) => bytes,
                None => contents.insert(fs::read(path).ok()?),
            };
            if fs::read(&candidate).is_ok_and(|bytes| &bytes == ours) {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether the requester (this process's user) could have written `path`: it or
/// its directory belongs to someone other than root, or the directory is writable
/// by others. For root, every file outside the system directories counts.
fn requester_could_write(path: &Path, meta: &fs::Metadata) -> bool {
    let in_system_dir = path
        .parent()
        .is_some_and(|dir| SYSTEM_DIRS.iter().any(|system| dir == Path::new(system)));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return !in_system_dir;
    }
    let dir = path.parent().and_then(|dir| fs::metadata(dir).ok());
    meta.uid() != 0 || dir.is_none_or(|dir| dir.uid() != 0 || dir.mode() & 0o022 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn system_sh() -> PathBuf {
        ["/bin/sh", "/usr/bin/sh"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("a system sh")
    }

    #[test]
    fn a_copy_of_a_shell_under_another_name_is_that_shell() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("build");
        fs::copy(fs::canonicalize(system_sh()).unwrap(), &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        let original = copy_of(&copy).expect("recognised as a copy");
        let name = original.file_name().unwrap().to_str().unwrap();
        assert!(KNOWN.contains(&name), "{original:?}");
        assert_eq!(fs::read(&original).unwrap(), fs::read(&copy).unwrap());
    }

    #[test]
    fn a_file_of_its_own_is_nobodys_copy() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("build");
        fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(copy_of(&script), None);
        // Same size as a known program is not enough: the bytes must match.
        let sh = fs::canonicalize(system_sh()).unwrap();
        let size = fs::metadata(&sh).unwrap().len() as usize;
        let impostor = dir.path().join("impostor");
        fs::write(&impostor, vec![0u8; size]).unwrap();
        assert_eq!(copy_of(&impostor), None);
    }

    #[test]
    fn a_system_program_is_what_its_name_says() {
        assert_eq!(copy_of(&fs::canonicalize(system_sh()).unwrap()), None);
    }
}
