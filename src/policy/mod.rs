//! The policy language: parse, validate, normalise and evaluate.
//!
//! Everything here is pure: it takes text and request values and returns data. It
//! never reads files, the environment or the clock, so every decision can be tested
//! without a real user, host or filesystem. Finding the policy file is
//! `crate::paths`; reading it, permission checks and the compiled-policy cache are
//! `crate::guard`.

mod agents;
mod approval;
pub mod broker_urls;
mod cases;
mod diagnostic;
mod evaluate;
mod flags;
mod index;
mod lint;
mod literal;
mod normalise;
pub(crate) mod parse;
mod pattern;
pub(crate) mod read;
mod rules;
mod selftest;
mod tools;
pub(crate) mod validate;

pub use agents::{Agents, ClaudeCode, DEFAULT_HOOK_TIMEOUT, ToolDecision};
pub use diagnostic::Diagnostic;
pub use evaluate::{CommandVerdict, RuleMatch, Verdict};
pub use index::RuleIndex;
pub use normalise::{
    RuntimeWord, SimpleCommand, normalise, normalise_line, normalise_resolved, runs_inline_code,
};
pub use pattern::{Glob, Pattern, PatternError};
pub use tools::{ArgumentMatch, McpSettings, ToolCall, ToolRule, canonical_json};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The embedded default policy used when no policy file exists anywhere.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// What a rule, or the whole evaluation, says about a command.
/// Ordered by strictness so `max` gives "strictest wins".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Approve,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Approve => "approve",
            Action::Deny => "deny",
        }
    }
}

/// What inline interpreter code (`python3 -c`, `node -e`, …) that the screen found
/// no way to start a process in gets: the top-level `inline_code` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InlineCode {
    /// Judged like any command: by the rules that match it, else `default`.
    #[default]
    Rules,
    /// Treated as a command gate cannot analyse: it gets at least `opaque`.
    Opaque,
}

/// A parsed, validated policy. Serializable so a compiled policy can be cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub version: u32,
    /// What an unmatched command gets.
    pub default: Action,
    /// What a command that cannot be analysed statically gets.
    pub opaque: Action,
    /// How inline interpreter code with no visible way to start a process is judged.
    #[serde(default)]
    pub inline_code: InlineCode,
    pub people: BTreeMap<String, Person>,
    /// Group name -> member person names.
    pub groups: BTreeMap<String, Vec<String>>,
    pub approval: ApprovalSettings,
    /// Where approval requests go (`[channels]`).
    pub channels: Channels,
    pub rules: Vec<Rule>,
    /// Extra redaction regexes from `[redact] patterns = [...]` (validated to compile).
    pub redact: Vec<String>,
    pub tests: Vec<TestCase>,
    /// `[agents]`: agent integrations (the Claude Code hook).
    #[serde(default)]
    pub agents: Agents,
    /// `[[options]]`: option grammars the policy adds to the built-in table.
    #[serde(default)]
    pub options: Vec<flags::Declared>,
    /// `[audit] forward`.
    #[serde(default)]
    pub forward: Forward,
    /// `[[tool]]`: rules for MCP tool calls (`gate mcp proxy`).
    #[serde(default)]
    pub tools: Vec<ToolRule>,
    /// `[mcp]`.
    #[serde(default)]
    pub mcp: McpSettings,
    /// Rules by program name, built at parse time so evaluation only tries rules
    /// that can match (a policy of thousands of rules still decides in microseconds).
    pub index: RuleIndex,
}

/// One person with their identities on each channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub unix: Option<String>,
    pub slack: Option<String>,
    pub email: Option<String>,
    pub teams: Option<String>,
    pub github: Option<String>,
    /// The subject (`sub`) of this person's account at the broker's single
    /// sign-on provider (`[sso] claim = "sub"`).
    #[serde(default)]
    pub oidc: Option<String>,
}

