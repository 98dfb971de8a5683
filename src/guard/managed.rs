//! Managed mode: a gate whose installer pinned an organisation broker decides
//! only under the policy that broker serves, signed with its key. `--policy`,
//! `GATE_POLICY`, `./.gate/policy.toml` and the per-user policy are ignored.
//!
//! The switch is a file the installer writes, never an environment variable
//! (the requester sets its own environment): `/etc/gate/managed.toml`, else
//! `$GATE_HOME/managed.toml` (which only holds where the agent cannot write
//! GATE_HOME). Both are refused when others can write them.
//!
//! The last verified copy is cached, so the allow path makes no network call
//! while the copy is younger than `refresh`; when the broker cannot be reached
//! the copy is used up to `max_age`, then gate fails closed.

use crate::approval::BrokerClient;
use crate::approval::signed_policy::{PolicyPayload, SignedPolicy, VerifiedPolicy};
use crate::error::Error;
use crate::paths::Home;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system-wide switch, written by whoever installs gate.
pub const SYSTEM_MANAGED: &str = "/etc/gate/managed.toml";

/// `managed.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedConfig {
    /// The file this came from.
    pub path: PathBuf,
    /// The broker's base URL.
    pub url: String,
    /// The broker's public key (PEM), pinned.
    pub server_key: PathBuf,
    /// How old a cached copy may be when the broker cannot be reached.
    pub max_age: Duration,
    /// How often to ask the broker for a newer version.
    pub refresh: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagedFile {
    url: String,
    server_key: PathBuf,
    #[serde(default)]
    max_age: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
}

/// The policy a managed gate decides under.
#[derive(Debug, Clone)]
pub struct OrgPolicy {
    pub config: ManagedConfig,
    pub payload: PolicyPayload,
    /// The policy text, whose SHA-256 is `payload.version`.
    pub text: String,
    /// When this copy was fetched from the broker.
    pub fetched_at: SystemTime,
    /// Fetching failed and this older copy is used (within `max_age`).
    pub stale: bool,
}

impl OrgPolicy {
    /// How messages and diagnostics name this policy.
    pub fn label(&self) -> String {
        format!(
            "organisation policy {} from {}",
            &self.payload.version[..12],
            self.config.url
        )
    }
}

/// The cache: the signed payload and when it was fetched, beside the policy
/// text in a file of its own (`org-policy.toml`), so reading it back costs no
/// unescaping of the text.
#[derive(Serialize, Deserialize)]
struct Cached {
    url: String,
    fetched_at: u64,
    payload: String,
    signature: String,
}

/// The managed-mode switch, if this installation has one.
pub fn find(home: &Home) -> Result<Option<ManagedConfig>, Error> {
    let candidates = [
        PathBuf::from(SYSTEM_MANAGED),
        home.config.join("managed.toml"),
    ];
    let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
        return Ok(None);
    };
    let text = crate::files::read_trusted(&path)
        .map_err(|err| Error::file("read the managed-mode file", err))?;
    let bad = |detail: String| {
        Error::OrgPolicy(format!(
            "{}: {detail} (see docs/policy.md, \"Managed mode\")",
            path.display()
        ))
    };
    let file: ManagedFile = toml::from_str(&text).map_err(|e| bad(one_line(&e.to_string())))?;
    let duration = |value: Option<String>, default: &str, key: &str| {
        humantime::parse_duration(value.as_deref().unwrap_or(default))
            .map_err(|e| bad(format!("{key}: {e}")))
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    Ok(Some(ManagedConfig {
        url: file.url,
        server_key: dir.join(file.server_key),
        max_age: duration(file.max_age, "24h", "max_age")?,
        refresh: duration(file.refresh, "5m", "refresh")?,
        path,
    }))
}

