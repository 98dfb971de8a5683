//! Step 1 of the pipeline, load: find the policy, read it (refusing a file others
//! could have written), parse it, and keep the compiled-policy cache.
//!
//! Parsing a large policy costs far more than deciding with it, so a successfully
//! parsed policy is stored (postcard) under the cache directory, named by the SHA-256
//! of the exact policy bytes (the version audit records name) and the gate version.
//! A changed file has a different name, so a cached entry can never give a stale
//! decision; a missing, unreadable or undecodable entry just means parsing again.
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
const CACHE_FORMAT: &str = "8-tools";

/// A cache entry: the policy without its rules (but with the index over all of
/// them), and each rule encoded separately.
#[derive(Serialize, Deserialize)]
struct CacheEntry<'a> {
    head: Policy,
    #[serde(borrow)]
    rules: Vec<&'a [u8]>,
}

/// A policy loaded from somewhere, with its source and version.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub source: PolicySource,
    /// Hex SHA-256 of the policy text: what every audit record names.
    pub version: String,
    /// In managed mode: the organisation policy and where it came from.
    pub managed: Option<super::managed::OrgPolicy>,
    /// Policy choices managed mode ignored (`--policy x.toml`, `GATE_POLICY`, …).
    pub ignored: Vec<String>,
}

impl LoadedPolicy {
    /// The policy file's directory, which anchors a relative `server_key`.
    pub fn dir(&self) -> Option<&Path> {
        match &self.source {
            PolicySource::File(path) => path.parent(),
            PolicySource::Builtin | PolicySource::Organisation(_) => None,
        }
    }

    /// Where the policy came from, for `gate check` and messages; in managed
    /// mode also what was ignored.
    pub fn describe(&self) -> String {
        let mut label = self.source.label();
        if let Some(org) = &self.managed {
            label = org.label();
            if org.stale {
                label.push_str(" (cached copy: the broker cannot be reached)");
            }
            if !self.ignored.is_empty() {
                label.push_str(&format!(
                    " (managed mode: {} ignored)",
                    self.ignored.join(", ")
                ));
            }
        }
        label
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
    if let Some(config) = super::managed::find(home)? {
        let org = super::managed::fetch(&config, home)?;
        let source = PolicySource::Organisation(config.url.clone());
        let label = org.label();
        let version = &org.payload.version;
        let policy = cached_parse(&org.text, version, &label, &home.cache, color, commands)?;
        if org.stale {
            eprintln!(
                "gate: the broker at {} cannot be reached; deciding under the cached organisation \
                 policy {} fetched {} ago",
                config.url,
                &org.payload.version[..12],
                humantime::format_duration(std::time::Duration::from_secs(
                    org.fetched_at.elapsed().unwrap_or_default().as_secs()
                ))
            );
        }
        return Ok(LoadedPolicy {
            policy,
            source,
            version: org.payload.version.clone(),
            ignored: ignored_choices(explicit, home),
            managed: Some(org),
        });
    }
    let source = find_policy(explicit, home);
    let label = source.label();
    let text = match &source {
        PolicySource::Builtin | PolicySource::Organisation(_) => {
            std::borrow::Cow::Borrowed(DEFAULT_POLICY)
        }
        PolicySource::File(path) => std::borrow::Cow::Owned(read_policy_text(path)?),
    };
    // One hash of the text: the version records name, which also names the cache.
    let version = crate::approval::signed_policy::policy_version(&text);
    let policy = cached_parse(&text, &version, &label, &home.cache, color, commands)?;
    Ok(LoadedPolicy {
        policy,
        source,
        version,
        managed: None,
        ignored: Vec::new(),
    })
}

/// The local policy choices a managed gate does not use.
fn ignored_choices(explicit: Option<&Path>, home: &Home) -> Vec<String> {
    let mut ignored = Vec::new();
    if let Some(path) = explicit {
        ignored.push(format!("--policy {}", path.display()));
    }
    if std::env::var_os("GATE_POLICY").is_some_and(|v| !v.is_empty()) {
        ignored.push("GATE_POLICY".to_string());
    }
    if Path::new(".gate/policy.toml").exists() {
        ignored.push("./.gate/policy.toml".to_string());
    }
    if home.policy_file().exists() {
        ignored.push(home.policy_file().display().to_string());
    }
    ignored
}

/// Read a policy file, refusing one that others could have written.
pub fn read_policy_text(path: &Path) -> Result<String, Error> {
    crate::files::read_trusted(path).map_err(|err| Error::file("read policy", err))
}

fn parse(text: &str, label: &str, color: bool) -> Result<Policy, Error> {
    Policy::parse(text, label).map_err(|diagnostics| Error::Policy { diagnostics, color })
}

/// The policy in `text`, whose SHA-256 is `version`.
fn cached_parse(
    text: &str,
    version: &str,
    label: &str,
    cache_dir: &Path,
    color: bool,
    commands: &[SimpleCommand],
) -> Result<Policy, Error> {
    let entry = cache_entry(cache_dir, version);
    if let Some(policy) = read_cached(&entry, commands) {
        return Ok(policy);
    }
    let policy = parse(text, label, color)?;
    // The cache is an optimisation: failing to write it must not fail the command.
    let _ = write_cached(&entry, &policy);
    Ok(policy)
}

/// The cache file for the policy whose text has SHA-256 `version`, under this
/// cache format and gate version.
fn cache_entry(cache_dir: &Path, version: &str) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(CACHE_FORMAT.as_bytes());
    hasher.update([0]);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update([0]);
    hasher.update(version.as_bytes());
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
