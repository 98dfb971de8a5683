//! The broker's config file (`broker.toml`): who the people are, their groups, and
//! the defaults a request gets when it leaves approvers, quorum or timeout open.
//!
//! Read strictly with the policy's spanned reader, so an unknown key or bad value
//! is reported at file:line:col with the line, a caret and a hint, all at once.
//! Never starts a broker on a config it could not read completely.

pub mod dashboard;
pub mod directory;
pub mod oidc;
pub mod policy;
pub mod slack;
pub mod sso;
pub mod store;
pub mod teams;

pub use dashboard::{DashboardRoles, Role};
pub use directory::Directory;
pub use oidc::{CiSystem, ClaimNames, OidcIssuerConfig};
pub use policy::OrgPolicy;
pub use slack::SlackConfig;
pub use sso::SsoConfig;
pub use store::StoreConfig;
pub use teams::TeamsConfig;

use crate::error::Error;
use crate::paths::Home;
use crate::policy::parse::{read_groups, read_people};
use crate::policy::read::{Reader, Value, read_document};
use crate::policy::validate::read_approvers_and_quorum;
use crate::policy::{Diagnostic, Person};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::DeTable;

const ROOT_KEYS: &[&str] = &[
    "version",
    "public_url",
    "store",
    "people",
    "groups",
    "defaults",
    "channels",
    "policy",
    "limits",
    "oidc",
    "sso",
    "require_enrollment",
    "installations",
    "dashboard",
];
const INSTALLATION_KEYS: &[&str] = &["audit_key"];
const LIMITS_KEYS: &[&str] = &["max_pending", "max_pending_per_requester"];
const CHANNEL_KEYS: &[&str] = &["slack", "teams"];
const DEFAULTS_KEYS: &[&str] = &[
    "approvers",
    "quorum",
    "timeout",
    "max_timeout",
    "decision_ttl",
];
const VERSION: u32 = 1;
/// The longest duration a setting may have, so every time the broker computes
/// stays far inside what RFC 3339 can write.
const LONGEST: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// A read, validated broker config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerConfig {
    /// Base of the links to approval pages; `None`: `http://<listen address>`.
    pub public_url: Option<String>,
    /// Everyone the broker knows: the organisation policy's people and
    /// broker.toml's, merged ([`directory::merge`]).
    pub people: BTreeMap<String, Person>,
    /// The policy's groups and broker.toml's.
    pub groups: BTreeMap<String, Vec<String>>,
    /// broker.toml's own `[people]` and `[groups]`, as written: merged again with
    /// each new version of the organisation policy ([`BrokerConfig::with_policy`]).
    pub own: Directory,
    pub defaults: Defaults,
    /// Where requests are announced besides the API: `[channels.NAME]`.
    pub channels: Channels,
    /// How many requests may wait at once.
    pub limits: Limits,
    /// `[policy] file` as written (relative to the config's directory).
    pub policy_file: Option<PathBuf>,
    /// `[[oidc]]`: the issuers whose CI ID tokens the broker verifies.
    pub oidc: Vec<OidcIssuerConfig>,
    /// `[sso]`: signing in to the web pages with an OpenID Connect provider.
    pub sso: Option<SsoConfig>,
    /// The organisation's policy every new request is evaluated under: the file
    /// `[policy]` names once [`load`] read it, else the embedded default.
    pub policy: OrgPolicy,
    /// `[policy] admins` and `admin_quorum`: who approves a new version.
    pub policy_admins: policy::PolicyAdmins,
    /// `require_enrollment`: whether requests must be signed by an enrolled
    /// installation.
    pub require_enrollment: RequireEnrollment,
    /// `[installations.NAME] audit_key`: audit public key files as written
    /// (relative to the config's directory), for installations that forward
    /// their audit log to a broker without enrollment.
    pub installation_key_files: BTreeMap<String, PathBuf>,
    /// Those keys, once [`load`] read them.
    pub installation_keys: BTreeMap<String, ed25519_dalek::VerifyingKey>,
    /// `[dashboard]`: who audits and who administers.
    pub dashboard: DashboardRoles,
    /// `[store]`: a PostgreSQL database shared by replicas; `None`: the SQLite file.
    pub store: Option<StoreConfig>,
}