/// `[approval]` defaults, and the resolved settings of one approve rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalSettings {
    /// Entries as written: a person name or `group:NAME`. Empty means any approver
    /// the broker knows.
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub timeout: Duration,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            approvers: Vec::new(),
            quorum: 1,
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// `[channels]`: how approval requests reach people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    /// `[channels.api]`: the `gate serve` broker.
    pub api: Option<ApiChannel>,
}

/// `[channels.api]`: the broker's URL and its pinned public key, as written
/// (a relative `server_key` is resolved against the policy file's directory by
/// the caller; this module does no I/O).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiChannel {
    /// The broker's base URL, or several replicas' (a string may list them
    /// separated by commas too); empty when unset.
    pub url: Vec<String>,
    pub server_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    /// Shown to the user when this rule denies or asks.
    pub reason: Option<String>,
    pub patterns: Vec<Pattern>,
    pub conditions: Conditions,
    /// Per-rule overrides of `[approval]`; `None` means use the default.
    pub approvers: Option<Vec<String>>,
    pub quorum: Option<u32>,
    pub timeout: Option<Duration>,
    pub require_reason: bool,
    pub break_glass: bool,
    /// `forward = "strict"`: the decision record must reach the broker before
    /// the command starts.
    #[serde(default)]
    pub forward_strict: bool,
}

/// `[audit] forward`: when this machine's audit records go to the broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Forward {
    /// In the background after each run when this machine is enrolled; not
    /// otherwise.
    #[default]
    Auto,
    /// Never (`gate audit push` still can).
    Off,
    /// In the background after each run, to the broker `GATE_SERVER` names
    /// when this machine is not enrolled.
    Background,
    /// Before every command starts: nothing runs unless the broker took the
    /// decision record.
    Strict,
}

/// Optional conditions; a rule matches only when all present conditions hold.
/// Values are globs (same syntax as pattern tokens).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    pub env: BTreeMap<String, Glob>,
    pub cwd: Option<Glob>,
    pub actor: Option<Glob>,
    pub agent: Option<Glob>,
    pub ci: Option<Glob>,
    /// The CI job's repository (`repository = "acme/*"`).
    pub repository: Option<Glob>,
    /// The CI job's branch or ref (`ref = "main"`).
    pub git_ref: Option<Glob>,
    /// `ci_verified = true`: the CI identity was verified from an OIDC ID token
    /// (by the broker); `false`: it was not.
    pub ci_verified: Option<bool>,
}

/// A `[[test]]` case: a command line (split like a shell line) and the expected decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// The command line; for a tool call case, its display form
    /// `mcp SERVER TOOL ARGUMENTS-JSON`.
    pub command: String,
    /// `tool = { server, name, arguments }`: the case is this MCP tool call,
    /// decided by the `[[tool]]` rules.
    #[serde(default)]
    pub tool: Option<ToolCall>,
    pub expect: Action,
    /// Optional request context for the case.
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub actor: Option<String>,
    pub agent: Option<String>,
    pub ci: Option<String>,
    /// 1-based line of the `[[test]]` header, for reporting.
    pub line: usize,
    /// Byte range of the `command` (or `tool`) literal in the policy source, so a
    /// failing case can be reported as a diagnostic pointing at it.
    pub command_span: std::ops::Range<usize>,
}

/// Everything evaluation may look at. Built by the caller from the real process
/// state (or by tests from literals).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub argv: Vec<String>,
    /// The executable argv[0] resolves to (found by the caller on PATH, symlinks
    /// followed), when known: a shell under another name is still a shell.
    #[serde(default)]
    pub executable: Option<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    /// The requesting OS user (login name).
    pub actor: String,
    /// Detected agent, e.g. "claude-code", if any.
    pub agent: Option<String>,
    /// Detected CI system, e.g. "github", if any.
    pub ci: Option<String>,
    /// The CI job's repository, e.g. "acme/app", if known.
    #[serde(default)]
    pub repository: Option<String>,
    /// The CI job's branch (or ref), e.g. "main", if known.
    #[serde(default)]
    pub git_ref: Option<String>,
    /// Whether the CI identity above was verified from an OIDC ID token:
    /// `Some` only at the broker, which verifies tokens. `None` (the requester,
    /// which cannot verify one) leaves `ci_verified` rules to the broker: such a
    /// rule never allows, and one that would deny asks for approval instead.
    #[serde(default)]
    pub ci_verified: Option<bool>,
}

