//! Step 1 of the pipeline, load: find the policy, read it (refusing a file others
//! could have written), parse it, and keep the compiled-policy cache.
//!
//! Parsing a large policy costs far more than deciding with it, so a successfully
//! parsed policy is stored (postcard) under the cache directory, named by the SHA-256
//! of the exact policy bytes and the gate version. A changed file has a different
//! name, so a cached entry can never give a stale decision; a missing, unreadable or
//! undecodable entry just means parsing again.
//!
//! Each rule is encoded on its own, so a command is decided after decoding only the
//! rules the policy's index says it could match (see `Policy::candidate_rules`);
//! with 10,000 rules that is a few dozen.

use crate::error::Error;
use crate::paths::{Home, PolicySource, ensure_private_write, find_policy};
use crate::policy::{DEFAULT_POLICY, Policy, Rule, SimpleCommand};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bump when the serialized `Policy` layout changes.
const CACHE_FORMAT: &str = "6-option-grammars";

/// A cache entry: the policy without its rules (but with the index over all of
/// them), and each rule encoded separately.
#[derive(Serialize, Deserialize)]
struct CacheEntry<'a> {
    head: Policy,
    #[serde(borrow)]
    rules: Vec<&'a [u8]>,
}

/// A policy loaded from somewhere, with its source and exact text.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub source: PolicySource,
}

impl LoadedPolicy {
    /// The policy file's directory, which anchors a relative `server_key`.
    pub fn dir(&self) -> Option<&Path> {
        match &self.source {
            PolicySource::File(path) => path.parent(),
            PolicySource::Builtin => None,
        }
    }
}

/// Find (`--policy`, `GATE_POLICY`, `./.gate/policy.toml`, `$GATE_HOME`, the
/// embedded default) and load the policy for deciding `commands`, the command
/// already normalised. When it comes from the cache it holds only the rules
/// `commands` could match, so use it for that request alone. `color` only
/// affects how diagnostics render.
pub fn load(
    explicit: Option<&Path>,
    home: &Home,
    color: bool,
    commands: &[SimpleCommand],
) -> Result<LoadedPolicy, Error> {
    let source = find_policy(explicit, home);
    let label = source.label();
    let policy = match &source {
        PolicySource::Builtin => {
            cached_parse(DEFAULT_POLICY, &label, &home.cache, color, commands)?
        }
        PolicySource::File(path) => {
            let text = read_policy_text(path)?;
            cached_parse(&text, &label, &home.cache, color, commands)?
        }
    };
    Ok(LoadedPolicy { policy, source })
}

/// Read a policy file, refusing one that others could have written.
pub fn read_policy_text(path: &Path) -> Result<String, Error> {
    crate::files::read_trusted(path).map_err(|err| Error::file("read policy", err))
}

fn parse(text: &str, label: &str, color: bool) -> Result<Policy, Error> {
    Policy::parse(text, label).map_err(|diagnostics| Error::Policy { diagnostics, color })
}

fn cached_parse(
    text: &str,
    label: &str,
    cache_dir: &Path,
    color: bool,
    commands: &[SimpleCommand],
) -> Result<Policy, Error> {
    let entry = cache_entry(cache_dir, text);
    if let Some(policy) = read_cached(&entry, commands) {
        return Ok(policy);
    }
    let policy = parse(text, label, color)?;
    // The cache is an optimisation: failing to write it must not fail the command.
    let _ = write_cached(&entry, &policy);
    Ok(policy)
}

fn cache_entry(cache_dir: &Path, text: &str) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(CACHE_FORMAT.as_bytes());
    hasher.update([0]);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    let digest = hasher.finalize();
    let name = hex::encode(digest);
    cache_dir.join(format!("policy-{name}.bin"))
}

/// The cached policy, holding only the rules `commands` could match.
fn read_cached(entry: &Path, commands: &[SimpleCommand]) -> Option<Policy> {
    let mut file = std::fs::File::open(entry).ok()?;
    ensure_private_write(entry, &file.metadata().ok()?).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let cached: CacheEntry<'_> = postcard::from_bytes(&bytes).ok()?;
    let wanted = cached.head.candidate_rules(commands);
    let rules = wanted
        .into_iter()
        .map(|i| postcard::from_bytes::<Rule>(cached.rules.get(i)?).ok())
        .collect::<Option<Vec<Rule>>>()?;
    Some(cached.head.with_rules(rules))
}

fn write_cached(entry: &Path, policy: &Policy) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = entry.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut head = policy.clone();
    let rules = std::mem::take(&mut head.rules)
        .iter()
        .map(postcard::to_stdvec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(std::io::Error::other)?;
    let cached = CacheEntry {
        head,
        rules: rules.iter().map(Vec::as_slice).collect(),
    };
    let bytes = postcard::to_stdvec(&cached).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&bytes)?;
    std::fs::rename(&tmp, entry)
}
