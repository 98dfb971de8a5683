//! Who is asking: the OS user, the host, and where detected the CI job or AI agent.
//! Detection reads only the environment map it is given, so it is testable.
//!
//! Owns: [`Requester`] and the detectors (`os` for user and host, `ci` and
//! `agent` for the environment). Must never: fail or panic (every field has a
//! fallback), read files or the network, or copy credentials out of the
//! environment (URLs lose their `user:password@`).
//!
//! The environment is a *claim*, not proof: anything that can set variables can
//! say `GITHUB_ACTIONS=true`. Policy may use these fields as conditions and the
//! audit log records them, but they authenticate no one.

mod agent;
mod ci;
mod os;

use crate::policy::Person;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub user: String,
    pub host: String,
    pub ci: Option<CiJob>,
    pub agent: Option<Agent>,
}

/// A CI job detected from its environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiJob {
    /// Short system name used in policy conditions: github, gitlab, buildkite, jenkins, circleci, ci.
    pub system: String,
    pub actor: Option<String>,
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub url: Option<String>,
}

/// An AI agent detected from its environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Short name used in policy conditions: claude-code, codex, cursor, aider, ...
    pub name: String,
    pub session: Option<String>,
}

impl Requester {
    /// The real requester of this process (user from the uid, hostname, env detection).
    pub fn current() -> Requester {
        let env = process_environment();
        Requester {
            user: os::current_user(&env),
            host: os::hostname(),
            ci: detect_ci(&env),
            agent: detect_agent(&env),
        }
    }
}

impl Requester {
    /// Who a policy's `actor` condition sees: in CI, the CI actor (the person or
    /// bot that started the job) when the CI system names one; otherwise the OS
    /// user.
    pub fn policy_actor(&self) -> String {
        self.ci
            .as_ref()
            .and_then(|ci| ci.actor.clone())
            .unwrap_or_else(|| self.user.clone())
    }

    /// What a policy's `agent` condition sees.
    pub fn agent_name(&self) -> Option<String> {
        self.agent.as_ref().map(|agent| agent.name.clone())
    }

    /// What a policy's `repository` condition sees.
    pub fn ci_repository(&self) -> Option<String> {
        self.ci.as_ref().and_then(|ci| ci.repository.clone())
    }

    /// What a policy's `ref` condition sees.
    pub fn ci_ref(&self) -> Option<String> {
        self.ci.as_ref().and_then(|ci| ci.branch.clone())
    }

    /// What a policy's `ci` condition sees.
    pub fn ci_system(&self) -> Option<String> {
        self.ci.as_ref().map(|ci| ci.system.clone())
    }

    /// Every person in `people` the requester may be: each person with any
    /// identity (`unix`, `github`, `email`, `slack`, `teams`) equal to the
    /// requester's login or CI actor. All of them, not the first: a person who
    /// matches the requester under one identity is the requester, whatever else
    /// they are, and may never approve its requests.
    pub fn people_in(&self, people: &BTreeMap<String, Person>) -> BTreeSet<String> {
        let actor = self.ci.as_ref().and_then(|ci| ci.actor.as_deref());
        let claims: Vec<&str> = std::iter::once(self.user.as_str())
            .chain(actor)
            .filter(|claim| !claim.is_empty())
            .collect();
        people
            .iter()
            .filter(|(_, person)| {
                [
                    &person.unix,
                    &person.github,
                    &person.email,
                    &person.slack,
                    &person.teams,
                ]
                .into_iter()
                .flatten()
                .any(|identity| claims.contains(&identity.as_str()))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// This machine's host name.
pub fn host_name() -> String {
    os::hostname()
}

/// Detect a CI job from an environment map.
///
/// Precedence when several systems' variables are present (a runner nested in
/// another, or leftovers from a wrapper): github, gitlab, buildkite, circleci,
/// jenkins, then the generic `CI=true`.
pub fn detect_ci(env: &BTreeMap<String, String>) -> Option<CiJob> {
    ci::detect(env)
}

/// Detect an AI agent from an environment map.
///
/// Precedence: an explicit `GATE_AGENT`, then the proposed cross-tool `AI_AGENT`,
/// then each agent's own markers in the order claude-code, codex, gemini, cursor.
/// Agents inherit their parent's environment, so when one agent runs another
/// both sets of markers are present and only an explicit name can tell them apart.
pub fn detect_agent(env: &BTreeMap<String, String>) -> Option<Agent> {
    agent::detect(env)
}

/// The process environment, skipping entries that are not valid UTF-8
/// (`std::env::vars` would panic on them).
fn process_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// A variable's value, trimmed; `None` when unset or blank.
fn value<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn owned(env: &BTreeMap<String, String>, name: &str) -> Option<String> {
    value(env, name).map(str::to_owned)
}

/// Set to something other than an explicit "off" (`0`, `false`, `no`, `off`).
fn is_on(env: &BTreeMap<String, String>, name: &str) -> bool {
    value(env, name).is_some_and(|v| {
        !["0", "false", "no", "off"]
            .iter()
            .any(|off| v.eq_ignore_ascii_case(off))
    })
}

/// A URL without its `user:password@` part; CI variables such as Jenkins'
/// `GIT_URL` sometimes carry a token there. Anything else is returned as is.
fn without_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
pub(crate) fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset() {
        let env = env_of(&[("A", "  "), ("B", " x ")]);
        assert_eq!(value(&env, "A"), None);
        assert_eq!(value(&env, "B"), Some("x"));
        assert_eq!(value(&env, "C"), None);
    }

    #[test]
    fn switches_are_on_unless_explicitly_off() {
        let env = env_of(&[
            ("ON", "true"),
            ("ONE", "1"),
            ("OFF", "False"),
            ("ZERO", "0"),
        ]);
        assert!(is_on(&env, "ON") && is_on(&env, "ONE"));
        assert!(!is_on(&env, "OFF") && !is_on(&env, "ZERO") && !is_on(&env, "MISSING"));
    }

    #[test]
    fn credentials_are_dropped_from_urls() {
        assert_eq!(
            without_credentials("https://user:tok@github.com/org/repo.git"),
            "https://github.com/org/repo.git"
        );
        assert_eq!(without_credentials("https://x@h"), "https://h");
        assert_eq!(
            without_credentials("https://h/path@v1"),
            "https://h/path@v1"
        );
        assert_eq!(
            without_credentials("git@github.com:org/repo.git"),
            "git@github.com:org/repo.git"
        );
    }

    #[test]
    fn a_clean_environment_has_no_ci_and_no_agent() {
        let env = env_of(&[
            ("HOME", "/home/me"),
            ("PATH", "/usr/bin"),
            ("TERM", "xterm"),
        ]);
        assert_eq!(detect_ci(&env), None);
        assert_eq!(detect_agent(&env), None);
    }

    #[test]
    fn the_current_requester_has_a_user_and_a_host() {
        let me = Requester::current();
        assert!(!me.user.is_empty());
        assert!(!me.host.is_empty());
    }
}
