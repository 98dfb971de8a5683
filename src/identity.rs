//! Who is asking: the OS user, the host, and where detected the CI job or AI agent.
//! Detection reads only the environment map it is given, so it is testable.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        todo!()
    }
}

/// Detect a CI job from an environment map.
pub fn detect_ci(env: &BTreeMap<String, String>) -> Option<CiJob> {
    todo!("{env:?}")
}

/// Detect an AI agent from an environment map.
pub fn detect_agent(env: &BTreeMap<String, String>) -> Option<Agent> {
    todo!("{env:?}")
}