/// The resolved approval requirement of an `approve` verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequirement {
    /// Rule names that asked for approval.
    pub rules: Vec<String>,
    /// Approver person names, groups expanded.
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub timeout: Duration,
    pub require_reason: bool,
    pub break_glass: bool,
}

impl Policy {
    /// Parse and validate policy text. `path` is only used to label diagnostics.
    /// On failure every problem found is returned, not just the first.
    pub fn parse(source: &str, path: &str) -> Result<Policy, Vec<Diagnostic>> {
        parse::parse(source, path)
    }

    /// Decide a request. Pure: same policy + request, same verdict.
    pub fn evaluate(&self, request: &Request) -> Verdict {
        match self.inline_code {
            InlineCode::Rules => evaluate::evaluate(self, request),
            InlineCode::Opaque => self.evaluate_commands(normalise(&request.argv), request),
        }
    }

    /// Run the policy's own `[[test]]` cases.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        selftest::run_tests(self)
    }

    /// Run the `[[test]]` cases and turn each failure into a diagnostic pointing at
    /// the case's `command` in `source` (the text this policy was parsed from).
    pub fn test_failures_as_diagnostics(&self, source: &str, path: &str) -> Vec<Diagnostic> {
        selftest::failures_as_diagnostics(self, source, path)
    }

    /// Decide already-normalised simple commands in the given request context
    /// (the request's `argv` is ignored). Used by `[[test]]` cases and by callers
    /// that normalised a shell line themselves.
    pub fn evaluate_commands(&self, commands: Vec<SimpleCommand>, request: &Request) -> Verdict {
        evaluate::evaluate_commands(self, self.judge_inline_code(commands), request)
    }

    /// Apply `inline_code`: under `"opaque"`, inline interpreter code that
    /// normalisation left analysable becomes opaque.
    pub fn judge_inline_code(&self, mut commands: Vec<SimpleCommand>) -> Vec<SimpleCommand> {
        if self.inline_code == InlineCode::Opaque {
            for command in &mut commands {
                if command.opaque.is_none() && runs_inline_code(&command.argv) {
                    command.opaque = Some(
                        "inline interpreter code is not analysed (the policy sets inline_code = \"opaque\")"
                            .into(),
                    );
                }
            }
        }
        commands
    }

    /// Indices, ascending, of every rule that could match one of `commands`
    /// (as [`normalise`] finds them): the only rules a decision about them can use.
    pub fn candidate_rules(&self, commands: &[SimpleCommand]) -> Vec<usize> {
        let mut wanted: Vec<usize> = commands
            .iter()
            .flat_map(|command| command.argv.first().into_iter().chain(&command.executable))
            .flat_map(|program| self.index.candidates(program))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }

    /// This policy with only `rules`, a subset of its rules in their original order,
    /// re-indexed. For a request whose commands can match only those rules (see
    /// [`Policy::candidate_rules`]) it decides exactly as the whole policy does.
    pub fn with_rules(mut self, rules: Vec<Rule>) -> Policy {
        self.index = RuleIndex::build(&rules);
        self.rules = rules;
        self
    }
}

/// The result of one `[[test]]` case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub case: TestCase,
    pub actual: Action,
    /// The verdict's one-line reason, to explain a failure.
    pub reason: String,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.actual == self.case.expect
    }
}

#[cfg(test)]
mod tests;
