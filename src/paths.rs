//! Where gate keeps its files (GATE_HOME, XDG fallbacks) and the ownership rules
//! for files that decide what runs: a policy or key file writable by group or
//! others, owned by another user (not root), or in a directory others can write
//! to without the sticky bit is refused.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A security-relevant file that others could have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsecureFile {
    pub path: PathBuf,
    /// The file's permission bits, e.g. 0o664.
    pub mode: u32,
    pub problem: Insecurity,
}

/// Why a file is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insecurity {
    /// Group or others may write it.
    Writable,
    /// Someone other than this user or root owns it.
    Owner { uid: u32 },
    /// Its directory lets others create, rename or delete entries (writable by
    /// group or others, without the sticky bit), so the file can be swapped.
    Directory { dir: PathBuf, mode: u32 },
}

impl std::fmt::Display for InsecureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match &self.problem {
            Insecurity::Writable => write!(
                f,
                "{path} is writable by {} (mode {:o}); run `chmod go-w {path}`",
                if self.mode & 0o002 != 0 {
                    "others"
                } else {
                    "its group"
                },
                self.mode & 0o7777,
            ),
            Insecurity::Owner { uid } => write!(
                f,
                "{path} is owned by uid {uid}, not by you or root, so its owner decides what \
                 it says; use a file you or root own"
            ),
            Insecurity::Directory { dir, mode } => write!(
                f,
                "{path} is in {}, which others can write to (mode {:o}) without the sticky \
                 bit, so they could replace it; run `chmod go-w {}` or move the file",
                dir.display(),
                mode & 0o7777,
                dir.display()
            ),
        }
    }
}

/// Refuse a file that a user other than its owner could modify, that another
/// user owns, or whose directory lets others swap it.
pub fn ensure_private_write(path: &Path, metadata: &std::fs::Metadata) -> Result<(), InsecureFile> {
    let mode = metadata.mode();
    let insecure = |problem| InsecureFile {
        path: path.to_path_buf(),
        mode: mode & 0o7777,
        problem,
    };
    if mode & 0o022 != 0 {
        return Err(insecure(Insecurity::Writable));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(insecure(Insecurity::Owner {
            uid: metadata.uid(),
        }));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir_meta) = std::fs::metadata(dir) {
        let dir_mode = dir_meta.mode();
        if dir_mode & 0o022 != 0 && dir_mode & 0o1000 == 0 {
            return Err(insecure(Insecurity::Directory {
                dir: dir.to_path_buf(),
                mode: dir_mode & 0o7777,
            }));
        }
    }
    Ok(())
}

/// gate's own directories, resolved once from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Signing key and audit log live here.
    pub data: PathBuf,
    /// The per-user policy file lives here.
    pub config: PathBuf,
    /// Compiled-policy cache.
    pub cache: PathBuf,
}

impl Home {
    /// `GATE_HOME` holds everything when set; otherwise the XDG base directories.
    pub fn from_env() -> Home {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(home) = var("GATE_HOME") {
            return Home {
                data: home.clone(),
                config: home.clone(),
                cache: home.join("cache"),
            };
        }
        let user_home = var("HOME").unwrap_or_else(|| PathBuf::from("/"));
        let xdg = |name: &str, fallback: &str| {
            var(name)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| user_home.join(fallback))
                .join("gate")
        };
        Home {
            data: xdg("XDG_DATA_HOME", ".local/share"),
            config: xdg("XDG_CONFIG_HOME", ".config"),
            cache: xdg("XDG_CACHE_HOME", ".cache"),
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.data.join("audit.key")
    }

    pub fn log_file(&self) -> PathBuf {
        self.data.join("audit.db")
    }

    pub fn policy_file(&self) -> PathBuf {
        self.config.join("policy.toml")
    }
}

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    File(PathBuf),
    /// No policy file anywhere: the embedded default.
    Builtin,
    /// Managed mode: the organisation policy the pinned broker serves (its URL).
    Organisation(String),
}

impl PolicySource {
    /// The label used in diagnostics and messages.
    pub fn label(&self) -> String {
        match self {
            PolicySource::File(path) => path.display().to_string(),
            PolicySource::Builtin => "<built-in default policy>".to_string(),
            PolicySource::Organisation(url) => format!("organisation policy from {url}"),
        }
    }
}

/// Policy lookup: `--policy`, `GATE_POLICY`, `./.gate/policy.toml`, the per-user
/// config policy, then the embedded default. An explicit choice that does not exist
/// is returned as is, so reading it fails loudly instead of falling through.
pub fn find_policy(explicit: Option<&Path>, home: &Home) -> PolicySource {
    if let Some(path) = explicit {
        return PolicySource::File(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("GATE_POLICY").filter(|v| !v.is_empty()) {
        return PolicySource::File(PathBuf::from(path));
    }
    let local = Path::new(".gate/policy.toml");
    if local.exists() {
        return PolicySource::File(local.to_path_buf());
    }
    let user = home.policy_file();
    if user.exists() {
        return PolicySource::File(user);
    }
    PolicySource::Builtin
}