/// The organisation policy: the cached copy while it is fresh, else the
/// broker's, verified with the pinned key; an older cached copy within
/// `max_age` when the broker cannot be reached. Never a copy that does not verify.
pub fn fetch(config: &ManagedConfig, home: &Home) -> Result<OrgPolicy, Error> {
    let key = crate::keys::load_public_key(&config.server_key).map_err(|e| {
        Error::OrgPolicy(format!(
            "the pinned broker key {} cannot be used: {e}",
            config.server_key.display()
        ))
    })?;
    let cache = Cache::under(home);
    let now = SystemTime::now();
    let cached = cache.read(&config.url);
    let verified = |(signed, at): (SignedPolicy, SystemTime)| {
        let verified = signed.verify(&key).ok()?;
        Some((verified, at))
    };
    let (cached, stale_copy) = match cached {
        Some(copy) if age(copy.1, now) < config.refresh => (verified(copy), None),
        other => (None, other),
    };
    if let Some((policy, at)) = cached {
        return Ok(org(config, policy, at, false));
    }
    let failure = match fetch_signed(&config.url) {
        Ok(signed) => match signed.clone().verify(&key) {
            Ok(policy) => {
                cache.write(&config.url, &signed, now);
                return Ok(org(config, policy, now, false));
            }
            // A copy that does not verify is refused outright, cache or not.
            Err(why) => {
                return Err(Error::OrgPolicy(format!(
                    "the broker at {} served a policy gate will not use: {why}",
                    config.url
                )));
            }
        },
        Err(detail) => detail,
    };
    match stale_copy.and_then(verified) {
        Some((policy, at)) if age(at, now) <= config.max_age => Ok(org(config, policy, at, true)),
        Some((_, at)) => Err(Error::OrgPolicy(format!(
            "the broker at {} cannot be reached ({failure}) and the cached policy is {} old, \
             older than max_age {} in {}; nothing runs until gate can fetch the policy",
            config.url,
            humantime::format_duration(Duration::from_secs(age(at, now).as_secs())),
            humantime::format_duration(config.max_age),
            config.path.display()
        ))),
        None => Err(Error::OrgPolicy(format!(
            "the broker at {} cannot be reached ({failure}) and there is no cached policy; \
             nothing runs until gate can fetch the policy",
            config.url
        ))),
    }
}

fn org(config: &ManagedConfig, policy: VerifiedPolicy, at: SystemTime, stale: bool) -> OrgPolicy {
    OrgPolicy {
        config: config.clone(),
        payload: policy.payload,
        text: policy.text,
        fetched_at: at,
        stale,
    }
}

fn age(at: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(at).unwrap_or_default()
}

fn fetch_signed(url: &str) -> Result<SignedPolicy, String> {
    let client = BrokerClient::new(url).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(client.policy())
        .map_err(|e| one_line(&e.to_string()))
}

/// The two cache files under `$GATE_HOME/cache`.
struct Cache {
    signed: PathBuf,
    text: PathBuf,
}

impl Cache {
    fn under(home: &Home) -> Cache {
        Cache {
            signed: home.cache.join("org-policy.json"),
            text: home.cache.join("org-policy.toml"),
        }
    }

    /// The cached copy for `url`, unverified, and when it was fetched.
    fn read(&self, url: &str) -> Option<(SignedPolicy, SystemTime)> {
        let bytes = std::fs::read(&self.signed).ok()?;
        let cached: Cached = serde_json::from_slice(&bytes).ok()?;
        if cached.url != url {
            return None;
        }
        let text = std::fs::read_to_string(&self.text).ok()?;
        let signed = SignedPolicy {
            payload: cached.payload,
            signature: cached.signature,
            text,
        };
        Some((signed, UNIX_EPOCH + Duration::from_secs(cached.fetched_at)))
    }

    /// Best effort: a cache that cannot be written means fetching again next
    /// time. The text goes first, so a copy read half-written fails to verify.
    fn write(&self, url: &str, signed: &SignedPolicy, now: SystemTime) {
        let cached = Cached {
            url: url.to_string(),
            fetched_at: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            payload: signed.payload.clone(),
            signature: signed.signature.clone(),
        };
        let Ok(json) = serde_json::to_vec(&cached) else {
            return;
        };
        if let Some(dir) = self.signed.parent() {
            let _ = crate::files::create_private_dir(dir);
        }
        let _ = replace(&self.text, signed.text.as_bytes()) && replace(&self.signed, &json);
    }
}

/// Write `path` through a temporary file and a rename.
fn replace(path: &Path, bytes: &[u8]) -> bool {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).is_ok() && std::fs::rename(&temporary, path).is_ok()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