/// `require_enrollment`: on unless a config turns it off, so a new broker (and
/// one without a config file) refuses requests no enrolled installation signed.
/// Off, unsigned requests are accepted and recorded as unverified; a signed
/// request is verified either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireEnrollment(pub bool);

impl Default for RequireEnrollment {
    fn default() -> Self {
        RequireEnrollment(true)
    }
}

/// The approval channels the broker posts to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Channels {
    /// `[channels.slack]`: Block Kit messages with Approve / Deny buttons.
    pub slack: Option<SlackConfig>,
    /// `[channels.teams]`: a Microsoft Teams Workflows webhook.
    pub teams: Option<TeamsConfig>,
}

/// `[limits]`: how many pending requests the broker holds, so that nobody who
/// can reach it fills its memory, its store or the approvers' channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Pending requests in all.
    pub max_pending: u32,
    /// Pending requests from one requester (its `user@host`).
    pub max_pending_per_requester: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pending: 1000,
            max_pending_per_requester: 20,
        }
    }
}

/// What a request gets when it leaves a setting open.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// Person names or `group:NAME`; empty: every person in the config.
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub timeout: Duration,
    /// The longest timeout a request may ask for; longer asks are cut to this.
    pub max_timeout: Duration,
    /// How long an approval stays usable after the decision.
    pub decision_ttl: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            approvers: Vec::new(),
            quorum: 1,
            timeout: Duration::from_secs(15 * 60),
            max_timeout: Duration::from_secs(24 * 3600),
            decision_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// The config file gate serve uses: `--config`, else `$GATE_HOME/broker.toml` when
/// it exists, else none (an empty config).
pub fn find(explicit: Option<&Path>, home: &Home) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let default = home.config.join("broker.toml");
    default.exists().then_some(default)
}

/// Read and validate the config at `path` (refusing one others could change).
/// The policy file it names is read first: its people and groups are the
/// broker's too, so broker.toml may refer to them.
pub fn load(path: Option<&Path>, color: bool) -> Result<BrokerConfig, Error> {
    let Some(path) = path else {
        return Ok(BrokerConfig::default());
    };
    let source = crate::files::read_trusted(path)
        .map_err(|err| Error::file("read the broker config", err))?;
    let policy = match named_policy_file(&source) {
        Some(file) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            OrgPolicy::load(&file, color)?
        }
        None => OrgPolicy::default(),
    };
    let mut config = parse_with(&source, &path.display().to_string(), policy)
        .map_err(|diagnostics| Error::Config { diagnostics, color })?;
    for (name, file) in &config.installation_key_files {
        let file = path.parent().unwrap_or(Path::new(".")).join(file);
        let key = crate::keys::load_public_key(&file).map_err(|err| Error::Refused {
            message: format!(
                "[installations.{name}] audit_key: {err}; give the file `gate audit pubkey` \
                 printed on that installation"
            ),
            code: crate::error::exit::BAD_POLICY,
        })?;
        config.installation_keys.insert(name.clone(), key);
    }
    if let Some(ca_file) = config
        .store
        .as_mut()
        .and_then(|store| store.ca_file.as_mut())
    {
        *ca_file = path.parent().unwrap_or(Path::new(".")).join(&*ca_file);
    }
    Ok(config)
}

/// `[policy] file` if the text names one; a config too broken to say is read
/// (and its errors reported) without a policy.
fn named_policy_file(source: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(source).ok()?;
    let file = table.get("policy")?.get("file")?.as_str()?;
    Some(file.to_string())
}

/// Parse config text; every problem found, sorted by position, on failure.
pub fn parse(source: &str, path: &str) -> Result<BrokerConfig, Vec<Diagnostic>> {
    parse_with(source, path, OrgPolicy::default())
}

/// Parse config text beside the organisation policy it names, whose people and
/// groups its own are merged with.
pub fn parse_with(
    source: &str,
    path: &str,
    policy: OrgPolicy,
) -> Result<BrokerConfig, Vec<Diagnostic>> {
    let base = Directory {
        people: policy.policy.people.clone(),
        groups: policy.policy.groups.clone(),
    };
    let mut config = read_document(source, path, |reader, root| {
        read_config(reader, root, &base, &policy.label)
    })?;
    config.policy = policy;
    Ok(config)
}

impl BrokerConfig {
    /// This config beside `org`, a new organisation policy: broker.toml's own
    /// people and groups merged with the policy's, and every approver broker.toml
    /// names still known. One line per problem otherwise.
    pub fn with_policy(&self, org: &OrgPolicy) -> Result<BrokerConfig, Vec<String>> {
        let base = Directory {
            people: org.policy.people.clone(),
            groups: org.policy.groups.clone(),
        };
        let merged = directory::merge(&base, &self.own, &org.label)?;
        let mut problems = Vec::new();
        for (role, entries) in [
            ("[defaults] approvers", &self.defaults.approvers),
            ("[policy] admins", &self.policy_admins.admins),
            ("[dashboard] auditors", &self.dashboard.auditors),
            ("[dashboard] admins", &self.dashboard.admins),
        ] {
            for entry in entries {
                let known = match entry.strip_prefix("group:") {
                    Some(group) => merged.groups.contains_key(group),
                    None => merged.people.contains_key(entry),
                };
                if !known {
                    problems.push(format!(
                        "{role} in broker.toml names \"{entry}\", which neither broker.toml nor {} defines",
                        org.label
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut config = self.clone();
        config.people = merged.people;
        config.groups = merged.groups;
        Ok(config)
    }
}

fn read_config(
    reader: &mut Reader<'_>,
    root: &DeTable<'_>,
    base: &Directory,
    label: &str,
) -> BrokerConfig {
    reader.reject_unknown_keys(root, ROOT_KEYS, "the top level of a broker config");
    reader.version(root, VERSION, "broker config", "broker configs");
    let public_url = root
        .get("public_url")
        .and_then(|value| read_public_url(reader, value));
    let mut people = root
        .get("people")
        .map(|value| read_people(reader, value))
        .unwrap_or_default();
    // Names are checked against the policy's people and groups as well.
    let mut known_people = base.people.clone();
    known_people.extend(people.clone());
    let groups = root
        .get("groups")
        .map(|value| read_groups(reader, value, &known_people))
        .unwrap_or_default();
    let mut known_groups = base.groups.clone();
    known_groups.extend(groups.clone());
    let defaults = root
        .get("defaults")
        .map(|value| read_defaults(reader, value, &known_people, &known_groups))
        .unwrap_or_default();
    let channels = root
        .get("channels")
        .map(|value| read_channels(reader, value))
        .unwrap_or_default();
    // A group member or default approver nobody describes is known by login.
    let implicit: Vec<String> = groups
        .values()
        .chain(std::iter::once(&defaults.approvers))
        .flatten()
        .filter(|name| !name.contains(':') && !known_people.contains_key(*name))
        .cloned()
        .collect();
    for name in implicit {
        people.entry(name).or_default();
    }
    let limits = root
        .get("limits")
        .map(|value| read_limits(reader, value))
        .unwrap_or_default();
    let (policy_file, policy_admins) = root
        .get("policy")
        .map(|value| policy::read(reader, value, &known_people, &known_groups))
        .unwrap_or_default();
    let oidc = root
        .get("oidc")
        .map(|value| oidc::read(reader, value))
        .unwrap_or_default();
    let sso = root.get("sso").and_then(|value| sso::read(reader, value));
    let require_enrollment = root
        .get("require_enrollment")
        .and_then(|value| reader.bool(value, "require_enrollment"))
        .map(RequireEnrollment)
        .unwrap_or_default();
    let installation_key_files = root
        .get("installations")
        .map(|value| read_installations(reader, value))
        .unwrap_or_default();
    let dashboard = root
        .get("dashboard")
        .map(|value| dashboard::read(reader, value, &known_people, &known_groups))
        .unwrap_or_default();
    let store = root
        .get("store")
        .and_then(|value| store::read(reader, value));
    let own = Directory { people, groups };
    let merged = directory::merge(base, &own, label).unwrap_or_else(|problems| {
        let at = root
            .get("people")
            .or_else(|| root.get("groups"))
            .map_or(0..0, |value| value.span());
        for problem in problems {
            reader.error(at.clone(), problem, None);
        }
        Directory::default()
    });
    BrokerConfig {
        public_url,
        people: merged.people,
        groups: merged.groups,
        own,
        defaults,
        channels,
        limits,
        policy_file,
        oidc,
        sso,
        policy: OrgPolicy::default(),
        policy_admins,
        require_enrollment,
        installation_key_files,
        installation_keys: BTreeMap::new(),
        dashboard,
        store,
    }
}

/// `[installations.NAME] audit_key = "FILE"`: the audit public key of an
/// installation that forwards its log without being enrolled.
fn read_installations(reader: &mut Reader<'_>, value: &Value<'_>) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let Some(table) = reader.table(value, "installations") else {
        return found;
    };
    for (name, entry) in table {
        let name: &str = name.get_ref();
        if !crate::approval::signature::valid_name(name) {
            let message = format!("\"{name}\" is not an installation name");
            let hint = "use letters, digits, '.', '-' and '_'";
            reader.error(entry.span(), message, Some(hint.to_string()));
            continue;
        }
        let Some(fields) = reader.table(entry, &format!("installations.{name}")) else {
            continue;
        };
        reader.reject_unknown_keys(
            fields,
            INSTALLATION_KEYS,
            &format!("[installations.{name}]"),
        );
        match fields.get("audit_key") {
            Some(file) => {
                if let Some(file) = reader.string(file, "audit_key") {
                    found.insert(name.to_string(), PathBuf::from(file));
                }
            }
            None => {
                let message = format!("[installations.{name}] needs audit_key");
                let hint = "the file with that installation's `gate audit pubkey`";
                reader.error(entry.span(), message, Some(hint.to_string()));
            }
        }
    }
    found
}

/// `[channels]`: one table per channel, each read by its own module.
fn read_channels(reader: &mut Reader<'_>, value: &Value<'_>) -> Channels {
    let mut channels = Channels::default();
    let Some(table) = reader.table(value, "channels") else {
        return channels;
    };
    reader.reject_unknown_keys(table, CHANNEL_KEYS, "[channels]");
    if let Some(slack) = table.get("slack") {
        channels.slack = slack::read(reader, slack);
    }
    if let Some(value) = table.get("teams") {
        channels.teams = teams::read(reader, value);
    }
    channels
}

fn read_public_url(reader: &mut Reader<'_>, value: &Value<'_>) -> Option<String> {
    let url = reader.string(value, "public_url")?;
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        let hint =
            "write the broker's address as people reach it, e.g. \"https://gate.example.com\"";
        let message = format!("public_url \"{url}\" is not an http:// or https:// URL");
        reader.error(value.span(), message, Some(hint.to_string()));
        return None;
    }
    Some(url.trim_end_matches('/').to_string())
}

fn read_limits(reader: &mut Reader<'_>, value: &Value<'_>) -> Limits {
    let mut limits = Limits::default();
    let Some(table) = reader.table(value, "limits") else {
        return limits;
    };
    reader.reject_unknown_keys(table, LIMITS_KEYS, "[limits]");
    let mut count = |key: &str, slot: &mut u32| {
        let if_zero = format!("{key} = 0 would refuse every request; use 1 or more");
        if let Some(found) = table
            .get(key)
            .and_then(|value| reader.count(value, key, &if_zero))
        {
            *slot = found;
        }
    };
    count("max_pending", &mut limits.max_pending);
    count(
        "max_pending_per_requester",
        &mut limits.max_pending_per_requester,
    );
    limits
}

fn read_defaults(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> Defaults {
    let mut defaults = Defaults::default();
    let Some(table) = reader.table(value, "defaults") else {
        return defaults;
    };
    reader.reject_unknown_keys(table, DEFAULTS_KEYS, "[defaults]");
    (defaults.approvers, defaults.quorum) =
        read_approvers_and_quorum(reader, table, "[defaults]", people, groups, defaults.quorum);
    let mut duration = |key: &str, slot: &mut Duration| {
        let Some(value) = table.get(key) else { return };
        match reader.duration(value, key) {
            Some(found) if found > LONGEST => {
                let message = format!("{key} must be at most 10 years");
                let hint = "timestamps past that cannot be written; pick a shorter duration";
                reader.error(value.span(), message, Some(hint.to_string()));
            }
            Some(found) => *slot = found,
            None => {}
        }
    };
    duration("timeout", &mut defaults.timeout);
    duration("max_timeout", &mut defaults.max_timeout);
    duration("decision_ttl", &mut defaults.decision_ttl);
    if defaults.timeout > defaults.max_timeout
        && let Some(at) = table.get("timeout")
    {
        let message = "timeout is longer than max_timeout";
        let hint = "shorten timeout or raise max_timeout";
        reader.error(at.span(), message, Some(hint.to_string()));
    }
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"version = 1
public_url = "http://127.0.0.1:8787/"
[people.alice]
slack = "U0123"
[people.bob]
unix = "robert"
github = "bob-gh"
[groups]
sre = ["alice", "bob", "carol"]
[defaults]
approvers = ["group:sre"]
quorum = 2
timeout = "15m"
max_timeout = "24h"
decision_ttl = "10m"
"#;

    #[test]
    fn a_full_config_reads() {
        let config = parse(FULL, "broker.toml").unwrap();
        assert_eq!(config.public_url.as_deref(), Some("http://127.0.0.1:8787"));
        assert_eq!(config.people["alice"].unix.as_deref(), Some("alice"));
        assert_eq!(config.people["bob"].unix.as_deref(), Some("robert"));
        assert_eq!(config.people["carol"].unix.as_deref(), Some("carol"));
        assert_eq!(config.defaults.quorum, 2);
        assert_eq!(config.defaults.decision_ttl, Duration::from_secs(600));
    }

    #[test]
    fn an_unknown_key_points_at_itself_with_a_suggestion() {
        let source = "version = 1\n[defaults]\naprovers = []\n";
        let errors = parse(source, "b.toml").unwrap_err();
        assert_eq!(errors.len(), 1);
        let text = errors[0].render(false);
        assert!(
            text.starts_with("b.toml:3:1: unknown key \"aprovers\""),
            "{text}"
        );
        assert!(text.contains("did you mean \"approvers\"?"), "{text}");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let source = "version = 2\nlisten = 1\n[defaults]\nquorum = 0\ntimeout = \"soon\"\ndecision_ttl = \"11years\"\n";
        let errors = parse(source, "b.toml").unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 5, 6]);
        assert_eq!(errors[4].message, "decision_ttl must be at most 10 years");
    }

    #[test]
    fn unreachable_quorum_and_bad_url_are_errors() {
        let source = "version = 1\npublic_url = \"ftp://x\"\n[groups]\nsre = [\"a\"]\n[defaults]\napprovers = [\"group:sre\"]\nquorum = 2\n";
        let errors = parse(source, "b.toml").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].message.contains("public_url"));
        assert!(errors[1].message.contains("needs 2 approvals"));
    }

    #[test]
    fn rendered_errors_match_the_policy_style() {
        let source = "version = 1\npublic_url = 5\n[people.alice]\nslak = \"U1\"\n[people.bob]\nslack = \"U1\"\n[defaults]\napprovers = [\"group:ops\"]\ndecision_ttl = \"0s\"\n";
        let errors = parse(source, "broker.toml").unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.render(false)).collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    #[test]
    fn enrollment_is_required_unless_the_config_turns_it_off() {
        assert!(BrokerConfig::default().require_enrollment.0);
        assert!(
            parse("version = 1\n", "b.toml")
                .unwrap()
                .require_enrollment
                .0
        );
        let off = parse("version = 1\nrequire_enrollment = false\n", "b.toml").unwrap();
        assert!(!off.require_enrollment.0);
        let errors = parse("version = 1\nrequire_enrollment = \"no\"\n", "b.toml").unwrap_err();
        assert_eq!(errors[0].line, 2, "{errors:?}");
    }

    #[test]
    fn an_empty_file_needs_a_version() {
        let errors = parse("", "b.toml").unwrap_err();
        assert_eq!(errors[0].message, "missing \"version\"");
    }
}
